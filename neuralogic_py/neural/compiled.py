"""A network ready to run: its schedule, plans per set of samples, and the training interface.

``compile_network(network)`` schedules the network once (:mod:`.schedule`);
``compiled.plan(samples)`` materializes the plan of some samples (:mod:`.plan`),
cached per sample set (least recently used first out, within ``cache_bytes`` of index
arrays in all, counted as :attr:`~.plan.Plan.nbytes` once a plan has run and built its
cached sums), so online training (batches of one sample) and fixed mini-batches
compile each batch once, and new random batches every epoch hold a bounded memory.

The methods ``forward``, ``value_and_grad``, ``fused_trainer`` and
``explain_nonfinite`` are the interface :mod:`neuralogic_py.learn.trainer` trains
through; ``params`` there are the values to use by name (usually the learnable ones;
the network's :class:`~.parameters.ParameterStore` supplies the rest).

Engines (``engine``): ``numpy`` runs plans op by op on the tape (:mod:`.plan`, the
specification); ``fused`` runs forward, backward and the optimizer update of a
batch in one compiled call (:mod:`.program`, :mod:`neuralogic_py.engine.fused`),
whose fixed cost per step is a few microseconds instead of half a millisecond;
``auto`` (the default) takes ``fused`` when numba is installed, the network uses
only what the fused engine covers, the training is long enough on numpy to repay
loading the compiled kernels (:data:`LOAD_SECONDS`) or, the first time on a machine,
compiling them (:data:`COMPILE_SECONDS`; they are then kept per user,
:mod:`neuralogic_py.engine.jit`), and, measured on a few of the training's batches
(:meth:`CompiledNetwork.numpy_step_seconds` on the first, to see whether the numpy steps of
the whole training take longer than loading the kernels; then
:meth:`CompiledNetwork.step_seconds`, both engines in turn on each), a fused step is faster
than a numpy step (with a plan made per batch when batches are new every epoch,
else once). Wide values over a big lifted network can make numpy's
batched matrix products the faster ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import time

import numpy as np

from .. import progress
from ..errors import ValidationError
from .compression import CompressionReport
from .network import INDEX, Network
from .parameters import ParameterStore, block_value
from .plan import Plan, materialize
from .program import FusedTrainer, Program, unsupported
from .schedule import Schedule

CACHE_BYTES = 256 * 2**20  # index arrays of all cached plans together
ENGINES = ("auto", "fused", "numpy")
COMPILE_SECONDS = 30.0  # what compiling the fused kernels costs once per machine, with a margin
LOAD_SECONDS = 1.0  # what importing numba and loading the compiled kernels costs a process
NUMPY_STEP_SECONDS = 5e-4  # the numpy engine's fixed cost of one optimizer step (benchmarks/README.md)
NUMPY_ROW_SECONDS = 2e-6  # and its cost per computed row and step
PROBE_BATCHES = 4  # batches timed to choose the engine (the fused kernels loaded on the last)


class CompiledNetwork:
    """A :class:`~.network.Network` with its :class:`~.schedule.Schedule` and cached plans."""

    def __init__(self, network: Network, cache_bytes: int = CACHE_BYTES, engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ValidationError(f"unknown engine {engine!r}", hint=f"choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._program: Program | None = None
        self.network = network
        self.schedule = Schedule(network)
        self.cache_bytes = cache_bytes
        self._plans: OrderedDict[tuple | None, Plan] = OrderedDict()
        self._bytes: dict[tuple | None, int] = {}  # each cached plan's nbytes when last counted
        self._ran: set[tuple | None] = set()  # plans returned since their nbytes was last counted
        self.compression: CompressionReport | None = None  # set by build(): pruning and lifting figures

    @property
    def store(self) -> ParameterStore:
        return self.network.store

    @property
    def samples(self) -> list:
        return self.network.samples

    def plan(self, samples: np.ndarray | None = None) -> Plan:
        """The plan of ``samples`` (indices into ``network.samples``; None: all of them)."""
        key = None if samples is None else tuple(np.asarray(samples, dtype=INDEX).tolist())
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            self._ran.add(key)
            return plan
        # only a new plan can push others out: first count what the plans returned since have built by running
        for ran in self._ran:
            self._bytes[ran] = self._plans[ran].nbytes
        plan = materialize(self.schedule, samples)
        self._plans[key] = plan
        self._bytes[key] = plan.nbytes
        self._ran = {key}
        while self.cached_bytes > self.cache_bytes and len(self._plans) > 1:
            dropped, _ = self._plans.popitem(last=False)
            del self._bytes[dropped]
            self._ran.discard(dropped)
        return plan

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the cached plans, as last counted (bounded by ``cache_bytes``, but for one plan)."""
        return sum(self._bytes.values())

    def values(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: the store's, overridden by ``params``."""
        values = dict(self.network.store.values)
        if params is not None:
            values.update(params)
        return values

    def targets(self) -> np.ndarray:
        """The samples' targets as ``(samples, rows, cols)`` (NaN for a sample without one)."""
        blocks = [block_value(s.target) if s.target is not None else None for s in self.network.samples]
        shapes = {b.shape for b in blocks if b is not None}
        if len(shapes) > 1:
            raise ValidationError(f"the queries' targets have several shapes: {sorted(shapes)}")
        shape = shapes.pop() if shapes else (1, 1)
        if not blocks:
            return np.zeros((0, *shape))
        return np.stack([b if b is not None else np.full(shape, np.nan) for b in blocks])

    # -- the training interface

    # -- the fused engine

    def fused_unavailable(self) -> str | None:
        """Why the fused engine cannot run this network here, or None when it can."""
        if self.engine == "numpy":
            return "the numpy engine was chosen"
        from ..engine import jit

        if not jit.available():
            return "numba is not installed"
        return unsupported(self.schedule)

    def program(self) -> Program | None:
        """The fused engine's program (built once), or None when the fused engine cannot run it."""
        if self._program is None and self.fused_unavailable() is None:
            self._program = Program(self.schedule, self.network.store)
        return self._program

    def wants_fused(self, steps: int, epochs: int, numpy_step: float | None = None) -> bool:
        """Whether a training of ``steps`` optimizer steps should run fused (the ``engine`` policy, module docstring):
        the numpy steps (``numpy_step`` seconds each as measured, else estimated) repay loading the kernels."""
        if self.engine == "numpy":
            return False
        reason = self.fused_unavailable()
        if reason is not None:
            if self.engine == "fused":
                raise ValidationError(f"the fused engine cannot run this network: {reason}",
                                      hint="use --engine numpy (or auto, which falls back by itself)")
            return False
        if self.engine == "fused":
            return True
        from ..engine import jit

        if numpy_step is not None:
            estimate = steps * numpy_step
        else:
            estimate = steps * NUMPY_STEP_SECONDS + epochs * sum(self.schedule.bank_sizes) * NUMPY_ROW_SECONDS
        return estimate > (LOAD_SECONDS if jit.compiled_before() else COMPILE_SECONDS)

    def numpy_step_seconds(self, params: Mapping[str, np.ndarray], loss: Any, targets: np.ndarray,
                           weights: np.ndarray | None, batches: list[np.ndarray], plans_per_step: float) -> float:
        """A numpy step's seconds on ``batches``: running its plan plus making the plan times ``plans_per_step``
        (1 with new batches every epoch, each plan then running once: its first run is timed; 1/epochs with
        fixed ones: the second run, the cached sums built)."""
        values, cost = self.values(params), 0.0
        for batch in batches:
            share = None if weights is None else weights[batch]
            started = time.perf_counter()
            plan = materialize(self.schedule, batch)
            cost += plans_per_step * (time.perf_counter() - started)
            objective = lambda out, t: loss.mean(out, t, share)  # noqa: E731 - the batch's loss, as value_and_grad
            runs = _seconds(lambda: plan.value_and_grad(values, objective, targets[batch], set(params)), 2)
            cost += runs[0] if plans_per_step == 1.0 else runs[1]
        return cost / len(batches)

    def step_seconds(self, params: Mapping[str, np.ndarray], loss: Any, targets: np.ndarray,
                     weights: np.ndarray | None, batches: list[np.ndarray], plans_per_step: float
                     ) -> tuple[float, float]:
        """Seconds per step on numpy (as :meth:`numpy_step_seconds`) and fused, timed batch by batch in turn,
        so that a change of the machine's load weighs on both; each batch runs once fused (as training
        does), the kernels loaded before on another batch (the last one) when there are several."""
        program, values = self.program(), self.values(params)
        program.value_and_grad(values, loss.name, targets[batches[-1]], batches[-1])  # loads the kernels
        timed = batches[:-1] or batches
        numpy_cost = fused_cost = 0.0
        for batch in timed:
            numpy_cost += self.numpy_step_seconds(params, loss, targets, weights, [batch], plans_per_step)
            fused_cost += _seconds(lambda: program.value_and_grad(values, loss.name, targets[batch], batch,
                                                                  None if weights is None else weights[batch]), 1)[0]
        return numpy_cost / len(timed), fused_cost / len(timed)

    def fused_trainer(self, params: dict[str, np.ndarray], optimizer: Any, loss: Any, targets: np.ndarray,
                      weights: np.ndarray | None, steps: int, epochs: int,
                      probe: list[np.ndarray] | None = None, new_batches: bool = False) -> FusedTrainer | None:
        """Optimizer steps through the fused engine, or None when training should run on numpy.

        ``probe``: some of the training's batches, to time the engines on (``auto``, module
        docstring); ``new_batches``: whether every epoch makes new batches (a plan each on numpy).
        """
        if not self.fused_covers(loss, optimizer):
            return None
        if self.engine == "auto" and probe and steps and self.fused_unavailable() is None:
            probe, plans = probe[:PROBE_BATCHES], 1.0 if new_batches else 1.0 / epochs
            if not self.wants_fused(steps, epochs, self.numpy_step_seconds(params, loss, targets, weights, probe[:1],
                                                                           plans)):
                return None
            numpy_step, fused_step = self.step_seconds(params, loss, targets, weights, probe, plans)
            if fused_step >= numpy_step:
                return None
        elif not self.wants_fused(steps, epochs):
            return None
        from ..engine import jit

        if not jit.compiled_before():
            progress.stage("compiling the fused engine's kernels", "(numba, once per machine, about 30 s)")
        return FusedTrainer(self.program(), params, optimizer, loss.name, targets, weights)

    def fused_covers(self, loss: Any, optimizer: Any) -> bool:
        """Whether the fused engine runs this loss and optimizer (``engine="fused"`` insists: an error if not)."""
        from .program import LOSSES

        if getattr(loss, "name", None) in LOSSES and optimizer.fused_rule() is not None:
            return True
        if self.engine == "fused":
            raise ValidationError("the fused engine runs the built-in losses and optimizers only",
                                  hint="use --engine numpy")
        return False

    def forward(self, params: Mapping[str, Any] | None = None, samples: np.ndarray | None = None) -> np.ndarray:
        """Outputs ``(len(samples), rows, cols)`` of ``samples`` (None: all) under ``params``.

        Always the numpy engine: one batched pass per evaluation costs little, and outputs
        (predictions, metrics) are then the same to the last bit whichever engine trained.
        """
        return self.plan(samples).forward(self.values(params))

    def value_and_grad(self, params: Mapping[str, np.ndarray], loss: Any, targets: np.ndarray,
                       samples: np.ndarray | None = None, weights: np.ndarray | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
        """The batch error ``loss.mean(outputs, targets, weights)`` of ``samples`` and its gradient.

        Gradients are given for the parameters in ``params`` that are learnable and
        that these samples' outputs depend on. ``loss`` is a
        :class:`~neuralogic_py.learn.losses.Loss`, or any ``f(outputs, targets) -> Tensor``.
        """
        objective = (lambda out, t: loss.mean(out, t, weights)) if hasattr(loss, "mean") else loss
        parameters = self.network.store.parameters
        learnable = {n for n in params if n in parameters and not parameters[n].fixed}
        error, grads, _ = self.plan(samples).value_and_grad(self.values(params), objective, targets, learnable)
        return error, grads

    def explain_nonfinite(self, params: Mapping[str, Any], samples: np.ndarray | None = None, loss: Any = None,
                          targets: np.ndarray | None = None) -> str:
        """Where the values of ``samples`` first stop being finite (a neuron and its rule or predicate)."""
        return self.plan(samples).explain_nonfinite(self.values(params))


def _seconds(run: Any, times: int) -> list[float]:
    """The seconds of each of ``times`` calls of ``run``."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def compile_network(network: Network, cache_bytes: int = CACHE_BYTES, engine: str = "auto") -> CompiledNetwork:
    """Schedule ``network`` once; plans are then materialized per set of samples."""
    return CompiledNetwork(network, cache_bytes, engine)
