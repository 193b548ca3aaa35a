"""The bundled templates and datasets: where they are, what they hold, loading them by name.

The repository's ``templates/`` and ``datasets/`` folders ship with the package (as
``neuralogic_py/data/templates`` and ``neuralogic_py/data/datasets``, in the same
layout, so a dataset's ``template.txt`` imports ``../../templates/...`` either way). From
a checkout they are read where they are. ::

    from neuralogic_py import Model, datasets

    datasets.names()                          # ['carbonyl', 'family', 'molecules', 'xor', 'xor_vector']
    train = datasets.load("carbonyl")         # a Dataset: the training split
    test = datasets.load("carbonyl", "test")
    model = Model(datasets.template("carbonyl"))
    model.fit(train, epochs=30)

A dataset is a folder laid out as a sources directory (docs/cli.md). Its template is
its own ``template.txt`` or, when it has none, the bundled template of the same name
(``datasets/xor`` goes with ``templates/xor.rules``). On the command line a bundled name
(``carbonyl``, ``gnn``) or a repository path (``datasets/carbonyl``) that does not exist
where the command runs stands for the bundled item (:func:`find`), and ``nlp datasets``
lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SourceError
from .language.sources import RETRY_SUFFIXES, SPLIT_NAMES, TEMPLATE_NAMES

if TYPE_CHECKING:  # the learning package pulls in numpy: imported by load() when it runs
    from .learn.dataset import Dataset

TEMPLATES = "templates"
DATASETS = "datasets"
TEMPLATE_SUFFIX = ".rules"

__all__ = ["Bundled", "find", "has_template", "load", "names", "nearest", "path", "root", "splits", "template", "template_names", "template_path"]


def root() -> Path:
    """The folder holding ``templates/`` and ``datasets/``: the package's data, else the checkout's root."""
    package = Path(__file__).resolve().parent
    installed = package / "data"
    return installed if (installed / DATASETS).is_dir() else package.parent


def names() -> list[str]:
    """The bundled datasets, by name (sorted)."""
    folder = root() / DATASETS
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))


def template_names() -> list[str]:
    """The bundled templates, by name without ``.rules`` (sorted)."""
    return sorted(f.stem for f in (root() / TEMPLATES).glob(f"*{TEMPLATE_SUFFIX}"))


def path(name: str) -> Path:
    """The folder of the bundled dataset ``name``; SourceError listing the names when there is none."""
    folder = root() / DATASETS / name
    if not name or "/" in name or not folder.is_dir():
        raise SourceError(f"no bundled dataset named {name!r}", hint=f"the bundled datasets: {', '.join(names())}")
    return folder


def template_path(name: str) -> Path:
    """The bundled template ``name`` (``gnn`` or ``gnn.rules``)."""
    stem = name[:-len(TEMPLATE_SUFFIX)] if name.endswith(TEMPLATE_SUFFIX) else name
    file = root() / TEMPLATES / f"{stem}{TEMPLATE_SUFFIX}"
    if not stem or "/" in stem or not file.is_file():
        raise SourceError(f"no bundled template named {name!r}",
                          hint=f"the bundled templates: {', '.join(template_names())}")
    return file


def has_template(name: str) -> bool:
    """Whether dataset ``name`` has a template of its own (``template.txt``)."""
    return _first(path(name), TEMPLATE_NAMES) is not None


def template(name: str) -> Path:
    """The template of dataset ``name``: its own ``template.txt``, else the bundled template of that name."""
    own = _first(path(name), TEMPLATE_NAMES)
    if own is not None:
        return own
    try:
        return template_path(name)
    except SourceError:
        raise SourceError(f"the bundled dataset {name!r} has no template.txt and there is no bundled template "
                          f"of that name", hint="name the template file yourself") from None


def load(name: str, split: str = "train") -> Dataset:
    """The ``split`` (``train``, ``val`` or ``test``) of dataset ``name`` as a :class:`~.learn.dataset.Dataset`."""
    from .learn.dataset import Dataset
    from .language.sources import Split

    if split not in SPLIT_NAMES:
        raise SourceError(f"unknown split {split!r}", hint=f"choose one of {', '.join(SPLIT_NAMES)}")
    folder = path(name)
    example_names, query_names = SPLIT_NAMES[split]
    found = Split(_first(folder, example_names), _first(folder, query_names))
    if not found:
        raise SourceError(f"the bundled dataset {name!r} has no {split} split",
                          hint=f"its splits: {', '.join(splits(name))}")
    return Dataset.from_split(found)


def splits(name: str) -> list[str]:
    """The splits (``train``, ``val``, ``test``) dataset ``name`` has files for."""
    folder = path(name)
    return [role for role, (examples, queries) in SPLIT_NAMES.items()
            if _first(folder, examples) or _first(folder, queries)]


def _first(folder: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in candidates if (folder / n).is_file()), None)


# --------------------------------------------------------------------------- names on the command line


@dataclass(frozen=True)
class Bundled:
    """What :func:`find` found: its kind (``dataset`` or ``template``), its name and its path."""

    kind: str
    name: str
    path: Path

    def __str__(self) -> str:
        return f"the bundled {self.kind} {self.name}"  # "the bundled dataset carbonyl"


def find(given: str | Path, role: str = "data") -> Bundled | None:
    """The bundled item that ``given``, a path that does not exist, stands for; None if none.

    ``given`` is a repository path (``datasets/carbonyl``, ``templates/gnn.rules``) or a
    bare name (``carbonyl``, ``gnn``), with the suffixes a path may omit (``.txt``,
    ``.rules``). ``role`` (``template`` or ``data``) decides for a bare name that is
    both a template and a dataset (``xor``).
    """
    given = Path(given)
    if given.is_absolute() or _exists(given) or ".." in given.parts or not given.parts:
        return None
    if len(given.parts) == 1:
        kinds = (TEMPLATES, DATASETS) if role == "template" else (DATASETS, TEMPLATES)
        candidates = [Path(kind, given.name) for kind in kinds]
    elif given.parts[0] in (TEMPLATES, DATASETS):
        candidates = [given]
    else:
        return None
    for candidate in candidates:
        found = _with_suffixes(root() / candidate)
        if found is None:
            continue
        if candidate.parts[0] == DATASETS and found.is_dir() and len(candidate.parts) == 2:
            return Bundled("dataset", found.name, found)
        if candidate.parts[0] == TEMPLATES and found.is_file():
            name = Path(*found.relative_to(root() / TEMPLATES).parts)
            return Bundled("template", name.with_suffix("").as_posix()
                           if name.suffix == TEMPLATE_SUFFIX else name.as_posix(), found)
        return Bundled("file", candidate.as_posix(), found)
    return None


def nearest(given: str | Path) -> str | None:
    """``dataset carbonyl`` for ``carbonil`` or ``datasets/carbonil``: the bundled name closest to a mistyped one."""
    import difflib

    parts = Path(given).parts
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[0] not in (TEMPLATES, DATASETS)):
        return None
    stem = parts[-1][:-len(TEMPLATE_SUFFIX)] if parts[-1].endswith(TEMPLATE_SUFFIX) else parts[-1]
    kinds = {"dataset": names(), "template": template_names()}
    if len(parts) == 2:
        kinds = {"dataset" if parts[0] == DATASETS else "template": kinds["dataset" if parts[0] == DATASETS
                                                                          else "template"]}
    labels = {name: f"{kind} {name}" for kind, found in reversed(kinds.items()) for name in found}
    close = difflib.get_close_matches(stem, list(labels), n=1, cutoff=0.6)
    return labels[close[0]] if close else None


def _exists(p: Path) -> bool:
    return p.exists() or any(p.with_name(p.name + s).exists() for s in RETRY_SUFFIXES if p.name)


def _with_suffixes(p: Path) -> Path | None:
    return next((c for c in (p, *(p.with_name(p.name + s) for s in RETRY_SUFFIXES)) if c.exists()), None)
