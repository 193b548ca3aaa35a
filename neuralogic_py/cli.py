"""The ``nlp`` command line: one function per subcommand, one place for errors.

``main`` parses the arguments and runs a subcommand under :func:`run_command`, which
turns what a user can get wrong into a message and an exit code, never a traceback:

=====  ==============================================================
0      success
1      ``--strict`` and a warning was raised
2      an error in the input (syntax, validation, missing file) or usage
130    interrupted (Ctrl-C)
=====  ==============================================================

A subcommand is a pair: ``add_<name>(subparsers, common)`` declares its arguments
(``common`` holds the options every command takes, such as ``--strict``) and sets
``run`` to ``<name>(args, warnings) -> int``. Add ``add_<name>`` to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__
from .errors import NeuralogicError, NeuralogicWarning, display_path, render
from .language.pairing import Pairing, counted, infer_pairing
from .language.parser import load_template
from .language.sources import Sources, Split, existing_path, load_sources, load_split
from .language.summary import (DataSummary, TemplateSummary, check_against_data, summarize_data,
                               summarize_template)
from .neural.settings import PROFILES

EXIT_OK = 0
EXIT_STRICT = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

WIDTH = 100  # wrap long lists of names at this many columns


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


def run_command(run: Callable[[argparse.Namespace, "WarningCounter"], int], args: argparse.Namespace) -> int:
    """Run a subcommand; errors become messages on stderr and exit codes.

    Under ``--strict`` the first :class:`NeuralogicWarning` stops the command as an
    error would (exit 1), so a long run does not go on with questionable input.
    """
    counter = WarningCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("error" if getattr(args, "strict", False) else "always", NeuralogicWarning)
        warnings.showwarning = counter.show
        try:
            return run(args, counter)
        except NeuralogicWarning as w:
            print(render("error", w.message, w.span, w.hint or "a warning, made an error by --strict"),
                  file=sys.stderr)
            return EXIT_STRICT
        except NeuralogicError as e:
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


# --------------------------------------------------------------------------- nlp check


def add_check(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "check", parents=[common], help="parse and validate a template and its data; print a summary",
        description="Parse and validate TEMPLATE and DATA and print what they contain: rules, predicates, "
                    "weights, examples, queries and how the queries pair with the examples.")
    _add_sources_arguments(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=check)


def _add_sources_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("template", metavar="TEMPLATE",
                   help="template file, or a sources directory holding template.txt (then DATA may be omitted)")
    p.add_argument("data", metavar="DATA", nargs="?",
                   help="examples file, or a directory laid out like NeuraLogic's -sd (examples.txt, "
                        "queries.txt, trainExamples.txt, ..., fold_*/)")
    p.add_argument("-q", "--queries", metavar="Q", help="queries file (replaces the directory's training queries)")


@dataclass
class SplitReport:
    """The summary of one split of one fold, as ``nlp check`` reports it."""

    fold: str
    role: str
    split: Split
    data: DataSummary
    pairing: Pairing


@dataclass
class CheckReport:
    sources: Sources
    templates: dict[tuple[Path, ...], TemplateSummary] = field(default_factory=dict)
    splits: list[SplitReport] = field(default_factory=list)


def check(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp check``: parse and validate everything, then print the summary."""
    sources = load_sources(args.template, args.data, args.queries)
    report = CheckReport(sources)
    read_with: dict[tuple[Path, ...], list[DataSummary]] = {}  # the data each template is checked against
    for unit in (sources, *sources.folds):
        if unit.template not in report.templates:  # folds often share their parent's template
            report.templates[unit.template] = summarize_template(load_template(*unit.template))
        for role, split in unit.splits():
            data = load_split(split)
            pairing = infer_pairing(data.examples, data.query_lines,
                                    examples_file=_name(split.examples), queries_file=_name(split.queries))
            data_summary = summarize_data(data.examples, data.query_lines)
            read_with.setdefault(unit.template, []).append(data_summary)
            report.splits.append(SplitReport(unit.name, role, split, data_summary, pairing))
    for files, summaries in read_with.items():
        check_against_data(report.templates[files], summaries)
    if args.json:
        print(json.dumps(_check_json(report, counter.count), indent=2))
    else:
        print(_check_text(report, counter.count))
    return EXIT_OK


