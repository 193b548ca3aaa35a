"""One worker: reads its shard of the data, grounds, lifts and compiles it, and keeps the network.

A :class:`ShardWorker` is what runs in each Ray actor (:mod:`.cluster`); it is plain
Python and runs in-process as well. It holds one compiled network per data set it
was given (keyed by the caller: training, validation, test data) and answers, for
samples given by their index in its shard, outputs and the gradient of its part of a
mini-batch.

Its part of a batch ``B`` is ``B_k``, the samples of ``B`` in this shard. The batch
error is the importance-weighted mean ``E = sum_{i in B} w_i e_i / sum_{i in B} w_i``
(``w_i = 1`` without importance, :meth:`~neuralogic_py.learn.losses.Loss.mean`), so

    E = sum_k (W_k / W) E_k,    E_k = sum_{i in B_k} w_i e_i / W_k,   W_k = sum_{i in B_k} w_i,

and the same for the gradient: the worker computes ``E_k`` and ``grad E_k`` with the
single-process engine and multiplies them by ``scale = W_k / W``.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..language import ir
from ..language.chunks import Chunk
from ..language.sources import Split
from ..limits import memory_limit
from ..neural import CompiledNetwork, LiftingSettings, NeuralSettings, ParameterStore
from ..neural.chunked import CHUNK_SIZE, build_chunked, chunk_size
from ..neural.compression import CompressionReport
from ..neural.parameters import block_value
from ..neural.program import LOSSES, Program
from .shards import Layout, file_names, query_chunks, shard_chunks, survey

PROGRESS_SECONDS = 5.0  # a worker's grounding progress line at most this often


@dataclass(frozen=True)
class BuildSpec:
    """What grounding and compiling a shard needs besides its data: the model's side."""

    template: ir.Template
    settings: NeuralSettings
    store: ParameterStore
    lifting: str | LiftingSettings
    engine: str
    allow_underivable: bool = False
    chunk_size: int | None = None  # examples grounded at a time (None: automatic, neural.chunked; 0: all at once)
    max_memory: int | None = None  # bytes one grounding step may take in this worker (None: the default)
    verbose: bool = False  # a line on stderr as chunks are grounded


@dataclass
class ReadShard:
    """What reading a shard tells the driver before grounding: its written targets, queried predicates, and
    how many examples (query lines of a knowledge base) it holds."""

    targets: list[np.ndarray]
    query_predicates: set[tuple[str, int]]
    units: int


@dataclass
class BuiltShard:
    """A grounded and compiled shard, as the driver sees it: its samples and figures."""

    samples: list  # the samples (logic.samples.Sample), their examples numbered as in the whole split
    counted: list[int]  # the samples named by their number in the shard (renamed by shards.global_order)
    targets: np.ndarray
    compression: CompressionReport | None
    added: dict[str, Any] = field(default_factory=dict)  # parameters grounding created (@embed facts), by name
    seconds: float = 0.0
    peak_memory: int = 0  # the worker process's peak resident memory so far, bytes


