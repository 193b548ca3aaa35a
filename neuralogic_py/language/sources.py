"""What the user points at -> which files hold the template, examples and queries.

NeuraLogic reads a *sources directory* (``-sd DIR``) with fixed file names, or
files named one by one. :func:`load_sources` accepts both, the way ``nlp`` does:

``load_sources("gnn.rules", "datasets/mutagenesis")``
    the template file, plus the data files found in the directory;
``load_sources(None, "datasets/molecules")``
    template and data both from the directory;
``load_sources("xor.rules", "xor/examples.txt", "xor/queries.txt")``
    three files, named one by one.

Names looked for inside a directory (first found wins):

==================  ==========================================================
template            ``template.txt``, ``templates/template.txt``
train examples      ``trainExamples.txt``, ``examples.txt``
train queries       ``trainQueries.txt``, ``queries.txt``
validation          ``valExamples.txt``, ``valQueries.txt``
test                ``testExamples.txt``, ``testQueries.txt``
folds               subdirectories ``fold_*``, each laid out the same way
==================  ==========================================================

A fold without a template of its own uses its parent's. A path that does not
exist and has neither extension is tried again with ``.txt`` appended (as the
reference does) and then with ``.rules`` (our templates' extension). Nothing here reads a file's content but
:func:`load_split`, with the data loaders of :mod:`.data` (it also tells a template
given where data belongs from broken data), and :func:`beside_queries`, which takes the
queries of an examples file named alone whose examples carry no labels from beside it
(:func:`companion_queries`: ``trainExamples.txt`` -> ``trainQueries.txt``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .. import progress
from ..errors import NeuralogicError, SourceError, display_path
from . import ir
from .data import load_examples, load_queries, parse_examples
from .pairing import counted
from .preprocess import bundled_hint

TEMPLATE_NAMES = ("template.txt", "templates/template.txt")
FOLD_PREFIX = "fold_"

# role -> names tried in order (reference `Settings` defaults, then fallbacks)
SPLIT_NAMES = {
    "train": (("trainExamples.txt", "examples.txt"), ("trainQueries.txt", "queries.txt")),
    "val": (("valExamples.txt",), ("valQueries.txt",)),
    "test": (("testExamples.txt",), ("testQueries.txt",)),
}

# In an examples file's name, the part replaced to name its queries file (companion_queries).
EXAMPLES_WORD = "examples"
QUERIES_WORD = "queries"

# Extensions tried when a named path does not exist as written.
RETRY_SUFFIXES = (".txt", ".rules")

PathLike = str | Path


@dataclass(frozen=True)
class Split:
    """The example and query files of one role (train, val or test); either may be absent."""

    examples: Path | None = None
    queries: Path | None = None

    def __bool__(self) -> bool:
        return self.examples is not None or self.queries is not None

    def files(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.examples, self.queries) if p is not None)


@dataclass(frozen=True)
class Sources:
    """Resolved input files of one run (or of one fold).

    ``template`` lists the template files in the order they are concatenated (usually
    one). ``directory`` is the sources directory when data came as one; ``name`` is
    ``"."`` at the top and the folder name for a fold.
    """

    template: tuple[Path, ...]
    train: Split = Split()
    val: Split = Split()
    test: Split = Split()
    folds: tuple["Sources", ...] = ()
    directory: Path | None = None
    name: str = "."

    def splits(self) -> Iterator[tuple[str, Split]]:
        """The non-empty splits in train, val, test order."""
        for role in SPLIT_NAMES:
            split = getattr(self, role)
            if split:
                yield role, split

    @property
    def has_data(self) -> bool:
        return any(True for _ in self.splits()) or bool(self.folds)


@dataclass(frozen=True)
class SplitData:
    """The parsed content of a :class:`Split`."""

    examples: tuple[ir.Example, ...]
    query_lines: tuple[ir.QueryLine, ...]
    split: Split


# --------------------------------------------------------------------------- resolving


def existing_path(path: PathLike, what: str) -> Path:
    """``path`` as given, or with ``.txt`` / ``.rules`` appended; SourceError when none exists."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    retried = _retried(p)
    for candidate in retried:
        if candidate.exists():
            return candidate
    tried = f" (also tried {', '.join(display_path(c) for c in retried)})" if retried else ""
    raise SourceError(f"{what} not found: {display_path(p)}{tried}", hint=bundled_hint(path))