def _name(path: Path | None) -> str | None:
    return display_path(path) if path is not None else None


def _names_line(label: str, names: Sequence[str]) -> list[str]:
    if not names:
        return []
    head = f"  {label} ({len(names)}): "
    return _wrap(names, head, " " * len(head))


def _template_text(files: tuple[Path, ...], t: TemplateSummary) -> list[str]:
    lines = [f"template {', '.join(display_path(f) for f in files)}"]
    counts = [counted(t.rules, "rule"), counted(t.facts, "fact"), counted(t.declarations, "declaration")]
    if t.constraints:
        counts.append(counted(t.constraints, "constraint") + " (no effect)")
    lines.append("  " + ", ".join(counts))
    lines += _names_line("predicates derived by rules", t.rule_predicates)
    lines += _names_line("predicates given by template facts", t.fact_predicates)
    lines += _names_line("predicates used only in bodies", t.body_predicates)
    lines += _names_line("built-ins", t.builtins)
    fixed = f" ({t.fixed_unnamed_weights} fixed)" if t.fixed_unnamed_weights else ""
    lines.append(f"  weights: {len(t.named_weights)} named, {t.unnamed_weights} unnamed{fixed}")
    shown = [f"${w.name} {w.shape}" + (" fixed" if w.fixed else "") + (f" x{w.uses}" if w.uses > 1 else "")
             for w in t.named_weights]
    lines += _wrap(shown, "    ", "    ")
    return lines


def _wrap(items: Sequence[str], first: str, rest: str) -> list[str]:
    """Comma-separated ``items`` wrapped at WIDTH, never breaking inside an item."""
    if not items:
        return []
    glued = ", ".join(item.replace(" ", "\u00a0") for item in items)  # textwrap does not split at U+00A0
    return [line.replace("\u00a0", " ") for line in
            textwrap.wrap(glued, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)]


def _split_text(s: SplitReport) -> list[str]:
    where = "" if s.fold == "." else f"{s.fold} "
    files = ", ".join(display_path(f) for f in s.split.files())
    d = s.data
    parts = [counted(d.examples, "example")]
    if d.examples:
        parts[0] += f" ({counted(d.facts, 'fact')} over {counted(len(d.fact_predicates), 'predicate')})"
    parts.append(counted(d.query_lines, "query line"))
    return [f"{where}{s.role} {files}", "  " + ", ".join(parts), f"  {s.pairing.describe()}"]


def _check_text(report: CheckReport, warnings_count: int) -> str:
    lines: list[str] = []
    for files, summary in report.templates.items():
        lines += _template_text(files, summary)
    for split in report.splits:
        lines += _split_text(split)
    folds = len(report.sources.folds)
    status = "ok" + (f", {counted(folds, 'fold')}" if folds else "")
    lines.append(status + (f", {counted(warnings_count, 'warning')}" if warnings_count else ""))
    return "\n".join(lines)


def _check_json(report: CheckReport, warnings_count: int) -> dict[str, Any]:
    templates = []
    for files, t in report.templates.items():
        templates.append({
            "files": [display_path(f) for f in files],
            "rules": t.rules, "facts": t.facts, "declarations": t.declarations, "constraints": t.constraints,
            "predicates": {"rules": list(t.rule_predicates), "facts": list(t.fact_predicates),
                           "body_only": list(t.body_predicates), "builtins": list(t.builtins)},
            "weights": {"named": {w.name: {"shape": w.shape, "fixed": w.fixed, "uses": w.uses}
                                  for w in t.named_weights},
                        "unnamed": t.unnamed_weights, "unnamed_fixed": t.fixed_unnamed_weights},
        })
    splits = [{
        "fold": s.fold, "split": s.role,
        "examples_file": _name(s.split.examples), "queries_file": _name(s.split.queries),
        "examples": s.data.examples, "facts": s.data.facts, "fact_predicates": list(s.data.fact_predicates),
        "query_lines": s.data.query_lines, "queries": s.data.queries,
        "pairing": {"mode": s.pairing.mode.value, "description": s.pairing.describe()},
    } for s in report.splits]
    return {"templates": templates, "splits": splits, "folds": [f.name for f in report.sources.folds],
            "warnings": warnings_count}


# --------------------------------------------------------------------------- nlp ground