class ShardWorker:
    """Shard ``index`` of ``count``: its networks, kept between calls (module docstring)."""

    def __init__(self, index: int, count: int) -> None:
        self.index, self.count = index, count
        self.data: dict[str, tuple[Split, Layout, int]] = {}
        self.networks: dict[str, CompiledNetwork] = {}
        self.programs: dict[str, Program | None] = {}
        self.targets: dict[str, np.ndarray] = {}

    def survey(self, split: Split) -> Layout:
        """The split's layout in this worker's number of shards (:func:`.shards.survey`); asked of one worker."""
        return survey(split, self.count)

    def read(self, key: str, split: Split, layout: Layout) -> ReadShard:
        """Read the queries of this worker's shard of ``split``, chunk by chunk, for their targets (only the
        queries file where it holds them, :func:`.shards.query_chunks`); :meth:`build` reads the shard to ground it."""
        targets, predicates, units = [], set(), 0
        for chunk in query_chunks(split, layout, self.index, CHUNK_SIZE):
            queries = [q for e in chunk.examples for q in e.queries] + \
                [q for line in chunk.query_lines for q in line.queries]
            targets += [block_value(q.target) for q in queries if q.target is not None]
            predicates |= {(q.atom.predicate, q.atom.arity) for q in queries}
            units += chunk.size
        self.data[key] = (split, layout, units)
        return ReadShard(targets, predicates, units)

    def build(self, key: str, spec: BuildSpec) -> BuiltShard:
        """Ground, lift and compile the shard read under ``key``, chunk by chunk; only the lifted network is kept."""
        started = time.perf_counter()
        split, layout, units = self.data.pop(key)
        known = set(spec.store.parameters)
        if not units:
            self.networks.pop(key, None)
            return BuiltShard([], [], np.zeros((0, 1, 1)), None, peak_memory=peak_memory())
        examples = units if layout.unit == "examples" else 1  # (queries of one knowledge base: chunked when asked)
        size = chunk_size(examples, spec.chunk_size, spec.lifting) or units  # (0: all at once)
        last = [started]

        def on_chunk(done: int, seen: int) -> None:
            if spec.verbose and time.perf_counter() - last[0] >= PROGRESS_SECONDS:
                last[0] = time.perf_counter()
                print(f"worker {self.index}: grounded {seen:,} of {units:,} {layout.unit} "
                      f"({time.perf_counter() - started:.0f} s, peak memory {peak_memory() / 2**20:,.0f} MB)",
                      file=sys.stderr, flush=True)

        named: set[int] = set()  # the examples with an id: their samples are named by it, the others by number

        def chunks() -> Iterator[Chunk]:
            for chunk in shard_chunks(split, layout, self.index, size):
                named.update(chunk.first_example + i for i, e in enumerate(chunk.examples) if e.id is not None)
                yield chunk

        with memory_limit(spec.max_memory):
            compiled = build_chunked(spec.template, chunks(),
                                     settings=spec.settings, store=spec.store, allow_underivable=spec.allow_underivable,
                                     lifting=spec.lifting, on_chunk=on_chunk, **file_names(split))
        compiled.engine = spec.engine
        self.networks[key] = compiled
        self.targets[key] = compiled.targets()
        self.programs[key] = self._program(compiled)
        added = {name: p for name, p in spec.store.parameters.items() if name not in known}
        counted = [i for i, sample in enumerate(compiled.samples) if sample.example not in named]
        return BuiltShard(compiled.samples, counted, self.targets[key], compiled.compression, added,
                          time.perf_counter() - started, peak_memory())

    @staticmethod
    def _program(compiled: CompiledNetwork) -> Program | None:
        """The fused engine's program when the model's engine policy takes it (here: whenever it can run and its
        kernels are compiled on this machine, or ``fused`` was asked for), else None (the numpy engine)."""
        from ..engine import jit

        if compiled.engine == "numpy" or (compiled.engine == "auto" and not jit.compiled_before()):
            return None
        if compiled.engine == "fused" and compiled.fused_unavailable() is not None:
            raise ValidationError(f"the fused engine cannot run this network: {compiled.fused_unavailable()}",
                                  hint="use --engine numpy (or auto, which falls back by itself)")
        return compiled.program()

    def forward(self, key: str, params: Mapping[str, np.ndarray], samples: np.ndarray) -> np.ndarray:
        """Outputs of ``samples`` (indices in this shard) under ``params``."""
        return self.networks[key].forward(params, samples)

    def value_and_grad(self, key: str, params: Mapping[str, np.ndarray], loss: Any, samples: np.ndarray,
                       weights: np.ndarray | None, scale: float) -> tuple[float, dict[str, np.ndarray]]:
        """``scale`` times the error of ``samples`` (this shard's part of a batch) and its gradient."""
        targets = self.targets[key][samples]
        program = self.programs.get(key)
        if program is not None and getattr(loss, "name", None) in LOSSES:
            error, grads = program.value_and_grad(params, loss.name, targets, samples, weights)
        else:
            error, grads = self.networks[key].value_and_grad(params, loss, targets, samples, weights)
        if scale != 1.0:
            grads = {name: g * scale for name, g in grads.items()}
        return error * scale, grads

    def explain_nonfinite(self, key: str, params: Mapping[str, np.ndarray], samples: np.ndarray) -> str:
        return self.networks[key].explain_nonfinite(params, samples)

    def peak_memory(self) -> int:
        return peak_memory()


def peak_memory() -> int:
    """This process's peak resident memory in bytes (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
