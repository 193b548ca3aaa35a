"""A data set grounded in shards on the workers, trained through as one network.

:class:`ShardedNetwork` has the methods the training loop needs
(:class:`~neuralogic_py.learn.trainer.TrainableNetwork`); the samples are numbered
as one grounding of everything numbers them (:func:`.shards.global_order`), so a
batch means the same samples whatever the number of workers. A call splits the samples by shard, asks every
shard holding some of them at once, and puts the answers together:

* ``forward``: each shard's outputs, put back in the order the samples were asked;
* ``value_and_grad``: ``E = sum_k (W_k / W) E_k`` and its gradient (:mod:`.worker`),
  summed over the shards in shard order ``k = 0, 1, ...`` whatever order they answer
  in, so the sum (and its rounding) is the same on every run.

It has no ``fused_trainer``: the optimizer step is taken on the driver, by the same
:class:`~neuralogic_py.learn.optimizers.Optimizer` code as a single-process run on
the numpy engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import display_path
from ..neural.compression import Counts, CompressionReport, Stage
from .shards import Layout, global_order
from .worker import BuiltShard, ReadShard

if TYPE_CHECKING:
    from .cluster import Cluster


@dataclass
class ShardedData:
    """A data set read on the workers: what the driver knows of it before grounding (a stand-in for
    :class:`~neuralogic_py.learn.dataset.Dataset` in :meth:`Model.fit`)."""

    key: str
    split: Any
    layout: Layout
    shards: list[ReadShard]

    @property
    def units(self) -> int:
        """Examples (query lines of a knowledge base) in all shards."""
        return sum(shard.units for shard in self.shards)

    def targets(self) -> list[np.ndarray]:
        return [t for shard in self.shards for t in shard.targets]

    def query_predicates(self) -> set[tuple[str, int]]:
        return set().union(*(shard.query_predicates for shard in self.shards))

    def describe(self) -> str:
        files = [display_path(f) for f in self.split.files()]
        return ", ".join(files) if files else "no files"


class ShardedNetwork:
    """The compiled shards of one data set on a :class:`~.cluster.Cluster` (module docstring)."""

    def __init__(self, cluster: Cluster, key: str, built: list[BuiltShard]) -> None:
        self.cluster = cluster
        self.key = key
        self.samples, self.shard_of, self.local_of = global_order([(b.samples, b.counted) for b in built])
        self.compression = merge_reports([shard.compression for shard in built if shard.compression is not None])
        self.added = [shard.added for shard in built]  # per shard, the parameters its grounding created
        self._targets = np.stack([b.targets[i] for b, i in
                                  zip((built[k] for k in self.shard_of.tolist()), self.local_of.tolist())]) \
            if len(self.samples) else np.zeros((0, 1, 1))

    def targets(self) -> np.ndarray:
        return self._targets

    def _split(self, samples: np.ndarray | None) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(shard, positions in samples, indices in the shard)`` of every shard holding some of ``samples``."""
        samples = np.arange(len(self.samples)) if samples is None else np.asarray(samples, dtype=np.int64)
        shard = self.shard_of[samples]
        parts = []
        for k in np.unique(shard).tolist():
            where = np.flatnonzero(shard == k)
            parts.append((k, where, self.local_of[samples[where]]))
        return parts

    def forward(self, params: Mapping[str, np.ndarray] | None = None, samples: np.ndarray | None = None
                ) -> np.ndarray:
        parts = self._split(samples)
        params = {} if params is None else dict(params)
        answers = self.cluster.call("forward", {k: (self.key, params, local) for k, _, local in parts})
        n = sum(len(where) for _, where, _ in parts)
        shape = next(iter(answers.values())).shape[1:] if answers else (1, 1)
        out = np.zeros((n, *shape))
        for k, where, _ in parts:
            out[where] = answers[k]
        return out

    def value_and_grad(self, params: Mapping[str, np.ndarray], loss: Any, targets: np.ndarray,
                       samples: np.ndarray, weights: np.ndarray | None) -> tuple[float, dict[str, np.ndarray]]:
        parts = self._split(samples)
        total = float(len(samples)) if weights is None else float(np.sum(weights))
        calls = {}
        for k, where, local in parts:
            mine = None if weights is None else np.asarray(weights, dtype=np.float64)[where]
            share = float(len(where)) if mine is None else float(mine.sum())
            calls[k] = (self.key, params, loss, local, mine, share / total)
        answers = self.cluster.call("value_and_grad", calls)
        error, grads = 0.0, {}
        for k in sorted(answers):  # a fixed order: the same sums on every run
            part_error, part_grads = answers[k]
            error += part_error
            for name, g in part_grads.items():
                grads[name] = grads[name] + g if name in grads else g
        return error, grads

    def explain_nonfinite(self, params: Mapping[str, np.ndarray], samples: np.ndarray | None = None,
                          loss: Any = None, targets: np.ndarray | None = None) -> str:
        parts = self._split(samples)
        answers = self.cluster.call("explain_nonfinite", {k: (self.key, dict(params or {}), local)
                                                          for k, _, local in parts})
        found = [answers[k] for k in sorted(answers) if answers[k]]
        return found[0] if found else ""


def merge_reports(reports: list[CompressionReport]) -> CompressionReport | None:
    """The shards' compression reports as one: neurons and edges summed per stage, the longest time
    (shards are compressed at once)."""
    if not reports:
        return None
    first = reports[0]
    stages = []
    for i, stage in enumerate(first.stages):
        same = [r.stages[i] for r in reports]
        counts = Counts(*(sum(getattr(s.counts, f) for s in same)
                          for f in ("facts", "atoms", "rules", "aggregations", "edges")))
        vetoed = None if stage.vetoed is None else sum(s.vetoed or 0 for s in same)
        merged = None if stage.merged is None else \
            {kind: sum((s.merged or {}).get(kind, 0) for s in same) for kind in stage.merged}
        stages.append(Stage(stage.name, counts, max(s.seconds for s in same), vetoed, merged))
    return replace(first, samples=sum(r.samples for r in reports), stages=stages)
