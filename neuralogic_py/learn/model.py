"""The :class:`Model`: a template with its weights; fit, predict, evaluate, save, load.

::

    model = Model("templates/xor_vector.rules", seed=0)
    result = model.fit("datasets/xor_vector", epochs=300, optimizer="adam", lr=0.01)
    print(result.train.line())                 # accuracy: 100%, ...
    model.save("xor.model.json")
    again = Model.load("xor.model.json")
    again.predict("datasets/xor_vector").outputs

The template is a file, an :class:`ir.Template`, or a DSL
:class:`~neuralogic_py.language.dsl.TemplateBuilder`. Data (``train``, ``data``) is a
:class:`~.dataset.Dataset`, a path: an examples file (then ``queries=`` may name its
queries file) or a sources directory (its training split), or a list of examples (and
query lines), such as DSL ``Example(...)`` objects. Grounding and compiling happen once per dataset object and are
cached (up to a few datasets).

Randomness. ``seed`` seeds two independent generators: one draws the initial
weights (in parameter order, see :mod:`neuralogic_py.neural.parameters`), the other
orders the training samples. The same seed, template and data give the same run.

Loss and output function. ``loss`` names a loss of :mod:`.losses` (default
``mse``); the template's functions are used as written. ``loss="auto"`` applies the
reference's inference from the training targets (classification: the output atoms'
activation becomes identity and the loss a cross-entropy on logits; see
:func:`.losses.infer_output`). Whatever was chosen is saved with the model.

Knowledge bases (every sample in one example) also get ``MRR`` and ``hits@1/3/10`` in
:attr:`Evaluation.extra`: each positive query ranked among the negative queries that
differ from it in one argument (:func:`.metrics.ranks`).

Saved models. :meth:`Model.save` writes one JSON file holding the template text
(imports expanded, printed from the IR, so it re-parses to the same template), the
neuron settings, the loss, and every parameter by name with its shape, whether it is
fixed, and its value (exact: JSON floats are written with enough digits to read back
bit for bit). :meth:`Model.load` needs nothing else. No pickle.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import NeuralogicError, ValidationError, display_path
from ..language import ir
from ..language.dsl import TemplateBuilder
from ..language.parser import load_template, parse_template
from ..language.sources import Split
from ..neural import REFERENCE, CompiledNetwork, LiftingSettings, NeuralSettings, Parameter, ParameterStore, build
from ..language.chunks import by_queries, chunks_of
from ..language.pairing import infer_pairing
from ..neural.chunked import build_chunked, chunk_size
from ..neural.compiled import ENGINES
from ..neural.parameters import block_to_json, json_to_block
from ..neural.predict import finite_outputs
from ..output import write_atomic
from .dataset import DataFiles, DataLike, Dataset, Fold, items_dataset
from .initializers import DEFAULT_INITIALIZER, make_initializer
from .losses import Loss, OutputSetup, make_loss, resolve_loss
from .metrics import Evaluation, ranks
from .model_file import MODEL_FORMAT, MODEL_VERSION, read_model_file
from .optimizers import GeometricDecay, Optimizer, make_optimizer
from .splits import sample_classes, stratified_folds, stratified_holdout
from .trainer import History, RunState, Scorer, TrainingConfig, train

if TYPE_CHECKING:
    from ..scale import Cluster

CACHED_DATASETS = 4
HITS_AT = (1, 3, 10)  # hits@k reported for knowledge bases


@dataclass
class Predictions:
    """Outputs of every sample, in sample order (query order; a non-ground query gives one per match)."""

    ids: list[str]
    queries: list[str]
    targets: np.ndarray  # (n, rows, cols); NaN where a query has no target
    outputs: np.ndarray  # raw outputs of the output neurons
    scores: np.ndarray  # what the metrics compare: outputs, or their sigmoid/softmax for losses on logits

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Any]]:
        return [{"id": i, "query": q, "target": _json_block(t), "output": block_to_json(o), "score": block_to_json(s)}
                for i, q, t, o, s in zip(self.ids, self.queries, self.targets, self.outputs, self.scores)]

    def tsv(self) -> str:
        """One line per sample: id, query, target, output, score (vectors as JSON lists), under a header."""
        lines = ["id\tquery\ttarget\toutput\tscore"]
        for row in self.rows():
            lines.append("\t".join([row["id"], row["query"], *(_cell(row[k]) for k in ("target", "output", "score"))]))
        return "\n".join(lines) + "\n"

    def write_tsv(self, path: str | Path) -> None:
        """:meth:`tsv` written to ``path`` (atomically)."""
        write_atomic(path, self.tsv())

    def take(self, samples: np.ndarray) -> Predictions:
        """The predictions of some samples (indices into these), in that order."""
        pick = np.asarray(samples, dtype=np.int64)
        return Predictions([self.ids[i] for i in pick.tolist()], [self.queries[i] for i in pick.tolist()],
                           self.targets[pick], self.outputs[pick], self.scores[pick])

    def outputs_json(self) -> dict[str, list]:
        """``{"outputs": [...]}`` in query order, the conformance ``expected.json`` shape."""
        return {"outputs": [block_to_json(o) for o in self.outputs]}


def _json_block(block: np.ndarray) -> Any:
    return None if np.isnan(block).all() else block_to_json(block)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else json.dumps(value)


@dataclass
class FitResult:
    """A training run: its history and the metrics of the kept weights."""

    history: History
    train: Evaluation
    val: Evaluation | None = None
    seconds_build: float = 0.0  # grounding, neuralizing and compiling the data
    held_out: np.ndarray | None = None  # samples of the training data held out for validation (val_fraction)

    def as_dict(self) -> dict[str, Any]:
        return {"history": self.history.as_dict(), "train": self.train.as_dict(),
                "val": self.val.as_dict() if self.val else None, "seconds_build": self.seconds_build}


@dataclass
class FoldResult:
    name: str
    fit: FitResult
    test: Evaluation
    test_predictions: Predictions | None = None


@dataclass
class CrossValidation:
    """Per-fold results and their mean and standard deviation."""

    folds: list[FoldResult] = field(default_factory=list)

    def summary(self, metric: str = "accuracy") -> dict[str, tuple[float, float]]:
        """``{"train": (mean, std), "test": (mean, std)}`` of one metric over the folds (NaNs ignored)."""
        out = {}
        for split in ("train", "test"):
            values = [getattr(f.fit.train if split == "train" else f.test, metric) for f in self.folds]
            values = [v for v in values if not math.isnan(v)]
            out[split] = (float(np.mean(values)), float(np.std(values))) if values else (math.nan, math.nan)
        return out

    def as_dict(self) -> dict[str, Any]:
        metrics = ("accuracy", "best_accuracy", "auc_roc", "auc_pr", "error", "majority")
        return {"folds": [{"name": f.name, **f.fit.as_dict(), "test": f.test.as_dict()} for f in self.folds],
                "summary": {m: {k: list(v) for k, v in self.summary(m).items()} for m in metrics}}


@dataclass
class FitOptions:
    """How to train: the optimizer (:mod:`.optimizers`) and the loop (:class:`.trainer.TrainingConfig`).

    ``lr=None`` takes the optimizer's default (Adam 0.001, SGD 0.1); ``lr_decay``
    multiplies the learning rate by that factor every ``decay_every`` epochs.
    """

    epochs: int = 100
    batch_size: int = 1
    optimizer: str | Optimizer = "adam"
    lr: float | None = None
    weight_decay: float = 0.0
    lr_decay: float | None = None
    decay_every: int = 100
    clip_norm: float | None = None
    patience: int | None = None
    select: str = "error"
    restore_best: bool = True
    shuffle: str = "batches"
    eval_every: int = 1
    progress: bool = False
    log_every: int = 0
    on_epoch: Callable[[int, History], None] | None = None  # called after every epoch (epochs done, history)
    # called before the first epoch with the samples trained on, those held out and the data described
    on_start: Callable[[int, int, str], None] | None = None
    # checkpoints (a single run, not cross-validation): called after every epoch with the run's state and optimizer
    checkpoint: Callable[[RunState, Optimizer], None] | None = None
    resume: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None  # (RunState.as_dict(), optimizer.state_dict())

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer (no moments, step count 0) unless one was given."""
        if isinstance(self.optimizer, Optimizer):
            return self.optimizer
        schedule = GeometricDecay(self.lr_decay, self.decay_every) if self.lr_decay else None
        return make_optimizer(self.optimizer, self.lr, weight_decay=self.weight_decay, clip_norm=self.clip_norm,
                              schedule=schedule)

    def single_run(self) -> None:
        """Refuse what only a single training run can do (checkpoints, resuming) in cross-validation."""
        if self.checkpoint is not None or self.resume is not None:
            raise NeuralogicError("checkpoints and resuming are for a single training run, not cross-validation")

    def config(self) -> TrainingConfig:
        return TrainingConfig(epochs=self.epochs, batch_size=self.batch_size, shuffle=self.shuffle,
                              eval_every=self.eval_every, select=self.select, restore_best=self.restore_best,
                              patience=self.patience, progress=self.progress,
                              log_every=self.log_every)

    def describe(self) -> dict[str, Any]:
        return {"optimizer": self.make_optimizer().describe(), "epochs": self.epochs, "batch_size": self.batch_size,
                "patience": self.patience, "select": self.select, "shuffle": self.shuffle}


