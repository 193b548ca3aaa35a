"""What every subcommand shares: exit codes, :func:`run_command`, the common options and text helpers.

Only light modules are imported here; a subcommand imports the heavy ones (numpy, the
neural and learning packages) inside the functions that need them, so that ``nlp --help``
starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import progress
from ..errors import NeuralogicError, NeuralogicWarning, SourceError, display_path, render
from ..limits import memory_limit

EXIT_OK = 0
EXIT_STRICT = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

Run = Callable[[argparse.Namespace, "WarningCounter"], int]
Parsers = argparse.ArgumentParser | argparse._ArgumentGroup


# --------------------------------------------------------------------------- running a command


@dataclass
class WarningCounter:
    """Prints each warning positioned to stderr and counts them (for the closing status line)."""

    count: int = 0

    def show(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        self.count += 1
        if isinstance(message, NeuralogicWarning):
            text = str(message)
        else:
            text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
        print(text, file=sys.stderr)


def run_command(run: Run, args: argparse.Namespace) -> int:
    """Run a subcommand; errors become messages on stderr and exit codes.

    Under ``--strict`` the first :class:`NeuralogicWarning` stops the command as an
    error would (exit 1), so a long run does not go on with questionable input.
    """
    counter = WarningCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("error" if getattr(args, "strict", False) else "always", NeuralogicWarning)
        warnings.showwarning = counter.show
        # numpy's overflow and invalid-value warnings: every non-finite result is checked and reported with its place
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"neuralogic_py\.")
        try:
            take_bundled(args)
            # notes and stage lines for the commands that take --no-progress, unless it is given
            with memory_limit(getattr(args, "max_memory", None)), \
                    progress.stage_lines(not getattr(args, "no_progress", True),
                                         stages=getattr(args, "stages_piped", False) or sys.stderr.isatty()):
                return run(args, counter)
        except NeuralogicWarning as w:
            print(render("error", w.message, w.span, w.hint or "a warning, made an error by --strict"),
                  file=sys.stderr)
            return EXIT_STRICT
        except NeuralogicError as e:
            if getattr(e, "cli_hint", None):
                e.hint = e.cli_hint
            print(e, file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader of our output went away (`nlp ... | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except OSError as e:  # unreadable file, full disk, ...: the OS's reason, without a traceback
            name = f": {display_path(e.filename)}" if e.filename else ""
            print(f"error: {e.strerror or e}{name}", file=sys.stderr)
            return EXIT_ERROR
        except MemoryError:
            print("error: out of memory", file=sys.stderr)
            return EXIT_ERROR
        except Exception as e:  # a bug of ours: said as such, the traceback only on request
            if os.environ.get("NLP_TRACEBACK"):
                traceback.print_exc()
            text = str(e) if len(str(e)) <= 300 else str(e)[:300] + "..."
            print(f"internal error: {type(e).__name__}: {text}\n    hint: this is a bug in neuralogic_py; please "
                  "report it with the command and its input (NLP_TRACEBACK=1 shows where it arose)", file=sys.stderr)
            return EXIT_ERROR


# --------------------------------------------------------------------------- checked option values


def integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``minimum..maximum``, else a usage error naming the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {_shown(text)}") from None
        if value < minimum or (maximum is not None and value > maximum):
            wanted = f"must be in {minimum}..{maximum}" if maximum is not None else \
                ("must not be negative" if minimum == 0 else f"must be at least {minimum}")
            raise argparse.ArgumentTypeError(f"{wanted}, got {_shown(text)}")
        return value
    return parse


def number(low: float, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number between ``low`` and ``high`` (open ends excluded)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
        inside = math.isfinite(value) and (low < value if low_open else low <= value) and \
            (value < high if high_open else value <= high)
        if not inside:
            if high == math.inf:
                wanted = "must be a positive number" if low == 0 and low_open else \
                    "must not be negative" if low == 0 else f"must be {'>' if low_open else '>='} {low:g}"
            else:
                wanted = f"must lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"{wanted}, got {_shown(text)}")
        return value
    return parse


def _shown(text: str) -> str:
    """An argument as a message quotes it (cut when it is long)."""
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- options shared by commands


def add_sources_arguments(p: argparse.ArgumentParser) -> None:
    """``TEMPLATE [DATA] [--queries Q]``, as every command that reads a template and its data takes them."""
    p.add_argument("template", metavar="TEMPLATE",
                   help="template file, or a sources directory holding template.txt (then DATA may be omitted)")
    p.add_argument("data", metavar="DATA", nargs="?",
                   help="examples file, or a directory laid out like NeuraLogic's -sd (examples.txt, "
                        "queries.txt, trainExamples.txt, ..., fold_*/)")
    p.add_argument("-q", "--queries", metavar="Q", help="queries file (replaces the directory's training queries)")
    p.set_defaults(bundled=("template", "data"))


def take_bundled(args: argparse.Namespace) -> None:
    """Point the arguments listed in ``args.bundled`` that name nothing here at the bundled item they name.

    ``nlp train carbonyl`` or ``nlp train datasets/carbonyl`` outside a checkout: the
    bundled dataset (:func:`neuralogic_py.datasets.find`); a lone dataset without a
    ``template.txt`` goes with the bundled template of its name. One note on stderr says
    what was taken. A path that exists is never replaced.
    """
    roles = getattr(args, "bundled", ())
    if not roles:
        return
    from .. import datasets

    given, taken = [], []
    lone = "template" in roles and getattr(args, "data", None) is None
    for role in roles:
        text = getattr(args, role, None)
        found = datasets.find(text, "data" if lone else role) if isinstance(text, str) else None
        if found is None:
            continue
        setattr(args, role, str(found.path))
        given.append(repr(text))
        taken.append(f"{found.kind} {found.name}")
        if lone and found.kind == "dataset" and not datasets.has_template(found.name):
            with contextlib.suppress(NeuralogicError):
                args.template, args.data = str(datasets.template(found.name)), str(found.path)
                taken.append(f"template {Path(args.template).stem}")
    if taken:
        print(f"note: using the bundled {' and '.join(taken)} from {display_path(datasets.root())} (there is no "
              f"{' or '.join(given)} here)", file=sys.stderr)


def add_grounding_arguments(p: Parsers) -> None:
    """The options of every command that grounds: ``--allow-underivable`` and ``--max-memory``."""
    p.add_argument("--allow-underivable", action="store_true",
                   help="drop queries no rule derives (with one warning) instead of stopping with an error")
    add_memory_argument(p)


def add_profile_argument(p: Parsers) -> None:
    """``--profile``: the functions a template gets where it states none."""
    from ..neural.settings import PROFILES

    p.add_argument("--profile", choices=sorted(PROFILES), default="reference",
                   help="functions where the template states none: reference (tanh, sum, avg; the Java CLI's) or "
                        "pyneuralogic (identity, sum, avg)")


def add_progress_argument(p: Parsers, piped: bool = False) -> None:
    """``--no-progress``: no notes, stage lines, bar or progress lines on stderr. Stage lines are shown on a
    terminal, and also into a pipe or file when ``piped`` (commands that run long)."""
    p.add_argument("--no-progress", action="store_true",
                   help="nothing on stderr while working: no stage lines, progress bar or lines, no note of the "
                        "files and defaults taken")
    p.set_defaults(stages_piped=piped)


def add_memory_argument(p: Parsers) -> None:
    """``--max-memory``: the most memory one step (a grounding join, a weight) may take."""
    from ..limits import parse_size

    def size(text: str) -> int:
        try:
            return parse_size(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a size such as 4G or 500M, got {_shown(text)}") from None

    p.add_argument("--max-memory", type=size, metavar="SIZE",
                   help="stop with an error when one step would need more memory (default: 80%% of the machine's)")


def add_lifting_arguments(p: argparse.ArgumentParser) -> None:
    """``--lifting`` and the value method's ``--iso-*`` options."""
    from ..neural.compression import METHODS

    g = p.add_argument_group("lifting (merging neurons that compute the same function; docs/lifting.md)")
    g.add_argument("--lifting", choices=METHODS, default="structural",
                   help="structural: exact, certified (default); value: the paper's method, neurons with equal "
                        "values under random weights; none: chain pruning only")
    g.add_argument("--iso-inits", type=integer(1), default=1, metavar="K",
                   help="value lifting: random weight draws compared (default 1)")
    g.add_argument("--iso-digits", type=integer(0, 15), default=12, metavar="D",
                   help="value lifting: decimal digits values are rounded to (default 12)")
    g.add_argument("--iso-check", action="store_true",
                   help="value lifting: merge only what the structural test also certifies (vetoes are counted)")


