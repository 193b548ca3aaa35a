"""Stage lines: what a long command is doing, said on stderr as each stage starts, with its size.

The pipeline announces its stages where they run (``stage("grounding", "188 examples")`` prints
``grounding 188 examples ...``) and what each produced (``done("9,876 ground atoms")`` prints
``  9,876 ground atoms (0.41 s)``, the time since the stage started), and notes choices made
for the user (``note``: a file taken, a default applied). Nothing is printed unless the caller
turned the lines on with :func:`stage_lines`: the ``nlp`` commands that train or evaluate do
(``--no-progress`` keeps them off), so the Python API stays quiet. The setting is a context
variable, so threads and nested calls each see their own.

Only the standard library is imported here: the parser and the CLI import this module early.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO


@dataclass
class _Lines:
    stream: TextIO
    stages: bool  # stage lines too, or only notes
    started: float = 0.0


_LINES: ContextVar[_Lines | None] = ContextVar("neuralogic_py_stage_lines", default=None)


@contextlib.contextmanager
def stage_lines(enabled: bool = True, stream: TextIO | None = None, *, stages: bool = True) -> Iterator[None]:
    """Print notes and (with ``stages``) stage lines to ``stream`` (default stderr) inside this block when
    ``enabled``."""
    token = _LINES.set(_Lines(stream or sys.stderr, stages) if enabled else None)
    try:
        yield
    finally:
        _LINES.reset(token)


def stage(what: str, size: str = "") -> None:
    """A stage starts: ``what size ...``."""
    lines = _LINES.get()
    if lines is not None and lines.stages:
        lines.started = time.perf_counter()
        _print(lines, f"{what} {size} ..." if size else f"{what} ...")


def done(result: str) -> None:
    """The stage begun last ended, having made ``result``: ``  result (seconds)``."""
    lines = _LINES.get()
    if lines is not None and lines.stages:
        _print(lines, f"  {result} ({time.perf_counter() - lines.started:.2f} s)")


def note(text: str) -> None:
    """A line about a choice made for the user (a file taken, a default applied)."""
    lines = _LINES.get()
    if lines is not None:
        _print(lines, text)


def sized(n: int, singular: str, plural: str | None = None) -> str:
    """``1 example``, ``30,246 ground atoms``: a count as stage lines write it (thousands grouped)."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _print(lines: _Lines, text: str) -> None:
    print(text, file=lines.stream, flush=True)
