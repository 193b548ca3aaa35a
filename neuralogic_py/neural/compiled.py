"""A network ready to run: its schedule, plans per set of samples, and the training interface.

``compile_network(network)`` schedules the network once (:mod:`.schedule`);
``compiled.plan(samples)`` materializes the plan of some samples (:mod:`.plan`),
cached per sample set (least recently used first out, within ``cache_rows`` computed
rows in all), so online training (batches of one sample) and fixed mini-batches
compile each batch once.

The methods ``forward``, ``value_and_grad``, ``fused_trainer`` and
``explain_nonfinite`` are the interface :mod:`neuralogic_py.learn.trainer` trains
through; ``params`` there are the values to use by name (usually the learnable ones;
the network's :class:`~.parameters.ParameterStore` supplies the rest).

Engines (``engine``): ``numpy`` runs plans op by op on the tape (:mod:`.plan`, the
specification); ``fused`` runs forward, backward and the optimizer update of a
batch in one compiled call (:mod:`.program`, :mod:`neuralogic_py.engine.fused`),
whose fixed cost per step is a few microseconds instead of half a millisecond;
``auto`` (the default) takes ``fused`` when numba is installed, the network uses
only what the fused engine covers, and the training is long enough on numpy to repay
loading the compiled kernels (:data:`LOAD_SECONDS`) or, the first time on a machine,
compiling them (:data:`COMPILE_SECONDS`; they are then kept per user,
:mod:`neuralogic_py.engine.jit`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import progress
from ..errors import ValidationError
from .compression import CompressionReport
from .network import INDEX, Network
from .parameters import ParameterStore, block_value
from .plan import Plan, materialize
from .program import FusedTrainer, Program, unsupported
from .schedule import Schedule

CACHE_ROWS = 4_000_000  # computed rows of all cached plans together (a few hundred MB at most)
ENGINES = ("auto", "fused", "numpy")
COMPILE_SECONDS = 30.0  # what compiling the fused kernels costs once per machine, with a margin
LOAD_SECONDS = 1.0  # what importing numba and loading the compiled kernels costs a process
NUMPY_STEP_SECONDS = 5e-4  # the numpy engine's fixed cost of one optimizer step (benchmarks/README.md)
NUMPY_ROW_SECONDS = 2e-6  # and its cost per computed row and step


class CompiledNetwork:
    """A :class:`~.network.Network` with its :class:`~.schedule.Schedule` and cached plans."""

    def __init__(self, network: Network, cache_rows: int = CACHE_ROWS, engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ValidationError(f"unknown engine {engine!r}", hint=f"choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._program: Program | None = None
        self.network = network
        self.schedule = Schedule(network)
        self.cache_rows = cache_rows
        self._plans: OrderedDict[tuple | None, Plan] = OrderedDict()
        self._cached_rows = 0
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
            return plan
        plan = materialize(self.schedule, samples)
        self._plans[key] = plan
        self._cached_rows += plan.rows
        while self._cached_rows > self.cache_rows and len(self._plans) > 1:
            _, dropped = self._plans.popitem(last=False)
            self._cached_rows -= dropped.rows
        return plan

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

    def wants_fused(self, steps: int, epochs: int) -> bool:
        """Whether a training of ``steps`` optimizer steps should run fused (the ``engine`` policy, module docstring)."""
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

        estimate = steps * NUMPY_STEP_SECONDS + epochs * sum(self.schedule.bank_sizes) * NUMPY_ROW_SECONDS
        return estimate > (LOAD_SECONDS if jit.compiled_before() else COMPILE_SECONDS)

    def fused_trainer(self, params: dict[str, np.ndarray], optimizer: Any, loss: Any, targets: np.ndarray,
                      weights: np.ndarray | None, steps: int, epochs: int) -> FusedTrainer | None:
        """Optimizer steps through the fused engine, or None when training should run on numpy."""
        from .program import LOSSES

        if getattr(loss, "name", None) not in LOSSES or optimizer.fused_rule() is None:
            if self.engine == "fused":
                raise ValidationError("the fused engine runs the built-in losses and optimizers only",
                                      hint="use --engine numpy")
            return None
        if not self.wants_fused(steps, epochs):
            return None
        from ..engine import jit

        if not jit.compiled_before():
            progress.stage("compiling the fused engine's kernels", "(numba, once per machine, about 30 s)")
        return FusedTrainer(self.program(), params, optimizer, loss.name, targets, weights)

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


def compile_network(network: Network, cache_rows: int = CACHE_ROWS, engine: str = "auto") -> CompiledNetwork:
    """Schedule ``network`` once; plans are then materialized per set of samples."""
    return CompiledNetwork(network, cache_rows, engine)