def lifting(args: argparse.Namespace, scope: str = "batch") -> Any:
    """The :class:`~neuralogic_py.neural.compression.LiftingSettings` the lifting options ask for."""
    from ..neural.compression import LiftingSettings

    return LiftingSettings(args.lifting, scope, args.iso_inits, args.iso_digits, args.iso_check, args.seed)


@contextlib.contextmanager
def output_folder(path: str | Path, command: str, resume_hint: str = "") -> Iterator[Any]:
    """The run's :class:`~neuralogic_py.output.OutputFolder`, opened (locked, writable) before any work.

    Notes on stderr what opening it did about an interrupted run and, when the run
    stops on Ctrl-C, a failed write or after having written a checkpoint, what it kept
    (with ``resume_hint`` when it kept a checkpoint).
    """
    from ..output import OutputFolder

    with OutputFolder(path, command) as folder:
        if folder.recovered:
            print(f"note: {display_path(folder.path)}: {folder.recovered}", file=sys.stderr)
        try:
            yield folder
        except BaseException as e:
            if not folder.committed and (folder.live or isinstance(e, (KeyboardInterrupt, OSError))):
                hint = f" ({resume_hint})" if folder.live and resume_hint else ""
                print(f"note: {folder.kept()}{hint}", file=sys.stderr)
            raise


