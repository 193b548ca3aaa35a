"""Which part of a split's files each worker reads: the data's layout, and one shard of it, in chunks.

A split (an examples file and a queries file, :class:`~neuralogic_py.language.sources.Split`)
is cut into shards of consecutive examples, or of query lines for one knowledge base
or template facts (:func:`~neuralogic_py.language.chunks.split_parts`: statement-aligned
byte ranges, found without parsing). Worker ``k`` reads shard ``k`` from the files
itself, in chunks of at most ``size`` examples (:func:`~neuralogic_py.language.chunks.read_chunks`),
which it grounds and lifts one at a time (:func:`~neuralogic_py.neural.chunked.build_chunked`).

The samples of a split are its queries in query-line order (labelled examples: in
example order). Shards of examples paired by id hold lines from anywhere in the
queries file, so the whole split's samples are the shards' samples sorted by their
query line (:func:`global_order`): numbered and named as one grounding of everything
numbers them, whatever the number of shards.

A knowledge base's one example (its facts) is needed by every shard: the survey reads
it once and hands it to the workers as the examples file's text (:attr:`Layout.facts`,
which the cluster puts in Ray's object store), so each worker reads only its range of
the queries file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from ..errors import display_path
from ..language.chunks import Chunk, Part, read_chunks, split_parts
from ..language.data import parse_examples
from ..language.pairing import PairingMode
from ..language.preprocess import read_text
from ..language.sources import Split


QUERY_RANGES = (PairingMode.ORDER, PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS)
"""Pairings whose shards' query lines are a range of the queries file (a shard's own bytes of it)."""


@dataclass(frozen=True)
class Layout:
    """How a split is cut: its pairing, one :class:`Part` per shard (shards beyond them are empty), and a
    knowledge base's facts (the examples file's text), which every shard reads."""

    mode: PairingMode
    parts: tuple[Part, ...]
    facts: str | None = None

    @property
    def unit(self) -> str:
        """What the shards are cut in."""
        return "query lines" if self.mode in (PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS) else "examples"


def survey(split: Split, count: int) -> Layout:
    """The layout of ``split``'s files in ``count`` shards (module docstring)."""
    parts = split_parts(split, count)
    mode = parts[0].mode
    facts = read_text(split.examples) if mode is PairingMode.KNOWLEDGE_BASE and split.examples else None
    return Layout(mode, tuple(parts), facts)


def shard_chunks(split: Split, layout: Layout, index: int, size: int) -> Iterator[Chunk]:
    """The chunks of at most ``size`` examples (query lines) of shard ``index``, read from the files as they are
    consumed. A knowledge base's example comes from ``layout.facts``."""
    if index >= len(layout.parts):
        return
    part = layout.parts[index]
    if layout.facts is None:
        yield from read_chunks(split, size, part)
        return
    examples = parse_examples(layout.facts, file_names(split)["examples_file"])
    for chunk in read_chunks(Split(None, split.queries), size, part):
        yield replace(chunk, examples=examples)


def query_chunks(split: Split, layout: Layout, index: int, size: int) -> Iterator[Chunk]:
    """Chunks holding the queries of shard ``index`` (for their targets): where the queries file has them all in
    the shard's range (by order, one knowledge base, template facts), its query lines only, else
    :func:`shard_chunks`. ``chunk.size`` counts the shard's examples (query lines) as there."""
    if index < len(layout.parts) and layout.mode in QUERY_RANGES:
        part = replace(layout.parts[index], mode=PairingMode.TEMPLATE_FACTS)
        yield from read_chunks(Split(None, split.queries), size, part)
    else:
        yield from shard_chunks(split, layout, index, size)


def global_order(shards: list[tuple[list, list[int]]]) -> tuple[list, np.ndarray, np.ndarray]:
    """The samples of the whole split from its shards' ``(samples, counted)``: in query-line order (in shard
    order for labelled examples, which have no lines), those named by their number in the shard renamed
    ``s_<index in the whole split>``; and for each, its shard and its index there."""
    shard = np.concatenate([np.full(len(samples), k, np.int64) for k, (samples, _) in enumerate(shards)] or
                           [np.zeros(0, np.int64)])
    local = np.concatenate([np.arange(len(samples), dtype=np.int64) for samples, _ in shards] or
                           [np.zeros(0, np.int64)])
    every = [s for samples, _ in shards for s in samples]
    counted = {(k, i) for k, (_, numbered) in enumerate(shards) for i in numbered}
    lines = [s.request.line for s in every]
    order = np.arange(len(every)) if None in lines else np.argsort(np.asarray(lines, np.int64), kind="stable")
    out = []
    for g, j in enumerate(order.tolist()):
        s = every[j]
        out.append(replace(s, id=f"s_{g}") if (int(shard[j]), int(local[j])) in counted else s)
    return out, shard[order], local[order]


def file_names(split: Split) -> dict[str, str | None]:
    """The split's files as messages name them (``examples_file``, ``queries_file``)."""
    return {f"{role}_file": display_path(path) if path is not None else None
            for role, path in (("examples", split.examples), ("queries", split.queries))}
