"""Which part of a split's files each worker reads: the data's layout, and one shard of it.

A split (an examples file and a queries file, :class:`~neuralogic_py.language.sources.Split`)
is cut into ``count`` shards of consecutive *units*, shard ``k`` taking units
``[k U / count, (k + 1) U / count)`` of the ``U`` units:

=====================  ================================================  ==============================
pairing                unit                                              the shard's examples
=====================  ================================================  ==============================
labelled               an example with its queries                       its units
order                  query line i with example i                       examples of its lines
id                     a query line                                      the examples its lines name
knowledge_base         a query line                                      the one example (every shard)
template_facts         a query line                                      none
unlabelled, empty      everything, in shard 0                            all (shard 0)
=====================  ================================================  ==============================

The samples of a split are its queries in query order (labelled: example order), so
the samples of shards ``0, 1, ...`` concatenated are the samples of the whole split in
the same order: a global sample index is its shard's offset plus its index there.

A knowledge base's one example (its facts) is needed by every shard: it is read once,
by the survey, and handed to the workers as the examples file's text
(:attr:`Layout.facts`, put in Ray's object store by the cluster).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import display_path
from ..language import ir
from ..language.data import parse_examples
from ..language.pairing import PairingMode, infer_pairing
from ..language.preprocess import read_text
from ..language.sources import Split, load_split

SHARED_EXAMPLE = (PairingMode.KNOWLEDGE_BASE,)
"""Pairings whose examples every shard needs (their facts are replicated, not cut)."""


@dataclass(frozen=True)
class Layout:
    """What cutting a split into shards needs to know: its pairing and its number of units."""

    mode: PairingMode
    units: int
    examples: int
    query_lines: int
    facts: str | None = None  # a knowledge base: the examples file's text, which every shard reads

    def bounds(self, index: int, count: int) -> tuple[int, int]:
        """The units ``[start, stop)`` of shard ``index`` of ``count``."""
        if self.mode in (PairingMode.UNLABELLED, PairingMode.EMPTY):
            return (0, self.units) if index == 0 else (0, 0)
        return self.units * index // count, self.units * (index + 1) // count


@dataclass(frozen=True)
class ShardData:
    """One shard's examples and query lines, and the index in the whole split of each of its examples."""

    examples: tuple[ir.Example, ...]
    query_lines: tuple[ir.QueryLine, ...]
    example_index: tuple[int, ...]
    examples_file: str | None
    queries_file: str | None

    @property
    def empty(self) -> bool:
        return not self.examples and not self.query_lines


def survey(split: Split) -> Layout:
    """The layout of ``split``'s files: pairing and units (and a knowledge base's facts to replicate)."""
    data = load_split(split)
    pairing = infer_pairing(data.examples, data.query_lines, examples_file=_name(split.examples),
                            queries_file=_name(split.queries))
    units = len(data.examples) if pairing.mode is PairingMode.LABELLED else \
        1 if pairing.mode in (PairingMode.UNLABELLED, PairingMode.EMPTY) else len(data.query_lines)
    facts = read_text(split.examples) if pairing.mode in SHARED_EXAMPLE else None
    return Layout(pairing.mode, units, len(data.examples), len(data.query_lines), facts)


def read_shard(split: Split, layout: Layout, index: int, count: int) -> ShardData:
    """Shard ``index`` of ``count`` of ``split`` (the table in the module docstring), read from the files.

    A knowledge base's example comes from ``layout.facts``; every other part is read
    from the split's files by this call.
    """
    start, stop = layout.bounds(index, count)
    names = (_name(split.examples), _name(split.queries))
    if start == stop:
        return ShardData((), (), (), *names)
    if layout.mode in SHARED_EXAMPLE:
        lines = load_split(Split(None, split.queries)).query_lines
        return ShardData(parse_examples(layout.facts or "", names[0]), lines[start:stop], (0,), *names)
    data = load_split(split)
    if layout.mode is PairingMode.LABELLED:
        return ShardData(data.examples[start:stop], (), tuple(range(start, stop)), *names)
    lines = data.query_lines[start:stop]
    if layout.mode is PairingMode.TEMPLATE_FACTS:
        return ShardData((), lines, (), *names)
    if layout.mode in (PairingMode.UNLABELLED, PairingMode.EMPTY):
        return ShardData(data.examples, data.query_lines, tuple(range(len(data.examples))), *names)
    pairing = infer_pairing(data.examples, data.query_lines, examples_file=names[0], queries_file=names[1])
    chosen = sorted(set(pairing.line_examples[start:stop]))
    return ShardData(tuple(data.examples[i] for i in chosen), lines, tuple(chosen), *names)


def global_examples(samples: list, shard: ShardData) -> tuple[list, list[int]]:
    """``samples`` of a shard with their example numbered as in the whole split, and which of them are
    named by their number (``s_<index>``: their example has no id), to be numbered as in the whole split too."""
    counted = [i for i, s in enumerate(samples)
               if s.example >= len(shard.examples) or shard.examples[s.example].id is None]
    if shard.example_index:
        samples = [replace(s, example=shard.example_index[s.example]) for s in samples]
    return samples, counted


def global_samples(shards: list[tuple[list, list[int]]]) -> list:
    """The samples of shards ``0, 1, ...`` (each with its counted ones, :func:`global_examples`) as the samples
    of the whole split: one after another, the counted ones named by their index in the whole split."""
    out = []
    for samples, counted in shards:
        offset = len(out)
        out += samples
        for i in counted:
            out[offset + i] = replace(out[offset + i], id=f"s_{offset + i}")
    return out


def _name(path: Path | None) -> str | None:
    return display_path(path) if path is not None else None