# --------------------------------------------------------------------------- text


def file_name(path: Path | None) -> str | None:
    """``path`` as messages show it, or None."""
    return display_path(path) if path is not None else None


def read_template(files: tuple[Path, ...], data: str | None = None, command: str = "") -> Any:
    """The template in ``files``; one error, instead of a warning per line, when it is a data file.

    A file without rules whose statements are facts joined by commas (no effect in a
    template) is an examples file: it is refused, and when ``data`` (the DATA argument of
    ``nlp command``) is a template (or, for ``nlp predict``, a saved model), the hint gives
    the command with the two swapped.
    Otherwise the warnings of the parse are raised as usual, after it.
    """
    from ..language import ir
    from ..language.pairing import counted
    from ..language.parser import load_template
    from ..language.sources import template_rules
    from ..learn.model_file import is_model_file

    progress.stage(f"parsing {', '.join(display_path(f) for f in files)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        template = load_template(*files)
    joined = sum(isinstance(s, ir.Constraint) for s in template.statements)
    if not template.rules and joined:
        name = display_path(files[0])
        data_path = Path(data) if data is not None else None
        model = command == "predict" and data_path is not None and is_model_file(data_path)  # (predict MODEL DATA)
        swapped = model or (data_path is not None and data_path.is_file() and template_rules(data_path) > 0)
        hint = f"the {'model' if model else 'template'} comes first: nlp {command} {data} {name}" if swapped else \
            "give the template file first, then this file as DATA"
        raise SourceError(f"{name} is not a template but data: it has no rules, and its {counted(joined, 'statement')} "
                          "are facts joined by commas, as in an examples file", hint=hint)
    for w in caught:
        warnings.warn(w.message, stacklevel=2)  # as they came, now under the command's filter (--strict)
    progress.done(progress.sized(len(template.rules), "rule"))
    return template


def require_queries(data: Any, doing: str, fix: str) -> None:
    """Stop when ``data`` (a :class:`~neuralogic_py.learn.dataset.Dataset`, or the
    :class:`~neuralogic_py.learn.dataset.DataFiles` of a split, read by passes over its files) has no queries
    to ``doing`` on: say which file lacks them, where they were looked for, and ``fix``, the command that gives
    them."""
    from ..language.pairing import PairingMode, counted
    from ..language.sources import companion_queries, data_error
    from ..learn.dataset import DataFiles

    if isinstance(data, DataFiles):
        try:
            examples, queried = data.examples, data.query_lines > 0 or data.pairing is PairingMode.LABELLED
        except NeuralogicError as e:  # (the first example did not parse)
            raise data_error(data.split.examples, e) if data.split.examples else e from None
    else:
        examples, queried = len(data.examples), bool(data.query_lines) or any(e.queries for e in data.examples)
    if queried:
        return
    hint = f"{fix} (line i of QUERIES: the target and query of example i, such as '1.0 predict.'), or label " \
           "each example: '1.0 predict :- facts.'"
    if data.queries_file:
        raise NeuralogicError(f"{data.queries_file} holds no queries: nothing to {doing}", hint=hint)
    where = data.examples_file or "the data"
    if not examples:
        raise NeuralogicError(f"{where} holds no examples and there is no queries file: nothing to {doing}",
                              hint=hint)
    beside = [p.name for p in companion_queries(Path(data.examples_file))] if data.examples_file else []
    looked = f" (no {' or '.join(beside)} beside it)" if beside else ""
    raise NeuralogicError(f"{where} holds {counted(examples, 'example')} without labels and there is "
                          f"no queries file{looked}: nothing to {doing}", hint=hint)


def no_data_error(what: str) -> NeuralogicError:
    """The error of a command that found no examples or queries to work on."""
    return NeuralogicError(f"no examples or queries to {what}",
                           hint="give an examples file, or a directory with examples.txt / testExamples.txt")
