"""Workers on a Ray runtime: start or join it, hand out shards, call the workers, restart dead ones.

::

    with Cluster(workers=2) as cluster:                 # a local Ray runtime (or address="host:6379")
        result = model.fit("datasets/xor_vector", epochs=100, cluster=cluster)

Each worker is a Ray actor running a :class:`~.worker.ShardWorker` for shard ``k`` of
``workers``. Each requests its share of the runtime's free CPUs, at most one (3
workers on 2 CPUs request 2/3 CPU each), so any number of workers starts on any
machine, and beside other work on the same runtime.

Data reaches the workers by path: :meth:`Cluster.load` asks one worker for the
split's layout (:func:`.shards.survey`), then every worker reads its shard from the
files itself. Only a knowledge base's facts, which every shard needs, travel through
Ray's object store: put there once, read by every worker.

Calls (:meth:`Cluster.call`) go to several workers at once; an argument shared by
them (the parameters) is put in the object store once per call. Each answer is kept
by shard, so callers combine them in shard order, whatever order they arrive in.
Sums of gradients are made this way rather than with ``ray.util.collective``, whose
CPU backend (gloo) needs torch: parameters and gradients are kilobytes to megabytes,
one round trip per step.

Faults: a worker that dies (its process or node lost, ``ray.kill``) is replaced by a
new actor, which reads and grounds its shard again from the sources (every data set
it held, in the same order), and the call is made again. Nothing else is lost: the
driver holds the parameters and the optimizer's state and takes the steps, so the
step in progress is simply computed again. Each restart is said on stderr.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from dataclasses import replace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NeuralogicError, display_path
from ..language.sources import Split
from .network import ShardedData, ShardedNetwork
from .worker import BuildSpec, BuiltShard, ShardWorker

CONNECT_SECONDS = 10.0  # how long a cluster's address may take to answer
START_SECONDS = 300.0  # how long workers may take to be placed and started
MAX_RESTARTS = 3  # per worker: a worker that keeps dying (out of memory, say) stops the run
INSTALL_HINT = "install Ray: pip install 'neuralogic_py[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise NeuralogicError("training on several workers needs Ray, which is not installed",
                              hint=INSTALL_HINT) from None
    return ray


class Cluster:
    """``workers`` shard workers on a local Ray runtime or the cluster at ``address`` (module docstring);
    ``workers=None``: one per CPU of the runtime.

    ``max_memory``: the bytes one grounding step may take in each worker (default: 80% of
    its machine's memory, :mod:`neuralogic_py.limits`). ``verbose``: a line on stderr as each stage starts and for each shard built. A
    runtime this object started is shut down by :meth:`close`; one that was running
    already (``ray.init`` called before) is left running.
    """

    def __init__(self, workers: int | None = 2, address: str | None = None, *, max_memory: int | None = None,
                 verbose: bool = False) -> None:
        if workers is not None and workers < 1:
            raise NeuralogicError(f"the number of workers must be at least 1, got {workers}")
        self.workers = workers or 0  # (None: one per CPU of the runtime, known once started)
        self.address = address
        self.max_memory = max_memory
        self.verbose = verbose
        self.ray: Any = None
        self.actors: list[Any] = []
        self.restarts: list[int] = []
        self.cpus = 1.0
        self._owned = False
        self._replay: list[list[tuple[str, tuple]]] = []  # the read and build calls made of each worker
        self._keys = 0
        self.sent = 0  # bytes of arrays sent to workers (a put once counted once per worker that reads it)
        self.received = 0  # bytes of arrays received from them
        self.calls = 0

    # -- starting and stopping

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        """Start or join the Ray runtime and start the workers (once)."""
        if self.actors:
            return
        ray = self.ray = import_ray()
        if self.address is not None:
            _reachable(self.address)
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR",
                                       "log_to_driver": True}
            if self.address is None:
                options["num_cpus"] = os.cpu_count() or 1
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray runtime"
                raise NeuralogicError(f"could not start or join {where}: {e}",
                                      hint="start one with `ray start --head` and give its address") from None
            self._owned = True
        total = float(ray.cluster_resources().get("CPU", 1.0))
        free = float(ray.available_resources().get("CPU", 0.0))
        self.workers = self.workers or max(1, int(total))
        self.restarts = [0] * self.workers
        self._replay = [[] for _ in range(self.workers)]
        self.cpus = min(1.0, int(free / self.workers * 10_000) / 10_000)
        self.actors = [self._actor(k) for k in range(self.workers)]
        try:
            ray.get([actor.peak_memory.remote() for actor in self.actors], timeout=START_SECONDS)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise NeuralogicError(f"{self.workers} workers of {self.cpus:g} CPU each did not start within "
                                  f"{START_SECONDS:g} s", hint="the Ray runtime has not enough free resources; "
                                                               "see `ray status`") from None
        where = f"the Ray cluster at {self.address}" if self.address else f"a Ray runtime with {total:g} CPUs"
        self._say(f"started {self.workers} workers on {where}, {self.cpus:g} CPU each")

    def _actor(self, index: int) -> Any:
        remote = self.ray.remote(ShardWorker)
        return remote.options(num_cpus=self.cpus, max_restarts=0, max_task_retries=0).remote(index, self.workers)

    def close(self) -> None:
        """Stop the workers (and the runtime, when this cluster started it)."""
        if self.ray is None:
            return
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self._owned:
            self.ray.shutdown()
            self._owned = False

    def _say(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    # -- data

    def load(self, split: Split) -> ShardedData:
        """Have every worker read its shard of ``split``'s files (by path; module docstring)."""
        self.start()
        self._keys += 1
        key = f"data{self._keys}"
        files = ", ".join(display_path(f) for f in split.files())
        self._say(f"reading {files} in {self.workers} shards")
        layout = self.call("survey", {0: (split,)}, replay=False)[0]
        if layout.facts is not None:  # a knowledge base: its facts go to every worker through the object store
            layout_ref = self.ray.put(layout)
            self._say(f"  its one example ({len(layout.facts):,} bytes of facts) is replicated to every worker")
        else:
            layout_ref = layout
        read = self.call("read", {k: (key, split, layout_ref) for k in range(self.workers)})
        return ShardedData(key, split, layout, [read[k] for k in range(self.workers)])

    def build(self, data: ShardedData, spec: BuildSpec) -> ShardedNetwork:
        """Ground, lift and compile every shard of ``data``; each worker keeps its network."""
        self._say(f"grounding and lifting {data.units:,} {data.layout.unit} on {self.workers} workers")
        started = time.perf_counter()
        spec_ref = self.ray.put(replace(spec, max_memory=self.max_memory or spec.max_memory,
                                        verbose=self.verbose or spec.verbose))
        built: dict[int, BuiltShard] = self.call("build", {k: (data.key, spec_ref) for k in range(self.workers)})
        for k in range(self.workers):
            shard = built[k]
            report = shard.compression
            neurons = f", {report.final.neurons:,} neurons after lifting" if report is not None else ""
            self._say(f"  worker {k}: {len(shard.samples):,} samples{neurons}, {shard.seconds:.1f} s, "
                      f"peak memory {shard.peak_memory / 2**20:,.0f} MB")
        self._say(f"  built in {time.perf_counter() - started:.1f} s")
        return ShardedNetwork(self, data.key, [built[k] for k in range(self.workers)])

    # -- calling the workers

    def call(self, method: str, calls: Mapping[int, tuple], *, replay: bool = True) -> dict[int, Any]:
        """``worker k .method(*calls[k])`` for every ``k`` at once; the answers by ``k``.

        ``read`` and ``build`` calls are recorded and made again on a worker that
        replaces a dead one. Errors of ours raised in a worker are raised here.
        """
        ray = self.ray
        shared: dict[int, Any] = {}
        sent = {k: tuple(self._shared(arg, shared) for arg in args) for k, args in calls.items()}
        self.sent += sum(_nbytes(args) for args in calls.values())
        self.calls += 1
        pending = {k: getattr(self.actors[k], method).remote(*args) for k, args in sent.items()}
        answers: dict[int, Any] = {}
        for k, ref in pending.items():
            while True:
                try:
                    answers[k] = ray.get(ref)
                    if replay and method in ("read", "build"):  # (once done: a replacement makes it again)
                        self._replay[k].append((method, sent[k]))
                    break
                except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as e:
                    ref = getattr(self._restart(k, e), method).remote(*sent[k])
                except ray.exceptions.RayTaskError as e:
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, (NeuralogicError, MemoryError)):
                        raise cause from None
                    raise
        self.received += sum(_nbytes(a) for a in answers.values())
        return answers

    def _shared(self, arg: Any, shared: dict[int, Any]) -> Any:
        """A dict argument (parameters, a model) put in the object store once for all workers of a call."""
        if not isinstance(arg, (dict, BuildSpec)):
            return arg
        if id(arg) not in shared:
            shared[id(arg)] = self.ray.put(arg)
        return shared[id(arg)]

    def _restart(self, k: int, error: BaseException) -> Any:
        """Replace dead worker ``k`` and bring it back to where it was (module docstring); the new actor."""
        self.restarts[k] += 1
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if self.restarts[k] > MAX_RESTARTS:
            raise NeuralogicError(f"worker {k} died {self.restarts[k]} times; the last time: {reason}",
                                  hint="see the worker's log (stderr above); a worker out of memory needs "
                                       "more workers (smaller shards) or --max-memory")
        print(f"worker {k} died ({reason}); restarting it, reading and grounding its shard again "
              f"(restart {self.restarts[k]} of at most {MAX_RESTARTS}); training goes on from the last "
              "completed step", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # (it may be gone already)
            self.ray.kill(self.actors[k])
        actor = self.actors[k] = self._actor(k)
        for method, args in self._replay[k]:
            self.ray.get(getattr(actor, method).remote(*args))
        print(f"worker {k} is back ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
        return actor

    def traffic(self) -> dict[str, int]:
        """Bytes of arrays sent to and received from the workers so far, and the number of calls."""
        return {"sent": self.sent, "received": self.received, "calls": self.calls}


def _reachable(address: str) -> None:
    """Refuse a ``host:port`` address nothing answers at (Ray would wait for it without end)."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise NeuralogicError(f"no Ray cluster answers at {address}: {e.strerror or e}",
                              hint="start one with `ray start --head` on that machine, or check the address "
                                   "and port it printed") from None


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in ``value`` (nested tuples, lists and dicts)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def data_split(data: str | Path | Split, queries: str | Path | None = None) -> Split:
    """The files of ``data``: a :class:`Split`, an examples file (with ``queries``) or a sources directory's
    training split."""
    if isinstance(data, Split):
        return data
    from ..learn.dataset import training_split

    return training_split(Path(data), queries)
