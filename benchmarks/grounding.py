"""Grounding speed and memory, against the reference engine's dataset build in the same run.

Cases (data from ``../shared/datasets``; skipped when absent):

(a) ``mutagenesis``  188 molecules with the c11 conformance template (embeddings, two message-passing layers);
(b) ``nci_786_0``    3504 molecules with the paper's molecule GNN over the data's own atom and bond types;
(c) ``kinships``     one knowledge base, 20929 queries, the paper's knowledge-base embedding template;
(d) ``closure``      transitive closure on a random graph (20k nodes, 22k edges): derived facts per second.

For (a)-(c) we time parsing the template, parsing the data (examples and queries), grounding (database,
evaluation, ground rules, relevance) and neuralization (``neural.network.neuralize``: the ground program to
neuron arrays, with the reference profile's functions; no chain pruning, lifting or compiling) separately,
best of ``--repeats``, and the peak Python heap of grounding (tracemalloc, in a separate run so tracing does
not slow the timed ones). Where ``neuralogic`` is installed, the reference is timed on the same files (fresh
JVM, iso compression and chain pruning off): its template build, and its ``build_dataset`` (parse the
data, ground and neuralize, with the template built already). Like for like, the ratios reference/ours
are: the dataset build (its ``build_dataset`` against our data parsing + grounding + neuralization) and
everything (template build included on both sides); our grounding and neuralization times are also printed
apart.

Run: ``python benchmarks/grounding.py [--cases a,b,c,d] [--repeats 3] [--no-reference]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import paper_templates  # noqa: E402
import reference_engine  # noqa: E402

from neuralogic_py.language import ir  # noqa: E402
from neuralogic_py.language.data import load_examples, load_queries  # noqa: E402
from neuralogic_py.language.parser import load_template, parse_template  # noqa: E402
from neuralogic_py.logic.database import build_database  # noqa: E402
from neuralogic_py.logic.evaluate import evaluate  # noqa: E402
from neuralogic_py.logic.samples import ground_samples  # noqa: E402
from neuralogic_py.neural.network import neuralize  # noqa: E402
from neuralogic_py.neural.parameters import ParameterStore, template_weights  # noqa: E402
from neuralogic_py.neural.settings import REFERENCE  # noqa: E402

SHARED = (HERE.parent / ".." / "shared").resolve()
DATASETS = SHARED / "datasets"


def case_files(case: str, workdir: Path) -> tuple[Path, Path, Path] | None:
    """(template, examples, queries) of a case, or None when the shared data is absent."""
    if case == "a":
        folder = DATASETS / "mutagenesis"
        template = SHARED / "conformance" / "c11_mutagenesis_gnn" / "template.txt"
        if not template.exists():
            return None
    elif case == "b":
        folder = DATASETS / "nci_gi50" / "786_0"
        if not folder.exists():
            return None
        atoms, bonds = paper_templates.molecule_types(folder / "examples.txt")
        template = workdir / "nci_gnn.txt"
        template.write_text(paper_templates.molecule_gnn(atoms, bonds))
    elif case == "c":
        folder = DATASETS / "kbs" / "kinships"
        if not folder.exists():
            return None
        people, relations = paper_templates.kb_vocabulary(folder / "examples.txt", "person", "rel")
        template = workdir / "kinships_kbe.txt"
        template.write_text(paper_templates.kb_embedding(people, relations, "r(R,X,Y)"))
    else:
        raise ValueError(case)
    examples, queries = folder / "examples.txt", folder / "queries.txt"
    return (template, examples, queries) if examples.exists() else None


NAMES = {"a": "mutagenesis (c11 template)", "b": "NCI 786_0 (molecule GNN)", "c": "kinships (KB embedding)"}


def measure_case(case: str, files: tuple[Path, Path, Path], repeats: int) -> dict:
    template_times, data_times, ground_times, neural_times, stages = [], [], [], [], None
    grounding = None
    for _ in range(repeats):
        start = time.perf_counter()
        template = load_template(files[0])
        template_parsed = time.perf_counter()
        examples, query_lines = load_examples(files[1]), load_queries(files[2])
        parsed = time.perf_counter()
        grounding = ground_samples(template, examples, query_lines)
        done = time.perf_counter()
        store = ParameterStore(template_weights(template).parameters.values(), None, 0)
        neural_start = time.perf_counter()
        neuralize(template, grounding, store, REFERENCE)
        neural_times.append(time.perf_counter() - neural_start)
        template_times.append(template_parsed - start)
        data_times.append(parsed - template_parsed)
        ground_times.append(done - parsed)
        if stages is None or done - parsed <= min(ground_times):
            stages = grounding.seconds
    tracemalloc.start()
    ground_samples(template, examples, query_lines)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = grounding.program.counts()
    return {"template": min(template_times), "data": min(data_times), "ground": min(ground_times),
            "neuralize": min(neural_times),
            "stages": stages, "peak": peak,
            "samples": len(grounding.samples), "ground_rules": counts["ground_rules"], "atoms": counts["atoms"],
            "iterations": grounding.stats.iterations}


def reference_case(files: tuple[Path, Path, Path], repeats: int, timeout: float) -> dict | None:
    try:
        return reference_engine.build_dataset(*files, iso_value_compression=False, chain_pruning=False,
                                              repeats=repeats, timeout=timeout)
    except reference_engine.ReferenceEngineError as error:
        print(f"    reference engine failed: {error}")
        return None


def closure(nodes: int, edges: int, repeats: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pairs = zip(rng.integers(0, nodes, edges).tolist(), rng.integers(0, nodes, edges).tolist())
    facts = tuple(ir.Fact(ir.Atom("edge", (ir.Constant(a), ir.Constant(b)))) for a, b in pairs)
    template = parse_template("path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).\n")
    db = build_database(template, [ir.Example(facts)])
    best, model = None, None
    for _ in range(repeats):
        start = time.perf_counter()
        model = evaluate(db, record=False)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    derived = len(model.stores[db.predicates.find("path", 2)])
    tracemalloc.start()
    evaluate(db, record=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    recorded = evaluate(db, record=True)
    with_rules = time.perf_counter() - start
    substitutions = sum(len(part[0]) for parts in recorded.records.values() for part in parts)
    print(f"(d) transitive closure, random graph {nodes} nodes / {edges} edges")
    print(f"    {derived:,} path facts in {model.stats.iterations} iterations: {best:.2f} s "
          f"-> {derived / best / 1e6:.2f} M derived facts/s (goal > 1 M/s); peak heap {peak / 2**20:.0f} MB")
    print(f"    recording every ground rule too ({substitutions:,} substitutions): {with_rules:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="a,b,c,d")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--reference-timeout", type=float, default=1800)
    parser.add_argument("--nodes", type=int, default=20000)
    parser.add_argument("--edges", type=int, default=22000)
    args = parser.parse_args()
    cases = args.cases.split(",")
    use_reference = not args.no_reference and reference_engine.available()
    if not args.no_reference and not use_reference:
        print(f"reference engine unavailable: {reference_engine.unavailable_reason()}")
    elif use_reference:
        print(f"reference engine: {reference_engine.version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in [c for c in cases if c in NAMES]:
            files = case_files(case, Path(tmp))
            if files is None:
                print(f"({case}) {NAMES[case]}: shared data not found, skipped")
                continue
            ours = measure_case(case, files, args.repeats)
            stages = ", ".join(f"{k} {v:.3f}" for k, v in ours["stages"].items())
            dataset = ours["data"] + ours["ground"] + ours["neuralize"]
            total = ours["template"] + dataset
            print(f"({case}) {NAMES[case]}: {ours['samples']:,} samples, {ours['ground_rules']:,} ground rules, "
                  f"{ours['atoms']:,} atoms, {ours['iterations']} iterations")
            print(f"    ours: template {ours['template']:.3f} s; data parse {ours['data']:.3f} s + ground "
                  f"{ours['ground']:.3f} s [{stages}] + neuralize {ours['neuralize']:.3f} s = dataset build "
                  f"{dataset:.3f} s; grounding peak heap {ours['peak'] / 2**20:.0f} MB")
            if use_reference:
                ref = reference_case(files, max(1, min(args.repeats, 2)), args.reference_timeout)
                if ref is not None:
                    first, warm = ref["dataset_build_s"], min(ref["dataset_build_runs_s"])
                    template_warm = min(ref["template_build_runs_s"])
                    print(f"    reference: template build {template_warm:.3f} s warm; build_dataset {first:.2f} s "
                          f"first, {warm:.2f} s warm ({ref['samples']:,} samples, {ref['neurons']:,} neurons)")
                    print(f"    ratio reference/ours, dataset build (parse data, ground, neuralize on both sides): "
                          f"{warm / dataset:.1f}x warm, {first / dataset:.1f}x first; with the template: "
                          f"{(template_warm + warm) / total:.1f}x warm")
        if "d" in cases:
            closure(args.nodes, args.edges, args.repeats)


if __name__ == "__main__":
    main()
