"""Scale-out: ground and train on several workers (Ray actors), one shard of the data each.

::

    model.fit("datasets/xor_vector", epochs=100, workers=2)      # a local Ray runtime for this call
    with Cluster(workers=8, address="head:6379") as cluster:   # or the workers of a running cluster
        model.fit("datasets/nci", epochs=100, batch_size=32, cluster=cluster)

Synchronous data-parallel training, the same model as one process:

* the data is cut into shards of consecutive examples (or, for one knowledge base,
  query lines; :mod:`.shards`); each worker reads its shard from the files by path,
  grounds, lifts and compiles it, and keeps the network (:mod:`.worker`);
* the driver runs the single-process training loop (:mod:`neuralogic_py.learn.trainer`)
  over a :class:`.network.ShardedNetwork`, whose samples are numbered as in one
  process, so the sample order and every batch are those of a single-process run
  with the same seed, whatever the number of workers;
* per step each worker computes the gradient of its part of the batch, scaled so
  that the parts add up to the batch mean (``E = sum_k (W_k / W) E_k``, :mod:`.worker`);
  the driver sums them in shard order and takes the optimizer step. Parameters and
  optimizer state live on the driver only: a dead worker is restarted and re-reads
  its shard, and the step is computed again (:mod:`.cluster`); checkpoints are the
  trainer's (``--checkpoint-every``).

Ray is imported only when a :class:`Cluster` starts (``pip install 'neuralogic_py[ray]'``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .cluster import Cluster, data_split
from .network import ShardedData, ShardedNetwork
from .worker import BuildSpec, ShardWorker

__all__ = ["BuildSpec", "Cluster", "ShardWorker", "ShardedData", "ShardedNetwork", "data_split", "sharding"]


@contextlib.contextmanager
def sharding(workers: int | None, cluster: Cluster | None, verbose: bool = False) -> Iterator[tuple[Cluster, bool]]:
    """``(cluster, own)``: ``cluster`` started, or a new one of ``workers`` workers (``own``: closed on exit)."""
    if cluster is not None:
        cluster.start()
        yield cluster, False
        return
    with Cluster(workers or 1, verbose=verbose) as own:
        yield own, True