class Model:
    """A template and its named weights (see the module docstring)."""

    def __init__(self, template: ir.Template | TemplateBuilder | str | Path, *, settings: NeuralSettings = REFERENCE,
                 loss: str | Loss = "mse", task: str | None = None, squish: bool = True,
                 initializer: str = DEFAULT_INITIALIZER, seed: int = 0,
                 lifting: str | LiftingSettings = "structural", engine: str = "auto",
                 chunk_size: int | None = None) -> None:
        if engine not in ENGINES:
            raise NeuralogicError(f"unknown engine {engine!r}", hint=f"choose one of {', '.join(ENGINES)}")
        if isinstance(template, TemplateBuilder):
            template = template.to_ir()
        elif not isinstance(template, (ir.Template, str, Path)):
            raise NeuralogicError(f"a model's template is a file, an ir.Template or a TemplateBuilder, got "
                                  f"{type(template).__name__}", hint="Model.from_text(...) reads template text")
        self.template = template if isinstance(template, ir.Template) else load_template(template)
        self.source = None if isinstance(template, ir.Template) else display_path(template)
        self.settings = settings
        self.loss_spec = loss
        self.task = task
        self.squish = squish
        self.initializer = initializer
        self.seed = seed
        self.lifting = lifting  # how networks are lifted before compiling (neuralogic_py.neural.compression)
        self.engine = engine  # which engine trains and evaluates (neuralogic_py.neural.compiled)
        if chunk_size is not None and chunk_size < 0:
            raise NeuralogicError(f"chunk size must be 0 (no chunks) or more, got {chunk_size}")
        self.chunk_size = chunk_size  # examples grounded at a time (None: automatic; 0: all at once)
        self.on_stage: Callable[[str], None] | None = None  # told of each chunk grounded (a line of progress)
        init_seed, order_seed = np.random.SeedSequence(seed).spawn(2)
        self.store = ParameterStore.from_template(self.template, make_initializer(initializer),
                                                  rng=np.random.default_rng(init_seed))
        self.order_rng = np.random.default_rng(order_seed)
        self.output: OutputSetup | None = None  # the loss and output activation, once fixed
        self.training: dict[str, Any] = {}  # how the weights were trained, saved with the model
        self._built: list[tuple[Dataset, CompiledNetwork]] = []

    @classmethod
    def from_text(cls, text: str, **options: Any) -> Model:
        return cls(parse_template(text), **options)

    # -- parameters

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter by name (copies; fixed ones included). Names: :mod:`neuralogic_py.neural.parameters`."""
        return {name: value.copy() for name, value in self.store.values.items()}

    def load_parameters(self, values: Mapping[str, Any] | str | Path, *, strict: bool = True) -> None:
        """Set parameters by name, from a mapping or a ``weights.json`` file (conformance conventions)."""
        if isinstance(values, (str, Path)):
            self.store.load_json(values, strict=strict)
        else:
            self.store.load(values, strict=strict)

    def reset_parameters(self, rng: np.random.Generator | None = None) -> None:
        """Written values back, shape-only weights drawn again (from ``rng`` or the model's generator)."""
        self.store.reset(rng)

    # -- building

    @property
    def loss(self) -> Loss:
        if self.output is None:
            raise NeuralogicError("the model has no loss yet: fit it, or load a saved model")
        return self.output.loss

    def _fix_output(self, data: Dataset) -> None:
        """Choose the loss and output activation from the training targets (once)."""
        if self.output is not None:
            return
        targets = data.targets()
        setup = resolve_loss(self.loss_spec, targets, _output_activation(self.template, data, self.settings),
                             task=self.task, squish=self.squish)
        self.output = setup
        if setup.output_activation is not None and setup.output_activation != self.settings.output_activation:
            self.settings = self.settings.with_output_activation(setup.output_activation)
            self._built.clear()

    def data(self, data: DataLike | Split, queries: str | Path | None = None) -> Dataset | DataFiles:
        """``data`` as given, or the files a path (or a split) names: to read chunk by chunk when this model
        grounds them in chunks (``chunk_size``, automatic by the number of examples), else read whole."""
        if isinstance(data, (Dataset, DataFiles)):
            return data
        if not isinstance(data, (str, Path, Split)):
            return items_dataset(data, queries)  # examples and query lines built in Python
        files = DataFiles(data) if isinstance(data, Split) else DataFiles.load(data, queries)
        return files if self._chunk_size(files) > 0 else files.read()  # (its counts kept when streamed)

    def _chunk_size(self, data: Dataset | DataFiles) -> int:
        examples = data.examples if isinstance(data, DataFiles) else len(data.examples)
        return chunk_size(examples, self.chunk_size, self.lifting)

    def build(self, data: DataLike, *, queries: str | Path | None = None, allow_underivable: bool = False,
              cluster: Cluster | None = None) -> tuple[Dataset | DataFiles, CompiledNetwork]:
        """Ground and compile ``data`` with this model's weights (cached per dataset object).

        On a ``cluster`` (:mod:`neuralogic_py.scale`) the workers read ``data`` (paths) and
        keep the shards' networks; the network returned trains and evaluates through them.
        """
        if cluster is not None:
            return self._build_sharded(data, queries, allow_underivable, cluster)
        dataset = self.data(data, queries)
        for seen, compiled in self._built:
            if seen is dataset:
                return dataset, compiled
        size = self._chunk_size(dataset)
        if size:
            compiled = self._build_chunked(dataset, size, allow_underivable)
        else:
            whole = dataset.read() if isinstance(dataset, DataFiles) else dataset
            compiled = build(self.template, whole.examples, whole.query_lines, settings=self.settings,
                             store=self.store, allow_underivable=allow_underivable,
                             examples_file=whole.examples_file, queries_file=whole.queries_file,
                             lifting=self.lifting)
        compiled.engine = self.engine
        self._built.append((dataset, compiled))
        del self._built[:-CACHED_DATASETS]
        return dataset, compiled

    def _build_sharded(self, data: Any, queries: str | Path | None, allow_underivable: bool,
                       cluster: Cluster) -> tuple[Any, Any]:
        from ..scale import BuildSpec, ShardedData, data_split

        if isinstance(data, Dataset):
            raise NeuralogicError("on several workers the data is given by its files (the workers read them), "
                                  "not as a loaded Dataset", hint="pass the path of the examples file or folder")
        split = data.split if isinstance(data, (ShardedData, DataFiles)) else data_split(data, queries)
        for seen, compiled in self._built:
            if isinstance(seen, ShardedData) and seen.split == split and getattr(compiled, "cluster", None) is cluster:
                return seen, compiled
        dataset = data if isinstance(data, ShardedData) else cluster.load(split)
        self._fix_output(dataset)
        network = cluster.build(dataset, BuildSpec(self.template, self.settings, self.store, self.lifting,
                                                   self.engine, allow_underivable, self.chunk_size))
        for added in network.added:  # parameters grounding created (@embed facts): drawn here, in shard order
            for name, parameter in added.items():
                if name not in self.store:
                    self.store.add(parameter)
        self._built.append((dataset, network))
        del self._built[:-CACHED_DATASETS]
        return dataset, network

    def _build_chunked(self, dataset: Dataset | DataFiles, size: int, allow_underivable: bool) -> CompiledNetwork:
        """:meth:`build` chunk by chunk (:mod:`neuralogic_py.neural.chunked`), telling ``on_stage`` of each chunk."""
        if isinstance(dataset, DataFiles):
            chunks, lines = dataset.chunks(size), dataset.queried_by_lines
            total = dataset.query_lines if lines else dataset.examples
        else:
            pairing = infer_pairing(dataset.examples, dataset.query_lines, examples_file=dataset.examples_file,
                                    queries_file=dataset.queries_file)
            chunks, lines = chunks_of(dataset.examples, dataset.query_lines, pairing, size), by_queries(pairing)
            total = pairing.query_lines if lines else pairing.examples
        what = "query lines" if lines else "examples"
        say = self.on_stage

        def on_chunk(done: int, seen: int) -> None:
            if say is not None:
                say(f"grounding {total} {what} in chunks of {size}: {100 * seen // max(total, 1)}%")

        on_chunk(0, 0)  # the stage starts
        return build_chunked(self.template, chunks, settings=self.settings, store=self.store,
                             allow_underivable=allow_underivable, lifting=self.lifting,
                             examples_file=dataset.examples_file, queries_file=dataset.queries_file,
                             on_chunk=on_chunk)

    def _scorer(self, compiled: CompiledNetwork, *, need_targets: bool, what: str) -> Scorer:
        targets = compiled.targets()
        if need_targets:
            missing = [s for s, t in zip(compiled.samples, targets) if np.isnan(t).any()]
            if missing:
                raise ValidationError(f"{len(missing)} of the {what} queries {'has' if len(missing) == 1 else 'have'} "
                                      f"no target value, e.g. "
                                      f"{missing[0].ground}", missing[0].request.query.span,
                                      "write the target before the query: 1.0 predict.")
        importance = [s.request.importance for s in compiled.samples]
        weights = None if all(w is None for w in importance) else \
            np.array([1.0 if w is None else w for w in importance])
        classification = self.output.task == "classification" if self.output else True
        return Scorer(compiled, self.loss, targets, classification, weights)

    # -- training

    def fit(self, train_data: DataLike, val_data: DataLike | None = None, *, queries: str | Path | None = None,
            val_fraction: float | None = None, allow_underivable: bool = False, workers: int | None = None,
            cluster: Cluster | None = None, **options: Any) -> FitResult:
        """Train on ``train_data``, continuing from the current weights; ``options`` are :class:`FitOptions`.

        ``val_data``, or ``val_fraction`` (a stratified hold-out of the training
        samples), is the validation set that selects the kept weights. ``workers=N``
        trains on N workers of a local Ray runtime started for this call, ``cluster``
        on the workers of a :class:`~neuralogic_py.scale.Cluster` (data then given by
        path; the same model as in one process: :mod:`neuralogic_py.scale`).
        """
        fit_options = FitOptions(**options)
        if workers is None and cluster is None:
            return self._fit(train_data, val_data, queries, val_fraction, allow_underivable, fit_options, None)
        from ..scale import sharding

        with sharding(workers, cluster, fit_options.progress or bool(fit_options.log_every)) as (on, own):
            try:
                return self._fit(train_data, val_data, queries, val_fraction, allow_underivable, fit_options, on)
            finally:
                if own:  # its networks end with it
                    self._built = [(d, c) for d, c in self._built if getattr(c, "cluster", None) is not on]

    def _fit(self, train_data: DataLike, val_data: DataLike | None, queries: str | Path | None,
             val_fraction: float | None, allow_underivable: bool, fit_options: FitOptions,
             cluster: Cluster | None) -> FitResult:
        started = time.perf_counter()
        if cluster is None:
            dataset = self.data(train_data, queries)
            self._fix_output(dataset)
        else:
            dataset = train_data
        dataset, compiled = self.build(dataset, queries=queries, allow_underivable=allow_underivable,
                                       cluster=cluster)
        scorer = self._scorer(compiled, need_targets=True, what="training")
        samples = np.arange(len(compiled.samples))
        validation = None
        if val_data is not None:
            _, val_compiled = self.build(val_data, allow_underivable=allow_underivable, cluster=cluster)
            validation = (self._scorer(val_compiled, need_targets=True, what="validation"),
                          np.arange(len(val_compiled.samples)))
        elif val_fraction:
            samples, held = stratified_holdout(self._classes(scorer), val_fraction, self.order_rng)
            validation = (scorer, held)
        seconds_build = time.perf_counter() - started
        if fit_options.on_start is not None:
            fit_options.on_start(len(samples), len(validation[1]) if val_fraction and validation else 0,
                                 dataset.describe())
        result = self._fit_samples(scorer, samples, validation, fit_options)
        result.seconds_build = seconds_build
        if cluster is not None:
            result.history.engine = f"Ray ({cluster.workers} workers)"
        if val_data is None and validation is not None:
            result.held_out = validation[1]
        self.training = {**fit_options.describe(), "epochs_run": result.history.epochs, "seed": self.seed,
                         "initializer": self.initializer, "data": dataset.describe()}
        return result

    def _classes(self, scorer: Scorer) -> np.ndarray:
        return sample_classes(scorer.targets) if scorer.classification else np.zeros(len(scorer.targets), np.int64)

    def _fit_samples(self, scorer: Scorer, samples: np.ndarray, validation: tuple[Scorer, np.ndarray] | None,
                     options: FitOptions) -> FitResult:
        params = self.store.learnable()
        optimizer, config, resume = options.make_optimizer(), options.config(), None
        if options.resume is not None:
            run, optimizer_state = options.resume
            resume = RunState.from_dict(run, config)
            optimizer.load_state_dict(optimizer_state)
        checkpoint = options.checkpoint
        history = train(scorer, params, optimizer, samples, config, self.order_rng, validation, options.on_epoch,
                        resume=resume, on_state=None if checkpoint is None else lambda s: checkpoint(s, optimizer))
        train_eval = self._evaluate_samples(scorer, samples)
        val_eval = self._evaluate_samples(*validation) if validation is not None else None
        return FitResult(history, train_eval, val_eval)

    def _evaluate_samples(self, scorer: Scorer, samples: np.ndarray) -> Evaluation:
        return self._evaluate(scorer, samples)[0]

    def _evaluate(self, scorer: Scorer, samples: np.ndarray) -> tuple[Evaluation, np.ndarray]:
        """Metrics and raw outputs of ``samples``; for a knowledge base also MRR and hits@k."""
        evaluation, outputs = scorer.evaluate(self.store.values, samples)
        finite_outputs(scorer.net, outputs, self.store.values, samples)
        chosen = [scorer.net.samples[i] for i in np.asarray(samples).tolist()]
        if evaluation.kind == "binary" and len(chosen) > 1 and len({s.example for s in chosen}) == 1:
            queries = [(s.ground.predicate, *(str(t) for t in s.ground.terms)) for s in chosen]
            ranking = ranks(queries, scorer.loss.predictions(outputs), scorer.targets[samples])
            if len(ranking.ranks):
                evaluation.extra.update({"MRR": ranking.mrr, **{f"hits@{k}": ranking.hits(k) for k in HITS_AT}})
        return evaluation, outputs

    def cross_validate(self, data: DataLike, folds: int = 10, *,
                       queries: str | Path | None = None, val_fraction: float | None = None,
                       allow_underivable: bool = False, keep_predictions: bool = False,
                       on_fold: Callable[[FoldResult], None] | None = None, **options: Any) -> CrossValidation:
        """k-fold cross-validation: train from fresh weights on k-1 folds, test on the k-th.

        ``data`` is grounded once and split into ``folds`` stratified folds
        (:func:`.splits.stratified_folds`). Before each fold the weights are reset
        (written values back, shape-only weights drawn anew from the model's
        generator). ``options`` are :class:`FitOptions`; ``val_fraction`` holds out a
        stratified part of each fold's training samples for model selection;
        ``on_fold(result)`` is called after each fold. The model keeps the last fold's
        weights. External ``fold_*`` folders: :func:`cross_validate_folds`.
        """
        fit_options = FitOptions(**options)
        fit_options.single_run()
        result = CrossValidation()
        dataset = self.data(data, queries)
        self._fix_output(dataset)
        dataset, compiled = self.build(dataset, allow_underivable=allow_underivable)
        scorer = self._scorer(compiled, need_targets=True, what="training")
        parts = stratified_folds(self._classes(scorer), folds, self.order_rng)
        for k, test in enumerate(parts):
            self.reset_parameters()
            train_samples = np.setdiff1d(np.arange(len(scorer.targets)), test)
            validation = None
            if val_fraction:
                keep, held = stratified_holdout(self._classes(scorer)[train_samples], val_fraction,
                                                self.order_rng)
                train_samples, validation = train_samples[keep], (scorer, train_samples[held])
            fit = self._fit_samples(scorer, train_samples, validation, fit_options)
            evaluation, outputs = self._evaluate(scorer, test)
            fold = FoldResult(f"fold {k + 1}", fit, evaluation,
                              self._predictions(compiled, test, outputs) if keep_predictions else None)
            result.folds.append(fold)
            if on_fold is not None:
                on_fold(fold)
        return result

    # -- using the model

    def predict(self, data: DataLike, *, queries: str | Path | None = None, allow_underivable: bool = False,
                cluster: Cluster | None = None) -> Predictions:
        """Every sample's output with the current weights (computed by the workers of ``cluster`` when given)."""
        _, compiled = self.build(data, queries=queries, allow_underivable=allow_underivable, cluster=cluster)
        outputs = finite_outputs(compiled, compiled.forward(self.store.values), self.store.values)
        return self._predictions(compiled, np.arange(len(compiled.samples)), outputs)

    def _predictions(self, compiled: CompiledNetwork, samples: np.ndarray, outputs: np.ndarray) -> Predictions:
        chosen = [compiled.samples[i] for i in samples.tolist()]
        loss = self.output.loss if self.output else None
        return Predictions([s.id for s in chosen], [str(s.ground) for s in chosen], compiled.targets()[samples],
                           outputs, loss.predictions(outputs) if loss else outputs)

    def evaluate(self, data: DataLike, *, queries: str | Path | None = None, allow_underivable: bool = False,
                 cluster: Cluster | None = None) -> Evaluation:
        """Error and metrics of ``data`` (every query needs a target; computed by the workers of ``cluster``
        when given)."""
        if cluster is None:
            data = self.data(data, queries)
            self._fix_output(data)
        _, compiled = self.build(data, queries=queries, allow_underivable=allow_underivable, cluster=cluster)
        scorer = self._scorer(compiled, need_targets=True, what="evaluated")
        return self._evaluate(scorer, np.arange(len(compiled.samples)))[0]

    # -- saving

    def to_json(self) -> dict[str, Any]:
        parameters = {name: {"shape": list(p.shape), "fixed": p.fixed, "role": p.role,
                             "value": block_to_json(self.store.values[name])}
                      for name, p in self.store.parameters.items()}
        output = self.output
        return {
            "format": MODEL_FORMAT, "version": MODEL_VERSION,
            "template": str(self.template),
            "settings": dataclasses.asdict(self.settings),
            "loss": output.loss.name if output else (self.loss_spec if isinstance(self.loss_spec, str)
                                                     else self.loss_spec.name),
            "task": output.task if output else self.task,
            "seed": self.seed, "initializer": self.initializer,
            "training": self.training,
            "parameters": parameters,
        }

    def to_text(self) -> str:
        """The model file's text: :meth:`to_json`, one line per parameter."""
        return _model_text(self.to_json())

    def save(self, path: str | Path) -> Path:
        """Write the model as one JSON file (see the module docstring), atomically; returns the path."""
        path = Path(path)
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, self.to_text())

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """A model saved by :meth:`save`."""
        data = read_model_file(path)
        where = display_path(path)
        try:
            settings = NeuralSettings(**data["settings"])
            model = cls(parse_template(data["template"], file=f"{where} (template)"), settings=settings,
                        loss=data["loss"], task=data.get("task"), initializer=data.get("initializer", "uniform"),
                        seed=int(data.get("seed", 0)))
            if data["loss"] != "auto":  # "auto" was never resolved: the model was saved before training
                model.output = OutputSetup(make_loss(data["loss"]), settings.output_activation,
                                           data.get("task") or "regression")
            model.training = data.get("training", {})
            for name, entry in data["parameters"].items():
                if name not in model.store:
                    model.store.add(Parameter(name, tuple(entry["shape"]), bool(entry.get("fixed", False)),
                                              None, entry.get("role", "embedding")))
                value = json_to_block(entry["value"], model.store.parameters[name].shape, name)
                model.store.values[name][...] = value
        except (KeyError, TypeError, ValueError) as e:
            raise ValidationError(f"{where} is not a valid saved model: {e!r}") from None
        return model