def add_ground(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "ground", parents=[common], help="ground a template on its data; print counts and timings",
        description="Ground TEMPLATE on DATA (every split and fold) and report, per split: samples, ground rules "
                    "per rule, atoms/facts/derived per predicate, iterations and the time of each stage. Only "
                    "what the queries reach is kept.")
    _add_sources_arguments(p)
    p.add_argument("--print", dest="print_rules", action="store_true",
                   help="also list the ground rules ([example] head :- body.), for small inputs")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    _add_underivable_argument(p)
    p.set_defaults(run=ground)


def ground(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp ground``: ground every split; print statistics (and the ground rules with --print)."""
    from .logic.samples import ground_samples

    sources = load_sources(args.template, args.data, args.queries)
    reports = []
    progress = sys.stderr.isatty() and not args.json
    for unit in (sources, *sources.folds):
        started = time.perf_counter()
        template = load_template(*unit.template)
        template_seconds = time.perf_counter() - started
        splits = list(unit.splits()) or [("template", Split())]
        for role, split in splits:
            started = time.perf_counter()
            data = load_split(split)
            seconds = {"parse": template_seconds + time.perf_counter() - started}
            g = ground_samples(template, data.examples, data.query_lines, allow_underivable=args.allow_underivable,
                               progress=progress, examples_file=_name(split.examples),
                               queries_file=_name(split.queries))
            seconds.update(g.seconds)
            counts = g.program.counts()
            report = {"fold": unit.name, "split": role, "examples": len(data.examples), "samples": len(g.samples),
                      "pairing": g.pairing.describe(), "underivable_dropped": len(g.underivable),
                      "iterations": g.stats.iterations if g.stats else 0, "seconds": seconds, **counts}
            if args.print_rules:
                report["ground_rule_lines"] = list(g.program.ground_rule_lines())
            reports.append(report)
    if args.json:
        print(json.dumps({"splits": reports, "warnings": counter.count}, indent=2))
    else:
        print(_ground_text(reports, counter.count))
    return EXIT_OK


def _ground_text(reports: list[dict[str, Any]], warnings_count: int) -> str:
    lines: list[str] = []
    for r in reports:
        where = "" if r["fold"] == "." else f"{r['fold']} "
        lines.append(f"{where}{r['split']}: {r['pairing']} -> {counted(r['samples'], 'sample')}"
                     + (f" ({r['underivable_dropped']} underivable dropped)" if r["underivable_dropped"] else ""))
        lines.append(f"  {counted(r['ground_rules'], 'ground rule')} in {counted(r['groups'], 'aggregation group')}; "
                     f"{counted(r['atoms'], 'atom')} ({r['facts']} input facts, {r['derived']} derived); "
                     f"{counted(r['iterations'], 'iteration')}")
        lines.append("  time: " + ", ".join(f"{k} {v:.3f} s" for k, v in r["seconds"].items()))
        lines.append("  ground rules per rule:")
        for rule in r["rules"]:
            lines.append(f"    {rule['ground_rules']:>9}  {rule['rule']}")
        lines.append("  atoms per predicate (facts, derived):")
        for name, c in r["predicates"].items():
            lines.append(f"    {c['atoms']:>9}  {name} ({c['facts']}, {c['derived']})")
        if "ground_rule_lines" in r:
            lines.append("  ground rules:")
            lines += [f"    {line}" for line in r["ground_rule_lines"]]
    lines.append("ok" + (f", {counted(warnings_count, 'warning')}" if warnings_count else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------- nlp query


def add_query(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "query", parents=[common], help="answer a logical query (no learning)",
        description="Evaluate TEMPLATE's rules over DATA's examples and print the substitutions that make GOAL "
                    "true, one per line (e.g. X=1, Y=b). Ints stay ints; typed constants print with their type. "
                    "A ground GOAL prints true or false.")
    p.add_argument("template", metavar="TEMPLATE", help="template file (or a sources directory)")
    p.add_argument("items", metavar="[DATA] GOAL", nargs="+",
                   help="examples file or sources directory (optional), then the goal atom, e.g. 'h(X, Y)'")
    p.add_argument("--json", action="store_true", help="print the answers as JSON")
    p.set_defaults(run=query)


def query(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp query``: answers to one goal in each example of the training split."""
    from .logic.query import parse_goal, query_examples

    if len(args.items) > 2:
        raise NeuralogicError(f"expected [DATA] GOAL, got {len(args.items)} arguments after the template",
                              hint="quote the goal: nlp query rules.txt data.txt 'h(X, Y)'")
    data, goal_text = (args.items[0], args.items[1]) if len(args.items) == 2 else (None, args.items[0])
    goal = parse_goal(goal_text)
    sources = load_sources(args.template, data)
    examples = load_split(sources.train).examples if sources.train else ()
    per_example = query_examples(load_template(*sources.template), goal, examples)
    variables = goal.variables()
    if args.json:
        print(json.dumps([[{k: _json_value(v) for k, v in a.items()} for a in answers]
                          for answers in per_example], indent=2))
        return EXIT_OK
    lines = []
    for e, answers in enumerate(per_example):
        prefix = f"example {e + 1}: " if len(per_example) > 1 else ""
        if not any(True for v in variables if not v.is_anonymous):
            lines.append(prefix + ("true" if answers else "false"))
            continue
        if not answers:
            lines.append(prefix + "no answers")
        lines += [prefix + ", ".join(f"{k}={_text_value(v)}" for k, v in a.items()) for a in answers]
    print("\n".join(lines))
    return EXIT_OK


def _text_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _json_value(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)


# --------------------------------------------------------------------------- nlp predict


def add_predict(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "predict", parents=[common], help="compute each query's output with weights given by name",
        description="Ground TEMPLATE on DATA, set the template's weights by name from a JSON file (the conformance "
                    "weights.json format) and write each query's output, in query order, as {\"outputs\": [...]} "
                    "(a number per scalar output, a flat list per column vector). DATA is an examples file or a "
                    "sources directory (its training split, or its test split when it has no training split).")
    _add_sources_arguments(p)
    p.add_argument("--weights", metavar="JSON", help="weights by name; weights not given keep their written value "
                                                     "or are drawn (see --seed)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the outputs here (default: standard output)")
    _add_profile_argument(p)
    p.add_argument("--seed", type=int, default=0, help="seed for weights written by shape only (default 0)")
    _add_underivable_argument(p)
    p.set_defaults(run=predict)


def predict(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp predict``: outputs of every query under the given weights."""
    from .learn.model import is_model_file
    from .neural.parameters import block_to_json
    from .neural.predict import build

    if is_model_file(args.template):
        return _predict_with_model(args)
    sources = load_sources(args.template, args.data, args.queries)
    split = sources.train or sources.test
    if not split:
        raise NeuralogicError("no examples or queries to predict for",
                              hint="give an examples file, or a directory with examples.txt / testExamples.txt")
    data = load_split(split)
    compiled = build(load_template(*sources.template), data.examples, data.query_lines,
                     settings=PROFILES[args.profile], seed=args.seed, allow_underivable=args.allow_underivable,
                     examples_file=_name(split.examples), queries_file=_name(split.queries))
    if args.weights:
        compiled.store.load_json(args.weights)
    text = json.dumps({"outputs": [block_to_json(o) for o in compiled.forward()]}, indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return EXIT_OK


def _predict_with_model(args: argparse.Namespace) -> int:
    """``nlp predict MODEL DATA``: a saved model's outputs, in the same format."""
    from .learn.dataset import Dataset
    from .learn.model import Model

    if args.data is None:
        raise NeuralogicError("nlp predict MODEL needs DATA", hint="nlp predict model.json examples.txt")
    model = Model.load(args.template)
    if args.weights:
        model.load_parameters(args.weights)
    predictions = model.predict(Dataset.load(args.data, args.queries), allow_underivable=args.allow_underivable)
    text = json.dumps(predictions.outputs_json(), indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return EXIT_OK


# --------------------------------------------------------------------------- nlp compress


def _add_underivable_argument(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    p.add_argument("--allow-underivable", action="store_true",
                   help="drop queries no rule derives (with one warning) instead of stopping with an error")


def _add_profile_argument(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default="reference",
                   help="functions where the template states none: reference (tanh, sum, avg; the Java CLI's) or "
                        "pyneuralogic (identity, sum, avg)")


def _add_lifting_arguments(p: argparse.ArgumentParser) -> None:
    from .neural.compression import METHODS

    g = p.add_argument_group("lifting (merging neurons that compute the same function; docs/lifting.md)")
    g.add_argument("--lifting", choices=METHODS, default="structural",
                   help="structural: exact, certified (default); value: the paper's method, neurons with equal "
                        "values under random weights; none: chain pruning only")
    g.add_argument("--iso-inits", type=int, default=1, metavar="K",
                   help="value lifting: random weight draws compared (default 1)")
    g.add_argument("--iso-digits", type=int, default=12, metavar="D",
                   help="value lifting: decimal digits values are rounded to (default 12)")
    g.add_argument("--iso-check", action="store_true",
                   help="value lifting: merge only what the structural test also certifies (vetoes are counted)")


def _lifting(args: argparse.Namespace, scope: str = "batch") -> Any:
    from .neural.compression import LiftingSettings

    return LiftingSettings(args.lifting, scope, args.iso_inits, args.iso_digits, args.iso_check, args.seed)


def add_compress(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "compress", parents=[common], help="print the neurons and edges before and after pruning and lifting",
        description="Ground TEMPLATE on DATA (its training split, or its test split when it has none), build the "
                    "neural network and print, without training, the neurons (facts, atoms, rules, aggregations) "
                    "and edges the queries reach: in the ground network, after exact chain pruning, and after "
                    "lifting within each example and across all examples, with the time each stage took.")
    _add_sources_arguments(p)
    _add_lifting_arguments(p)
    _add_profile_argument(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the value method's weight draws (default 0)")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    _add_underivable_argument(p)
    p.set_defaults(run=compress)


def compress(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp compress``: the compression statistics of a template on its data, without training."""
    from .logic.samples import ground_samples
    from .neural.compression import SCOPES, report_lines
    from .neural.compression import compress as compress_network
    from .neural.network import neuralize
    from .neural.parameters import ParameterStore

    sources = load_sources(args.template, args.data, args.queries)
    split = sources.train or sources.test
    if not split:
        raise NeuralogicError("no examples or queries to compress",
                              hint="give an examples file, or a directory with examples.txt / testExamples.txt")
    started = time.perf_counter()
    template = load_template(*sources.template)
    data = load_split(split)
    seconds = {"parse": time.perf_counter() - started}
    started = time.perf_counter()
    grounding = ground_samples(template, data.examples, data.query_lines, allow_underivable=args.allow_underivable,
                               examples_file=_name(split.examples), queries_file=_name(split.queries))
    seconds["ground"] = time.perf_counter() - started
    started = time.perf_counter()
    network = neuralize(template, grounding, ParameterStore.from_template(template), PROFILES[args.profile])
    seconds["neuralize"] = time.perf_counter() - started
    reports = [compress_network(network, _lifting(args, scope))[1] for scope in SCOPES[::-1]]
    stages = reports[0].stages[:2] + [r.stages[-1] for r in reports[:len(reports) if args.lifting != "none" else 0]]
    if args.json:
        print(json.dumps({"samples": len(network.samples), "seconds": seconds,
                          "lifting": reports[-1].as_dict()["lifting"],
                          "stages": [stage.as_dict() for stage in stages], "warnings": counter.count}, indent=2))
        return EXIT_OK
    print(f"{counted(len(network.samples), 'sample')} in {counted(len(data.examples), 'example')}; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
    print("\n".join(report_lines(len(network.samples), stages, kinds=True)))
    return EXIT_OK


# --------------------------------------------------------------------------- nlp train


def add_train(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from .learn.initializers import INITIALIZERS
    from .learn.losses import LOSS_CHOICES, TASKS
    from .learn.optimizers import OPTIMIZERS
    from .learn.trainer import SHUFFLES

    p = subparsers.add_parser(
        "train", parents=[common], help="learn a template's weights from data; print metrics, save the model",
        description="Ground TEMPLATE on DATA, train its weights and print the metrics of every split (accuracy, "
                    "error, best-threshold accuracy, majority, AUC-ROC, AUC-PR). Writes the model, per-sample "
                    "predictions and results.json under --out. With a validation split (valExamples.txt) or "
                    "--val-fraction, the weights with the lowest validation error are kept. With fold_* folders "
                    "or --xval K, runs cross-validation instead.")
    _add_sources_arguments(p)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=100, help="passes over the training samples (default 100)")
    t.add_argument("--batch-size", type=int, default=1, metavar="N",
                   help="samples per update; 1 = online, as the reference (default); 0 = full batch")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="default adam")
    t.add_argument("--lr", type=float, metavar="RATE", help="learning rate (default: adam 0.001, sgd 0.1)")
    t.add_argument("--weight-decay", type=float, default=0.0, metavar="L2", help="L2 penalty (default 0)")
    t.add_argument("--lr-decay", type=float, metavar="FACTOR",
                   help="multiply the learning rate by FACTOR every --decay-every epochs")
    t.add_argument("--decay-every", type=int, default=100, metavar="EPOCHS", help="default 100")
    t.add_argument("--clip-norm", type=float, metavar="NORM", help="rescale longer gradients to this norm")
    t.add_argument("--loss", choices=LOSS_CHOICES, default="mse",
                   help="default mse; auto infers the loss and output activation as the reference does "
                        "(classification: cross-entropy on the output's logits)")
    t.add_argument("--task", choices=TASKS, help="for --loss auto and the metrics (default: from the targets)")
    t.add_argument("--no-squish", action="store_true",
                   help="with --loss auto: cross-entropy on a sigmoid/softmax output instead of on logits")
    t.add_argument("--init", choices=sorted(INITIALIZERS), default="uniform",
                   help="initializer of weights written by shape (default uniform on (-1, 1))")
    _add_profile_argument(t)
    t.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the sample order (default 0)")
    t.add_argument("--shuffle", choices=SHUFFLES, default="batches",
                   help="batches: fixed batches in a new order each epoch (default); samples: new batches each "
                        "epoch; none: data order")
    _add_lifting_arguments(p)
    s = p.add_argument_group("model selection and cross-validation")
    s.add_argument("--val-fraction", type=float, metavar="F",
                   help="hold out this stratified fraction of the training samples for validation")
    s.add_argument("--patience", type=int, metavar="N", help="stop after N evaluations without improvement")
    s.add_argument("--select", choices=("error", "accuracy"), default="error",
                   help="keep the weights with the lowest error (default) or the highest accuracy")
    s.add_argument("--eval-every", type=int, default=1, metavar="EPOCHS", help="evaluate for selection (default 1)")
    s.add_argument("--last", action="store_true", help="keep the last weights instead of the selected ones")
    s.add_argument("--xval", type=int, metavar="K", help="K-fold stratified cross-validation of the training data")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", default="target/out",
                   help="where to write model.json, predictions/ and results.json (default target/out)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_underivable_argument(o)
    p.set_defaults(run=train)


def train(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp train``: fit (or cross-validate), print the summary, write model, predictions and results."""
    import numpy as np

    from .learn import report
    from .learn.dataset import Dataset, external_folds
    from .learn.model import Model, cross_validate_folds

    sources = load_sources(args.template, args.data, args.queries)
    out = Path(args.out)
    options = {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": args.lr,
               "weight_decay": args.weight_decay, "lr_decay": args.lr_decay, "decay_every": args.decay_every,
               "clip_norm": args.clip_norm, "patience": args.patience, "select": args.select,
               "restore_best": not args.last, "shuffle": args.shuffle, "eval_every": args.eval_every,
               "progress": sys.stderr.isatty() and not args.no_progress}
    common = {"val_fraction": args.val_fraction, "allow_underivable": args.allow_underivable}

    def make_model(files: tuple[Path, ...]) -> Model:
        return Model(load_template(*files), settings=PROFILES[args.profile], loss=args.loss, task=args.task,
                     squish=not args.no_squish, initializer=args.init, seed=args.seed, lifting=_lifting(args))

    if sources.folds or args.xval:
        def on_fold(fold) -> None:
            print(report.fold_line(fold), flush=True)

        if sources.folds:
            if args.xval and args.xval != len(sources.folds):
                raise NeuralogicError(f"--xval {args.xval} but {display_path(sources.directory)} has "
                                      f"{counted(len(sources.folds), 'fold_* folder')}")
            cv = cross_validate_folds(external_folds(sources), make_model, keep_predictions=True, on_fold=on_fold,
                                      **common, **options)
        else:
            if not sources.train:
                raise NeuralogicError("no training data to cross-validate", hint="give examples (and queries)")
            model = make_model(sources.template)
            cv = model.cross_validate(Dataset.from_split(sources.train), args.xval, keep_predictions=True,
                                      on_fold=on_fold, **common, **options)
        print("\n".join(report.xval_lines(cv)))
        paths = [report.write_json(out / "results.json", {"command": "train", **cv.as_dict()})]
        for fold in cv.folds:
            paths += report.write_predictions(out / fold.name.replace(" ", "_"), {"test": fold.test_predictions})
        print(report.written_line(paths[:1] + [out / "fold_*" / "predictions" / "test.tsv"]))
        return EXIT_OK

    if not sources.train:
        raise NeuralogicError("no training data", hint="give an examples file, or a directory with "
                                                       "trainExamples.txt / examples.txt")
    model = make_model(sources.template)
    train_data = Dataset.from_split(sources.train)
    val_data = Dataset.from_split(sources.val) if sources.val else None
    result = model.fit(train_data, val_data, **common, **options)
    evaluations = {"train": result.train}
    if result.val is not None:
        evaluations["val"] = result.val
    predictions = {"train": model.predict(train_data)}
    if result.held_out is not None:
        everything = predictions["train"]
        predictions["train"] = everything.take(np.setdiff1d(np.arange(len(everything)), result.held_out))
        predictions["val"] = everything.take(result.held_out)
    elif val_data is not None:
        predictions["val"] = model.predict(val_data)
    if sources.test:
        test_data = Dataset.from_split(sources.test)
        evaluations["test"] = model.evaluate(test_data, allow_underivable=args.allow_underivable)
        predictions["test"] = model.predict(test_data)
    held = f", {len(predictions['val'])} of them held out for validation" if result.held_out is not None else ""
    print(f"data: {counted(len(predictions['train']) + len(result.held_out if held else ()), 'training sample')}"
          f"{held} ({train_data.describe()})")
    print("\n".join(report.fit_lines(model, result, result.seconds_build)))
    compression = model.build(train_data)[1].compression
    print("\n".join(compression.lines()))
    print("\n".join(report.split_line(role, e) for role, e in evaluations.items()))
    paths = [model.save(out / "model.json"), *report.write_predictions(out, predictions)]
    paths.append(report.write_json(out / "results.json", {
        "command": "train", "model": model.to_json()["training"], **result.as_dict(),
        "compression": compression.as_dict(), "evaluations": {role: e.as_dict() for role, e in evaluations.items()}}))
    print(report.written_line(paths))
    return EXIT_OK


# --------------------------------------------------------------------------- nlp test


def add_test(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "test", parents=[common], help="evaluate a saved model on data",
        description="Load MODEL (a model.json written by nlp train) and print the metrics of DATA: an examples "
                    "file, or a sources directory (each of its train, val and test splits).")
    p.add_argument("model", metavar="MODEL", help="a saved model (model.json)")
    p.add_argument("data", metavar="DATA", help="examples file or sources directory")
    p.add_argument("-q", "--queries", metavar="Q", help="queries file (replaces the directory's training queries)")
    p.add_argument("--out", metavar="DIR", help="also write predictions/<split>.tsv and results.json here")
    _add_underivable_argument(p)
    p.set_defaults(run=test)


def test(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp test``: metrics of every split of DATA under a saved model."""
    from .learn import report
    from .learn.dataset import data_splits
    from .learn.model import Model

    model = Model.load(existing_path(args.model, "model"))
    evaluations, predictions = {}, {}
    for role, data in data_splits(args.data, args.queries):
        evaluations[role] = model.evaluate(data, allow_underivable=args.allow_underivable)
        predictions[role] = model.predict(data, allow_underivable=args.allow_underivable)
        print(report.split_line(role, evaluations[role]))
    if args.out:
        out = Path(args.out)
        paths = report.write_predictions(out, predictions)
        paths.append(report.write_json(out / "results.json", {
            "command": "test", "model": display_path(args.model),
            "evaluations": {role: e.as_dict() for role, e in evaluations.items()}}))
        print(report.written_line(paths))
    return EXIT_OK


# --------------------------------------------------------------------------- entry point

COMMANDS = (add_check, add_ground, add_query, add_predict, add_compress, add_train, add_test)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    parser = argparse.ArgumentParser(
        prog="nlp", description="Differentiable Datalog (Lifted Relational Neural Networks) in pure Python.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nlp`` with ``argv`` (default: the process's arguments); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors: argparse has printed them
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    return run_command(args.run, args)