def _retried(p: Path) -> list[Path]:
    """The other names a missing ``p`` is looked for under: with an extension appended, when it has none."""
    if not p.name or p.suffix in RETRY_SUFFIXES:
        return []
    return [p.with_name(p.name + suffix) for suffix in RETRY_SUFFIXES]


def _existing_file(path: PathLike, what: str) -> Path:
    p = existing_path(path, what)
    if p.is_dir():
        raise SourceError(f"{what} must be a file, but {display_path(p)} is a directory")
    return p


def _first_file(directory: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _directory_split(directory: Path, role: str) -> Split:
    example_names, query_names = SPLIT_NAMES[role]
    return Split(_first_file(directory, example_names), _first_file(directory, query_names))


def _looked_for() -> str:
    names = [n for examples, queries in SPLIT_NAMES.values() for n in (*examples, *queries)]
    return ", ".join(names) + f" and {FOLD_PREFIX}* folders"


def _resolve_templates(template: PathLike | Sequence[PathLike]) -> tuple[Path, ...]:
    items = [template] if isinstance(template, (str, Path)) else list(template)
    if not items:
        raise SourceError("no template file given")
    out = []
    for item in items:
        p = existing_path(item, "template")
        if p.is_dir():
            found = _first_file(p, TEMPLATE_NAMES)
            if found is None:
                raise SourceError(f"no template in directory {display_path(p)}: looked for "
                                  f"{', '.join(TEMPLATE_NAMES)}")
            p = found
        out.append(p)
    return tuple(out)


def _directory_sources(directory: Path, template: tuple[Path, ...] | None, name: str,
                       fold_prefix: str | None, override: bool = False) -> Sources:
    """The sources found in ``directory``.

    ``template`` is used when the directory has no template of its own, or always
    when ``override`` is set (a template the user named explicitly).
    """
    own = _first_file(directory, TEMPLATE_NAMES)
    chosen = template if override or own is None else (own,)
    folds: tuple[Sources, ...] = ()
    if fold_prefix:
        fold_dirs = sorted((d for d in directory.iterdir() if d.is_dir() and d.name.startswith(fold_prefix)),
                           key=lambda d: _natural_key(d.name))
        folds = tuple(_directory_sources(d, chosen, d.name, None) for d in fold_dirs)
    if chosen is None:
        raise SourceError(f"no template for {display_path(directory)}: it has no "
                          f"{' or '.join(TEMPLATE_NAMES)}",
                          hint="give the template file as the first argument")
    sources = Sources(chosen, *(_directory_split(directory, role) for role in SPLIT_NAMES),
                      folds=folds, directory=directory, name=name)
    if not sources.has_data:
        raise SourceError(f"no data files in {display_path(directory)}: looked for {_looked_for()}")
    return sources


def _natural_key(name: str) -> tuple:
    """``fold_2`` before ``fold_10``."""
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else -1, name)


def load_sources(template: PathLike | Sequence[PathLike] | None, data: PathLike | None,
                 queries: PathLike | None = None, *, fold_prefix: str = FOLD_PREFIX) -> Sources:
    """Resolve a template path, a data path and an optional queries path into :class:`Sources`.

    ``template``: a file, several files (concatenated), a directory holding
    ``template.txt``, or None to take the template from the ``data`` directory. A
    directory given as ``template`` with no ``data`` is a whole sources directory.
    ``data``: None (template only), an examples file (unlabelled, labelled or one
    knowledge base) or a sources directory. ``queries``: a queries file that replaces
    the training queries found in a directory. Raises :class:`SourceError` naming
    what was looked for when something is missing.

    An explicit template is used for the directory and for every fold that has no
    template of its own; a fold's own ``template.txt`` wins inside that fold.
    """
    if data is None and isinstance(template, (str, Path)) and existing_path(template, "template").is_dir():
        template, data = None, template  # a lone directory is a sources directory (`-sd DIR`)
    templates = _resolve_templates(template) if template is not None else None
    query_file = _existing_file(queries, "queries file") if queries is not None else None
    if data is None:
        if templates is None:
            raise SourceError("nothing to read: give a template file or a sources directory")
        return Sources(templates, Split(None, query_file))
    data_path = existing_path(data, "data")
    if data_path.is_dir():
        found = _directory_sources(data_path, templates, ".", fold_prefix, override=templates is not None)
        if query_file is not None:
            found = Sources(found.template, Split(found.train.examples, query_file), found.val, found.test,
                            found.folds, found.directory, found.name)
        return found
    if templates is None:
        raise SourceError(f"no template for {display_path(data_path)}: give the template file first, "
                          f"or a directory that holds {' or '.join(TEMPLATE_NAMES)}")
    return Sources(templates, beside_queries(Split(data_path, query_file)))


