"""``nlp train``: learn a template's weights; print metrics; save the model, predictions and results."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import progress
from ..errors import NeuralogicError, display_path
from ..language.pairing import counted
from ..language.sources import load_sources
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_lifting_arguments, add_profile_argument,
                     add_progress_argument, add_sources_arguments, integer, lifting, number, output_folder,
                     read_template, require_queries)

NAME = "train"
HELP = COMMANDS[NAME]

# options that do not change what a run computes: a resumed run may give others
UNRECORDED = ("template", "data", "queries", "out", "resume", "checkpoint_every", "no_progress", "log_every",
              "max_memory", "epochs", "strict", "command", "run", "chunk_size", "workers", "ray_address", "bundled")


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp train``'s arguments."""
    from ..learn.initializers import INITIALIZERS
    from ..learn.losses import LOSS_CHOICES, TASKS
    from ..learn.optimizers import OPTIMIZERS
    from ..learn.defaults import EPOCHS, EXAMPLE_SETS, KNOWLEDGE_BASES, OPTIMIZER
    from ..learn.trainer import SHUFFLES
    from ..neural.chunked import AUTO_EXAMPLES, CHUNK_SIZE
    from ..neural.compiled import ENGINES

    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Ground TEMPLATE on DATA, train its weights and print the metrics of every split (accuracy, "
                    "error, best-threshold accuracy, majority, AUC-ROC, AUC-PR). Writes the model, per-sample "
                    "predictions and results.json under --out. With a validation split (valExamples.txt) or "
                    "--val-fraction, the weights with the lowest validation error are kept. With fold_* folders "
                    "or --xval K, runs cross-validation instead.")
    add_sources_arguments(p)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=integer(0), default=EPOCHS,
                   help=f"passes over the training samples (default {EPOCHS})")
    t.add_argument("--batch-size", type=integer(0), metavar="N",
                   help=f"samples per update; 1 = online, as the reference; 0 = full batch (default: "
                        f"{EXAMPLE_SETS.batch_size} for example sets, full for a knowledge base, one example with "
                        f"many queries; chosen by measurement, docs/learning.md)")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=OPTIMIZER, help=f"default {OPTIMIZER}")
    t.add_argument("--lr", type=number(0, low_open=True), metavar="RATE",
                   help=f"learning rate (default: adam {EXAMPLE_SETS.lr} for example sets, {KNOWLEDGE_BASES.lr} "
                        f"for a knowledge base; sgd 0.1)")
    t.add_argument("--weight-decay", type=number(0), default=0.0, metavar="L2", help="L2 penalty (default 0)")
    t.add_argument("--lr-decay", type=number(0, 1, low_open=True), metavar="FACTOR",
                   help="multiply the learning rate by FACTOR every --decay-every epochs")
    t.add_argument("--decay-every", type=integer(1), default=100, metavar="EPOCHS", help="default 100")
    t.add_argument("--clip-norm", type=number(0, low_open=True), metavar="NORM",
                   help="rescale longer gradients to this norm")
    t.add_argument("--loss", choices=LOSS_CHOICES,
                   help=f"default {EXAMPLE_SETS.loss} for example sets, {KNOWLEDGE_BASES.loss} for a knowledge base; "
                        "auto infers the loss and output activation as the reference does (classification: "
                        "cross-entropy on the output's logits)")
    t.add_argument("--task", choices=TASKS, help="for --loss auto and the metrics (default: from the targets)")
    t.add_argument("--no-squish", action="store_true",
                   help="with --loss auto: cross-entropy on a sigmoid/softmax output instead of on logits")
    t.add_argument("--init", choices=sorted(INITIALIZERS), default="uniform",
                   help="initializer of weights written by shape (default uniform on (-1, 1))")
    add_profile_argument(t)
    t.add_argument("--engine", choices=ENGINES, default="auto",
                   help="fused: each step one compiled call (numba); numpy: op by op; auto (default): fused when "
                        "its kernels are compiled already (once per machine, ~30 s) or the training repays "
                        "compiling them, and the network uses only what it covers")
    t.add_argument("--seed", type=integer(0), default=0,
                   help="seed of the initial weights and the sample order (default 0)")
    t.add_argument("--shuffle", choices=SHUFFLES, default="batches",
                   help="batches: fixed batches in a new order each epoch (default); samples: new batches each "
                        "epoch; none: data order")
    add_lifting_arguments(p)
    s = p.add_argument_group("model selection and cross-validation")
    s.add_argument("--val-fraction", type=number(0, 1, low_open=True, high_open=True), metavar="F",
                   help="hold out this stratified fraction of the training samples for validation")
    s.add_argument("--patience", type=integer(1), metavar="N", help="stop after N evaluations without improvement")
    s.add_argument("--select", choices=("error", "accuracy"), default="error",
                   help="keep the weights with the lowest error (default) or the highest accuracy")
    s.add_argument("--eval-every", type=integer(1), default=1, metavar="EPOCHS",
                   help="evaluate for selection (default 1)")
    s.add_argument("--last", action="store_true", help="keep the last weights instead of the selected ones")
    s.add_argument("--xval", type=integer(2), metavar="K",
                   help="K-fold stratified cross-validation of the training data")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", default="target/out",
                   help="where to write model.json, predictions/ and results.json (default target/out)")
    o.add_argument("--checkpoint-every", type=integer(1), metavar="N",
                   help="every N epochs (and after the last) write the run so far to checkpoint.json in --out")
    o.add_argument("--resume", metavar="DIR",
                   help="continue the run whose checkpoint is in DIR (same options; --epochs is the total)")
    add_progress_argument(o, piped=True)
    o.add_argument("--log-every", type=integer(1), metavar="EPOCHS",
                   help="when stderr is not a terminal, print a progress line every EPOCHS epochs "
                        "(default: one every few seconds)")
    add_grounding_arguments(o)
    o.add_argument("--chunk-size", type=integer(0), metavar="N",
                   help=f"ground N examples (query lines of a knowledge base) at a time, keeping only the lifted "
                        f"network: memory stays that of one chunk and the lifted network (default: chunks of "
                        f"{CHUNK_SIZE} for more than {AUTO_EXAMPLES:,} examples under structural lifting; 0: all at "
                        f"once; docs/learning.md)")
    r = p.add_argument_group("scale-out (Ray; docs/scale.md)")
    r.add_argument("--workers", type=integer(1), metavar="N",
                   help="ground and train on N workers, each holding a shard of the data (a local Ray runtime "
                        "unless --ray-address); the same model as one process; checkpoints every epoch unless "
                        "--checkpoint-every says otherwise")
    r.add_argument("--ray-address", metavar="ADDR",
                   help="join the Ray cluster at ADDR (host:port, or auto) instead of starting a local runtime "
                        "(default --workers: one per CPU of the cluster)")
    p.set_defaults(run=run)