def cross_validate_folds(folds: Sequence[Fold], make_model: Callable[[tuple[Path, ...]], Model], *,
                         val_fraction: float | None = None, allow_underivable: bool = False,
                         keep_predictions: bool = False, on_fold: Callable[[FoldResult], None] | None = None,
                         **options: Any) -> CrossValidation:
    """Cross-validation over external folds (:func:`.dataset.external_folds`).

    Each fold gets a fresh model from ``make_model(template_files)`` (same seed, so the
    same initial weights when folds share a template), trained on the fold's training
    data and tested on its test data. ``options`` are :class:`FitOptions`.
    """
    FitOptions(**options).single_run()
    result = CrossValidation()
    for fold in folds:
        model = make_model(fold.template)
        fit = model.fit(fold.train, val_fraction=val_fraction, allow_underivable=allow_underivable, **options)
        test = model.evaluate(fold.test, allow_underivable=allow_underivable)
        done = FoldResult(fold.name, fit, test,
                          model.predict(fold.test, allow_underivable=allow_underivable) if keep_predictions else None)
        result.folds.append(done)
        if on_fold is not None:
            on_fold(done)
    return result


def _model_text(data: dict[str, Any]) -> str:
    """The model's JSON, readable: one line per parameter, the rest indented."""
    head = json.dumps({k: v for k, v in data.items() if k != "parameters"}, indent=1)
    entries = [f" {json.dumps(name)}: {json.dumps(entry)}" for name, entry in data["parameters"].items()]
    body = ",\n".join(entries)
    return head[:-2] + ',\n "parameters": {\n' + body + "\n }\n}\n"


def _output_activation(template: ir.Template, data: Dataset, settings: NeuralSettings) -> str:
    """The activation of the queried predicates' atom neurons as the template sets it."""
    wanted = data.query_predicates()
    found = None
    for s in template.predicate_metadata:
        if (s.predicate.name, s.predicate.arity) in wanted and s.metadata.activation:
            found = s.metadata.activation
    return found or settings.atom_activation
