"""Examples and query lines in chunks of bounded size, each paired as the whole set pairs.

Large sets are grounded chunk by chunk (:mod:`neuralogic_py.neural.chunked`). A
:class:`Chunk` holds some examples with the query lines that query them, so that grounding
it alone gives the samples the whole set gives for them (:mod:`.pairing`):

==================  =====================================================================
pairing             a chunk of size k
==================  =====================================================================
labelled,           k consecutive examples
unlabelled
order               k consecutive examples and the k query lines of the same positions
id                  k consecutive examples and the query lines naming them, in line order
knowledge base      the one example (all its facts) and k consecutive query lines
template facts      k consecutive query lines
==================  =====================================================================

``first_example`` is the index of the chunk's first example in the whole set (0 for a
knowledge base), ``lines[i]`` that of its query line ``i``: samples are numbered and
named as in one grounding of everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from . import ir
from .pairing import Pairing, PairingMode


@dataclass(frozen=True)
class Chunk:
    """Some examples and the query lines that query them (module docstring)."""

    examples: tuple[ir.Example, ...]
    query_lines: tuple[ir.QueryLine, ...]
    first_example: int
    lines: np.ndarray

    @property
    def size(self) -> int:
        """Examples, or query lines when the examples are one knowledge base (or none)."""
        return len(self.query_lines) if len(self.examples) <= 1 and self.query_lines else len(self.examples)


def by_queries(pairing: Pairing) -> bool:
    """Whether chunks of this pairing are cut in the query lines (one knowledge base, template facts)."""
    return pairing.mode in (PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS)


def chunks_of(examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine], pairing: Pairing,
              size: int) -> Iterator[Chunk]:
    """The chunks of at most ``size`` examples (query lines for a knowledge base) of data paired by ``pairing``."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    examples, query_lines = tuple(examples), tuple(query_lines)
    if by_queries(pairing):
        for at in range(0, len(query_lines), size):
            yield Chunk(examples, query_lines[at:at + size], 0, np.arange(at, min(at + size, len(query_lines))))
        return
    line_examples = np.asarray(pairing.line_examples, np.int64)
    order = np.argsort(line_examples, kind="stable")  # query lines by example, in line order per example
    bounds = np.searchsorted(line_examples[order], np.arange(0, len(examples) + size, size))
    for k, at in enumerate(range(0, len(examples), size)):
        lines = np.sort(order[bounds[k]:bounds[k + 1]])
        yield Chunk(examples[at:at + size], tuple(query_lines[i] for i in lines.tolist()), at, lines)


def count_chunks(pairing: Pairing, size: int) -> int:
    """How many chunks :func:`chunks_of` gives."""
    n = pairing.query_lines if by_queries(pairing) else pairing.examples
    return -(-n // size)
