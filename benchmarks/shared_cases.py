"""The shared benchmark cases as NeuraLogic ``-sd`` folders, written into a scratch directory.

Each case is a folder holding ``template.txt``, ``examples.txt`` and ``queries.txt``, so the same folder
runs ``nlp train DIR`` and the reference's ``java -jar NeuraLogic.jar -sd DIR``. Data come from
``../shared/datasets`` (read-only; a case whose data is absent is left out). The folders are written under
the directory the caller gives (a temporary one), never into the repository.

``mutagenesis``  188 molecules, the c11 conformance template (``../shared/conformance/c11_mutagenesis_gnn``);
``nci``          NCI GI-50 786_0, 3504 molecules (or a seeded subset), the lifting paper's molecule GNN written
                 with no metadata, so the functions are the profile's defaults (the reference's: tanh, avg)::

                     {3,1} atom_embed(A) :- T(A).        % one rule per atom type T of the data
                     {3,1} bond_embed(B) :- T(B).        % one rule per bond type T
                     atom_embed/1 {3,1}
                     bond_embed/1 {3,1}
                     l1_embed(X) :- {3,3} atom_embed(Y), {3} bond(X,Y,B), {3,3} bond_embed(B).
                     {1,3} predict :- {3,3} l1_embed(Y), {3} bond(X,Y,B), {3,3} bond_embed(B).
                     predict/0 {1}

``nations``      the knowledge base of 5,347 queries with the reference's own nations template (from the
                 ``neuralogic`` wheel: ``template.txt`` and the ``embeddings.txt`` it imports);
``kinships``     the knowledge base of 20,929 queries with the paper's KB-embedding template
                 (``paper_templates.kb_embedding``, triple ``r(R,X,Y)``);
``mutag``        TU MUTAG, 188 graphs, through ``training.write_mutag`` with ``templates/gcn.rules``
                 (``training.gcn_template``: one embedding rule per node type).
"""

from __future__ import annotations

import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import paper_templates  # noqa: E402

SHARED = (ROOT / ".." / "shared").resolve()
DATASETS = SHARED / "datasets"
CASES = ("mutagenesis", "nci", "nations", "kinships", "mutag")
KB_CASES = ("nations", "kinships")


@dataclass
class SharedCase:
    name: str
    folder: Path  # template.txt, examples.txt, queries.txt
    samples: int
    kb: bool  # one example, many queries
    note: str = ""

    @property
    def template(self) -> Path:
        return self.folder / "template.txt"


def nci_template(atom_types: list[str], bond_types: list[str]) -> str:
    """The paper's molecule GNN exactly as the module docstring writes it (no metadata)."""
    lines = [f"{{3,1}} atom_embed(A) :- {t}(A)." for t in atom_types]
    lines += [f"{{3,1}} bond_embed(B) :- {t}(B)." for t in bond_types]
    lines += ["atom_embed/1 {3,1}", "bond_embed/1 {3,1}",
              "l1_embed(X) :- {3,3} atom_embed(Y), {3} bond(X,Y,B), {3,3} bond_embed(B).",
              "{1,3} predict :- {3,3} l1_embed(Y), {3} bond(X,Y,B), {3,3} bond_embed(B).",
              "predict/0 {1}"]
    return "\n".join(lines) + "\n"


def reference_nations_dir() -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("neuralogic")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "utils" / "data" / "datasets" / "nations"
    return folder if (folder / "template.txt").is_file() else None


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_case(name: str, workdir: Path, nci_subset: int | None = None, seed: int = 0) -> SharedCase | None:
    """Write case ``name``'s ``-sd`` folder under ``workdir``; None when its data is absent."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    if name == "mutagenesis":
        template = SHARED / "conformance" / "c11_mutagenesis_gnn" / "template.txt"
        data = DATASETS / "mutagenesis"
        if not (template.is_file() and data.is_dir()):
            return None
        shutil.copy(template, folder / "template.txt")
        shutil.copy(data / "examples.txt", folder / "examples.txt")
        shutil.copy(data / "queries.txt", folder / "queries.txt")
        return SharedCase(name, folder, len(_lines(data / "queries.txt")), False, "c11 template")
    if name == "nci":
        data = DATASETS / "nci_gi50" / "786_0"
        if not data.is_dir():
            return None
        examples, queries = _lines(data / "examples.txt"), _lines(data / "queries.txt")
        note = f"{len(examples)} molecules"
        if nci_subset and nci_subset < len(examples):
            pick = sorted(random.Random(seed).sample(range(len(examples)), nci_subset))
            examples, queries = [examples[i] for i in pick], [queries[i] for i in pick]
            note = f"seeded subset of {nci_subset} of 3504 molecules (seed {seed})"
        (folder / "examples.txt").write_text("\n".join(examples) + "\n")
        (folder / "queries.txt").write_text("\n".join(queries) + "\n")
        atoms, bonds = paper_templates.molecule_types(folder / "examples.txt")
        (folder / "template.txt").write_text(nci_template(atoms, bonds))
        return SharedCase(name, folder, len(examples), False, note + ", paper GNN")
    if name == "nations":
        data, ref = DATASETS / "kbs" / "nations", reference_nations_dir()
        if ref is None or not data.is_dir():
            return None
        for part in ("template.txt", "embeddings.txt"):
            shutil.copy(ref / part, folder / part)
        shutil.copy(data / "examples.txt", folder / "examples.txt")
        shutil.copy(data / "queries.txt", folder / "queries.txt")
        return SharedCase(name, folder, len(_lines(data / "queries.txt")), True, "reference template")
    if name == "kinships":
        data = DATASETS / "kbs" / "kinships"
        if not data.is_dir():
            return None
        entities, relations = paper_templates.kb_vocabulary(data / "examples.txt", "person", "rel")
        (folder / "template.txt").write_text(paper_templates.kb_embedding(entities, relations, "r(R,X,Y)"))
        shutil.copy(data / "examples.txt", folder / "examples.txt")
        shutil.copy(data / "queries.txt", folder / "queries.txt")
        return SharedCase(name, folder, len(_lines(data / "queries.txt")), True, "paper KB template")
    if name == "mutag":
        if not (DATASETS / "tu" / "MUTAG").is_dir():
            return None
        import training

        examples, queries = training.write_mutag(folder)
        examples.rename(folder / "examples.txt")
        queries.rename(folder / "queries.txt")
        (folder / "template.txt").write_text(training.gcn_template(training.MUTAG_TYPES))
        return SharedCase(name, folder, 188, False, "GCN template")
    raise ValueError(f"unknown case {name!r}; choose from {', '.join(CASES)}")


def make_cases(names: list[str], workdir: Path, nci_subset: int | None = None) -> list[SharedCase]:
    cases = [make_case(name, workdir, nci_subset) for name in names]
    return [case for case in cases if case is not None]