def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp train``: fit (or cross-validate), print the summary, write model, predictions and results."""
    from ..learn.checkpoint import read_checkpoint
    from ..learn.dataset import DataFiles
    from ..learn.report import written_line

    checkpoint = read_checkpoint(args.resume) if args.resume else None
    with output_folder(args.out, "train", f"continue with --resume {display_path(args.out)}") as folder:
        sources = load_sources(args.template, args.data, args.queries)
        template = read_template(sources.template, args.data, NAME)
        train = DataFiles(sources.train) if sources.train else None  # its files' counts, found once for both
        if train is not None:
            require_queries(train, "train on", f"nlp train {args.template} {args.data} --queries QUERIES")
        _apply_defaults(args, sources, train)
        options = {k: v for k, v in vars(args).items() if k not in UNRECORDED}
        if checkpoint is not None:
            _check_resumable(args, options, checkpoint)
        if sources.folds or args.xval:
            if args.workers or args.ray_address:
                raise NeuralogicError("--workers and --ray-address train a single run, not cross-validation")
            if checkpoint is not None or args.checkpoint_every:
                raise NeuralogicError("--checkpoint-every and --resume are for a single training run, "
                                      "not cross-validation")
            paths = _cross_validate(args, sources, template, folder)
        else:
            paths = _fit(args, sources, template, folder, options, checkpoint)
        folder.commit()
    print(written_line(paths))
    return EXIT_OK


def _apply_defaults(args: argparse.Namespace, sources: Any, train: Any) -> None:
    """Fill in the batch size, learning rate and loss the command line left open, by the kind of data
    (:mod:`neuralogic_py.learn.defaults`; ``train``: the DataFiles of the training split, if there is one,
    else the first fold's are read), and say so on stderr, where progress goes."""
    from ..learn.dataset import DataFiles, Dataset
    from ..learn.defaults import defaults_for

    if args.batch_size is not None and args.loss is not None and (args.lr is not None or args.optimizer != "adam"):
        return
    if train is None:
        split = next((fold.train for fold in sources.folds if fold.train), None)
        train = DataFiles(split) if split else Dataset()
    defaults = defaults_for(train)
    chosen = []
    if args.batch_size is None:
        args.batch_size = defaults.batch_size
        chosen.append(f"batch size {defaults.batch_size}" if defaults.batch_size else "full batch")
    if args.lr is None and args.optimizer == "adam":
        args.lr = defaults.lr
        chosen.append(f"lr {defaults.lr:g}")
    if args.loss is None:
        args.loss = defaults.loss
        chosen.append(f"loss {defaults.loss}")
    if chosen:
        progress.note(f"defaults for {'a' if defaults.kind[0] not in 'aeiou' else 'an'} {defaults.kind}: "
                      f"{', '.join(chosen)}")


def _check_resumable(args: argparse.Namespace, options: dict[str, Any], checkpoint: Any) -> None:
    """The resumed run must be the checkpointed one: the same options (but --epochs, the total)."""
    for key, value in options.items():
        if checkpoint.options.get(key, value) != value:
            raise NeuralogicError(f"--resume {display_path(args.resume)}: the checkpointed run has "
                                  f"--{key.replace('_', '-')} {checkpoint.options[key]}, this one {value}",
                                  hint="give the options of the interrupted run (only --epochs may change)")


def _make_model(args: argparse.Namespace, template: Any) -> Any:
    from ..learn.model import Model
    from ..neural.settings import PROFILES

    model = Model(template, settings=PROFILES[args.profile], loss=args.loss, task=args.task,
                  squish=not args.no_squish, initializer=args.init, seed=args.seed, lifting=lifting(args),
                  engine=args.engine, chunk_size=args.chunk_size)
    if not args.no_progress:
        model.on_stage = _stage_printer()
    return model


def _stage_printer() -> Any:
    """Progress lines on stderr: on a terminal one line rewritten, else a line per tenth of the work."""
    shown = {"": -1}

    def say(line: str) -> None:
        head, _, percent = line.rpartition(": ")
        tenth = int(percent.rstrip("%")) // 10 if percent.rstrip("%").isdigit() else -1
        if sys.stderr.isatty():
            print("\r" + line, end="\n" if tenth == 10 else "", file=sys.stderr, flush=True)
        elif tenth != shown.get(head):
            shown[head] = tenth
            print(line, file=sys.stderr, flush=True)

    return say


def _fit_options(args: argparse.Namespace) -> dict[str, Any]:
    from ..learn.trainer import LOG_SECONDS

    return {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": args.lr,
            "weight_decay": args.weight_decay, "lr_decay": args.lr_decay, "decay_every": args.decay_every,
            "clip_norm": args.clip_norm, "patience": args.patience, "select": args.select,
            "restore_best": not args.last, "shuffle": args.shuffle, "eval_every": args.eval_every,
            "progress": sys.stderr.isatty() and not args.no_progress,
            "log_every": 0 if args.no_progress or sys.stderr.isatty() else args.log_every or LOG_SECONDS,
            "val_fraction": args.val_fraction, "allow_underivable": args.allow_underivable}


def scaled(args: argparse.Namespace) -> bool:
    """Whether the run goes to Ray workers."""
    return bool(args.workers or args.ray_address)


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[Any]:
    """The run's :class:`~neuralogic_py.scale.Cluster` (started), or None without --workers/--ray-address."""
    if not scaled(args):
        yield None
        return
    from ..scale import Cluster

    with Cluster(args.workers, args.ray_address, max_memory=args.max_memory, verbose=not args.no_progress) as cluster:
        yield cluster


def _cross_validate(args: argparse.Namespace, sources: Any, template: Any, folder: Any) -> list[Path]:
    from ..learn import report
    from ..learn.dataset import Dataset, external_folds
    from ..learn.model import cross_validate_folds

    def on_fold(fold: Any) -> None:
        print(report.fold_line(fold), flush=True)

    if sources.folds:
        if args.xval and args.xval != len(sources.folds):
            raise NeuralogicError(f"--xval {args.xval} but {display_path(sources.directory)} has "
                                  f"{counted(len(sources.folds), 'fold_* folder')}")
        cv = cross_validate_folds(external_folds(sources), lambda files: _make_model(
            args, template if files == sources.template else read_template(files)),
                                  keep_predictions=True, on_fold=on_fold, **_fit_options(args))
    else:
        if not sources.train:
            raise NeuralogicError("no training data to cross-validate", hint="give examples (and queries)")
        model = _make_model(args, template)
        cv = model.cross_validate(Dataset.from_split(sources.train), args.xval, keep_predictions=True,
                                  on_fold=on_fold, **_fit_options(args))
    print("\n".join(report.xval_lines(cv)))
    paths = [folder.write("results.json", report.json_text({"command": "train", **cv.as_dict()}))]
    for fold in cv.folds:
        report.write_predictions(folder, {"test": fold.test_predictions}, f"{fold.name.replace(' ', '_')}/predictions")
    return paths + [folder.path / "fold_*" / "predictions" / "test.tsv"]


def _fit(args: argparse.Namespace, sources: Any, template: Any, folder: Any, options: dict[str, Any],
         checkpoint: Any) -> list[Path]:
    """Train one model; returns the files written (staged in ``folder``)."""
    import numpy as np

    from ..learn import report
    from ..learn.checkpoint import CHECKPOINT_FILE, checkpoint_text

    if not sources.train:
        raise NeuralogicError("no training data", hint="give an examples file, or a directory with "
                                                       "trainExamples.txt / examples.txt")
    model = _make_model(args, template)
    fit_options = _fit_options(args)
    if checkpoint is not None:
        if checkpoint.model.get("template") != str(model.template):
            raise NeuralogicError(f"--resume {display_path(args.resume)}: the checkpointed run has another template")
        model.load_parameters(checkpoint.parameters())
        fit_options["resume"] = (checkpoint.run, checkpoint.optimizer)
    if args.checkpoint_every or scaled(args):
        every = args.checkpoint_every or 1

        def write_checkpoint(state: Any, optimizer: Any) -> None:
            if state.epochs % every == 0 or state.epochs == args.epochs or state.history.stopped_early:
                folder.write_live(CHECKPOINT_FILE, checkpoint_text(model, options, state, optimizer))
        fit_options["checkpoint"] = write_checkpoint

    def data_line(samples: int, held_out: int, data: str) -> None:  # before training, as the summary's first line
        held = f", {held_out} of them held out for validation" if held_out else ""
        print(f"data: {counted(samples + held_out, 'training sample')}{held} ({data})", flush=True)

    with _cluster(args) as cluster:
        # on workers the data goes by path: they read it themselves
        data = (lambda split: split) if cluster is not None else model.data
        train_data = data(sources.train)
        val_data = data(sources.val) if sources.val else None
        result = model.fit(train_data, val_data, cluster=cluster, on_start=data_line, **fit_options)
        evaluations = {"train": result.train}
        if result.val is not None:
            evaluations["val"] = result.val
        predictions = {"train": model.predict(train_data, cluster=cluster)}
        if result.held_out is not None:
            everything = predictions["train"]
            predictions["train"] = everything.take(np.setdiff1d(np.arange(len(everything)), result.held_out))
            predictions["val"] = everything.take(result.held_out)
        elif val_data is not None:
            predictions["val"] = model.predict(val_data, cluster=cluster)
        if sources.test:
            test_data = data(sources.test)
            evaluations["test"] = model.evaluate(test_data, allow_underivable=args.allow_underivable,
                                                 cluster=cluster)
            predictions["test"] = model.predict(test_data, cluster=cluster)
        compression = model.build(train_data, cluster=cluster)[1].compression
    print("\n".join(report.fit_lines(model, result, result.seconds_build)))
    print("\n".join(compression.lines()))
    print("\n".join(report.split_line(role, e) for role, e in evaluations.items()))
    paths = [folder.write("model.json", model.to_text()), *report.write_predictions(folder, predictions)]
    paths.append(folder.write("results.json", report.json_text({
        "command": "train", "model": model.to_json()["training"], **result.as_dict(),
        "compression": compression.as_dict(), "evaluations": {role: e.as_dict() for role, e in evaluations.items()}})))
    paths.append(folder.write("history.csv", report.history_csv(result.history)))
    return paths + [folder.path / name for name in folder.live]