# --------------------------------------------------------------------------- loading


def companion_queries(examples: Path) -> list[Path]:
    """The queries files looked for beside an examples file, in order.

    First its name with ``examples`` replaced by ``queries``, in the same case:
    ``trainExamples.txt`` -> ``trainQueries.txt``, ``examples.txt`` -> ``queries.txt``,
    ``mol_examples.txt`` -> ``mol_queries.txt``. Then, for a training examples file of a
    sources directory (``trainExamples.txt``, ``examples.txt``), the other training queries
    name, as a sources directory pairs them (``queries.txt``, ``trainQueries.txt``).
    """
    name = examples.name
    found = []
    at = name.lower().rfind(EXAMPLES_WORD)
    if at >= 0:
        word = name[at:at + len(EXAMPLES_WORD)]
        queries = QUERIES_WORD.capitalize() if word[0].isupper() else QUERIES_WORD
        found.append(examples.with_name(name[:at] + (queries.upper() if word.isupper() else queries)
                                        + name[at + len(word):]))
    example_names, query_names = SPLIT_NAMES["train"]
    if name in example_names:
        found += [examples.with_name(n) for n in query_names if examples.with_name(n) not in found]
    return found


def beside_queries(split: Split) -> Split:
    """``split`` with the queries file found beside its examples (:func:`companion_queries`), when it names
    none and its examples carry no labels (as its first example shows: labels are all or none); a note
    (:mod:`neuralogic_py.progress`) says which file was taken. Else ``split`` as it is."""
    from .chunks import first_statement  # (chunks imports this module)

    if split.examples is None or split.queries is not None:
        return split
    beside = next((p for p in companion_queries(split.examples) if p.is_file()), None)
    if beside is None:
        return split
    try:
        first = first_statement(split.examples, parse_examples)
    except NeuralogicError:  # said with its place when the file is read
        return split
    if first is None or first.queries:
        return split
    progress.note(f"queries: {display_path(beside)} (beside {split.examples.name}, whose examples carry no labels)")
    return Split(split.examples, beside)


def load_split(split: Split) -> SplitData:
    """Parse the files of ``split`` (examples and query lines, in file order)."""
    examples = _load(load_examples, split.examples, "example") if split.examples is not None else ()
    query_lines = _load(load_queries, split.queries, "query line") if split.queries is not None else ()
    return SplitData(tuple(examples), tuple(query_lines), split)


def _load(loader: Callable[[Path], tuple], path: Path, noun: str) -> tuple:
    """``loader(path)`` (its items called ``noun``), said in stage lines; a file that does not parse as data
    but as a template is said to be one (:func:`data_error`)."""
    progress.stage(f"parsing {display_path(path)}", f"({_size(path)})")
    try:
        loaded = loader(path)
    except NeuralogicError as e:
        raise data_error(path, e) from None
    progress.done(progress.sized(len(loaded), noun))
    return loaded


def data_error(path: Path, error: NeuralogicError) -> NeuralogicError:
    """What to raise for ``error``, met reading the data file ``path``: an error saying the file is a template
    when it is one (the arguments were swapped), else ``error`` itself."""
    rules = template_rules(path)
    if not rules:
        return error
    return SourceError(f"{display_path(path)} is a template ({counted(rules, 'rule')}), not data",
                       hint="the template comes first, then the data: TEMPLATE DATA")


def template_rules(path: Path, limit: int = 1 << 20) -> int:
    """The number of rules ``path`` holds read as a template, when it is surely one (a rule has a variable or
    a weight written by shape, which data never has); else 0, as for a file over ``limit`` bytes."""
    from .parser import load_template  # (lark: imported when a file needs it)

    if path.stat().st_size > limit:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            template = load_template(path, validate=False)
        except NeuralogicError:
            return 0
    variables = any(not atom.is_ground for rule in template.rules
                    for atom in (rule.head, *(literal.atom for literal in rule.body)))
    shaped = any(isinstance(weight.value, ir.Dims) for weight, _span in template.weights())
    return len(template.rules) if variables or shaped else 0


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB" if size >= 1e3 else f"{size} bytes"
