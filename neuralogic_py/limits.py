"""How much memory one step may take: sizes are estimated before allocating and checked here.

The limit is ``--max-memory`` (``nlp ground``, ``compress``, ``train``, ...) or, by default,
80% of the machine's physical memory. A step that would pass it stops with a
:class:`ResourceError` naming what it was about to build (a grounding join of a rule, a
weight of a huge declared shape) and the estimate, instead of a ``MemoryError`` or minutes
of swapping.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from .errors import NeuralogicError, Span

DEFAULT_FRACTION = 0.8  # of the physical memory
FALLBACK = 8 << 30  # when the platform does not tell its memory
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)

_limit: int | None = None  # set by memory_limit(); None: the default


class ResourceError(NeuralogicError):
    """A step would need more memory than the limit allows."""


def physical_memory() -> int | None:
    """The machine's physical memory in bytes, when the platform tells it."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def max_memory() -> int:
    """The limit in force, in bytes."""
    if _limit is not None:
        return _limit
    physical = physical_memory()
    return int(DEFAULT_FRACTION * physical) if physical else FALLBACK


@contextlib.contextmanager
def memory_limit(limit: int | None) -> Iterator[None]:
    """Use ``limit`` bytes (None: the default) as the limit inside the block."""
    global _limit
    before, _limit = _limit, limit
    try:
        yield
    finally:
        _limit = before


def parse_size(text: str) -> int:
    """``4G``, ``500M``, ``1.5GiB``, ``100000`` (bytes) as a number of bytes; ValueError otherwise."""
    m = _SIZE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def size_text(size: float) -> str:
    """Bytes, as a person reads them: ``74.5 GiB``."""
    unit = "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"


def check_memory(needed: float, what: str, span: Span | None = None, hint: str | None = None) -> None:
    """Stop with a :class:`ResourceError` when ``what`` would take more than the limit (``needed`` bytes)."""
    if needed > max_memory():
        raise memory_error(needed, what, span, hint)


def memory_error(needed: float, what: str, span: Span | None = None, hint: str | None = None) -> ResourceError:
    """The error of ``what``, which would take ``needed`` bytes, more than the limit."""
    return ResourceError(f"{what} would need about {size_text(needed)} of memory, more than the limit of "
                         f"{size_text(max_memory())}", span,
                         hint or "--max-memory SIZE changes the limit (default: 80% of the machine's memory)")
