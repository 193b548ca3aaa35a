"""A network ready to run: its schedule, plans per set of samples, and the training interface.

``compile_network(network)`` schedules the network once (:mod:`.schedule`);
``compiled.plan(samples)`` materializes the plan of some samples (:mod:`.plan`),
cached per sample set (least recently used first out, within ``cache_rows`` computed
rows in all), so online training (batches of one sample) and fixed mini-batches
compile each batch once.

The methods ``forward``, ``value_and_grad`` and ``explain_nonfinite`` are the
interface :mod:`neuralogic_py.learn.trainer` trains through; ``params`` there are
the values to use by name (usually the learnable ones; the network's
:class:`~.parameters.ParameterStore` supplies the rest).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ValidationError
from .compression import CompressionReport
from .network import INDEX, Network
from .parameters import ParameterStore, block_value
from .plan import Plan, materialize
from .schedule import Schedule

CACHE_ROWS = 4_000_000  # computed rows of all cached plans together (a few hundred MB at most)


class CompiledNetwork:
    """A :class:`~.network.Network` with its :class:`~.schedule.Schedule` and cached plans."""

    def __init__(self, network: Network, cache_rows: int = CACHE_ROWS) -> None:
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

    def forward(self, params: Mapping[str, Any] | None = None, samples: np.ndarray | None = None) -> np.ndarray:
        """Outputs ``(len(samples), rows, cols)`` of ``samples`` (None: all) under ``params``."""
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


def compile_network(network: Network, cache_rows: int = CACHE_ROWS) -> CompiledNetwork:
    """Schedule ``network`` once; plans are then materialized per set of samples."""
    return CompiledNetwork(network, cache_rows)
