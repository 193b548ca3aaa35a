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

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import SourceError, ValidationError, display_path
from . import ir
from .data import parse_examples, parse_queries
from .pairing import Pairing, PairingMode, counted
from .preprocess import strip_comments
from .sources import Split


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


# --------------------------------------------------------------------------- streamed from files

BLOCK = 1 << 20  # bytes read at a time while finding statements
_BOUNDARY = re.compile(rb"%[^\n]*|/\*|\*/|\.(?![0-9])")  # outside comments: a comment, or a statement's end
_IN_COMMENT = re.compile(rb"/\*|\*/")


@dataclass(frozen=True)
class FileRange:
    """Bytes ``start:stop`` of a data file (``stop`` None: to its end); ``start`` is where a statement starts, on
    ``line`` and ``column`` (1-based, characters), so positions in messages are the file's."""

    start: int = 0
    stop: int | None = None
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Statement:
    """Where one statement lies in its file: bytes ``start:end`` (from just after the previous one's ``.``)."""

    start: int
    end: int
    line: int
    column: int


def statements(path: str | Path, within: FileRange = FileRange(), block: int = BLOCK) -> Iterator[Statement]:
    """The statements of a data file that start in ``within``, found without parsing them.

    A statement ends at a ``.`` not followed by a digit, outside ``%`` and ``/* */``
    comments (as the scanner cuts them, :mod:`.scanner`). Text after the last ``.`` that
    is more than blanks and comments is one more (unterminated) statement, for the parser to
    report. The file is read ``block`` bytes at a time; memory is a block or one line.
    """
    stop = within.stop
    with _open(path) as f:
        f.seek(within.start)
        base, carry, depth = within.start, b"", 0  # buffer start (a line start but at first), unread rest, nesting
        lines = within.line  # the line at ``base``
        begin, line, column = within.start, within.line, within.column  # where the next statement starts
        while True:
            data = f.read(block)
            buf = carry + data
            cut = buf.rfind(b"\n") + 1 if data else len(buf)  # whole lines only, but at the end
            if data and cut == 0:
                carry = buf
                continue
            pos = 0
            while pos < cut:
                m = (_IN_COMMENT if depth else _BOUNDARY).search(buf, pos, cut)
                if m is None:
                    break
                pos, token = m.end(), m.group()
                if token == b"/*":
                    depth += 1
                elif token == b"*/":
                    depth = max(depth - 1, 0)
                elif not depth and token == b".":
                    if stop is not None and begin >= stop:
                        return
                    yield Statement(begin, base + pos, line, column)
                    line = (line if begin >= base else lines) + buf.count(b"\n", max(begin - base, 0), pos)
                    begin = base + pos
                    newline = buf.rfind(b"\n", 0, pos)
                    column = len(buf[newline + 1:pos].decode("utf-8", "replace")) + 1
                    if newline < 0 and base == within.start:
                        column += within.column - 1
            if not data:
                end = base + len(buf)
                if (stop is None or begin < stop) and _has_text(path, begin, end):
                    yield Statement(begin, end, line, column)
                return
            lines += buf.count(b"\n", 0, cut)
            base, carry = base + cut, buf[cut:]


def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise SourceError(f"file not found: {display_path(path)}") from None
    except IsADirectoryError:
        raise SourceError(f"expected a file but got a directory: {display_path(path)}") from None


def _text(path: str | Path, start: int, end: int) -> str:
    """Bytes ``start:end`` of a file as text."""
    with _open(path) as f:
        f.seek(start)
        raw = f.read(end - start)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SourceError(f"{display_path(path)} is not UTF-8 text ({e.reason} at byte {start + e.start})") from None


def _has_text(path: str | Path, start: int, end: int) -> bool:
    """Whether bytes ``start:end`` hold more than blanks and comments."""
    return bool(strip_comments(_text(path, start, end), display_path(path)).strip())


def _parsed(path: Path, group: list[Statement], parse: Callable[[str, str], tuple]) -> tuple:
    """The statements of ``group`` parsed, with positions in the file (their text laid at its line and column)."""
    first = group[0]
    text = _text(path, first.start, group[-1].end)
    return parse("\n" * (first.line - 1) + " " * (first.column - 1) + text, display_path(path))


def _grouped(items: Iterator[Statement], size: int, max_bytes: int | None) -> Iterator[list[Statement]]:
    """Consecutive statements in groups of at most ``size`` and (but for a single one) ``max_bytes`` bytes."""
    group: list[Statement] = []
    for item in items:
        if group and (len(group) >= size or (max_bytes is not None and item.end - group[0].start > max_bytes)):
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def read_statement_groups(path: Path, size: int, parse: Callable[[str, str], tuple]) -> Iterator[tuple]:
    """The statements of a data file parsed (``parse_examples`` or ``parse_queries``) ``size`` at a time."""
    for group in _grouped(statements(path), size, None):
        yield _parsed(path, group, parse)


@dataclass(frozen=True)
class Part:
    """One part of a split's files for one reader (a worker): byte ranges of the examples and queries files,
    and the index of the part's first example and query line in the whole split.

    ``mode`` is how the whole split pairs (:func:`file_pairing`); a knowledge base's facts
    (or an id-paired queries file) are read whole by every part.
    """

    mode: PairingMode
    examples: FileRange = FileRange()
    queries: FileRange = FileRange()
    first_example: int = 0
    first_line: int = 0


def file_pairing(split: Split) -> PairingMode:
    """How the files of ``split`` pair (:mod:`.pairing`), from their statement counts and first statements."""
    n = sum(1 for _ in statements(split.examples)) if split.examples else 0
    m = sum(1 for _ in statements(split.queries)) if split.queries else 0
    first = first_statement(split.examples, parse_examples) if n else None
    line = first_statement(split.queries, parse_queries) if m else None
    if m == 0:
        return PairingMode.EMPTY if n == 0 else PairingMode.LABELLED if first.queries else PairingMode.UNLABELLED
    if n == 0:
        return PairingMode.TEMPLATE_FACTS
    if first.queries:
        raise ValidationError("examples are labelled inline (e.g. '1.0 q :- facts.') and a queries file is given "
                              "too", first.span, "use either labelled examples or a queries file, not both")
    if line.id is not None:
        return PairingMode.ID
    if n == 1:
        return PairingMode.KNOWLEDGE_BASE
    if n != m:
        raise ValidationError(f"{counted(n, 'example')} but {counted(m, 'query line')}: queries pair with examples "
                              "by order, so the counts must be equal",
                              hint="or link them by id: 'e1 :- facts.' in the examples, 'e1 :- 1.0 q.' in the queries")
    return PairingMode.ORDER


def first_statement(path: Path, parse: Callable[[str, str], tuple]) -> Any:
    """The first statement of a data file, parsed by ``parse`` (None when the file has none)."""
    found = next(statements(path), None)
    return None if found is None else _parsed(path, [found], parse)[0]


def read_chunks(split: Split, size: int, part: Part | None = None, max_bytes: int | None = None) -> Iterator[Chunk]:
    """The chunks of ``split``'s files (of one ``part`` of them), read as they are grounded.

    Chunks hold at most ``size`` examples (query lines of a knowledge base or on template
    facts) and, unless a single statement is larger, ``max_bytes`` bytes of them. Only the
    chunk being read is in memory, and a knowledge base's facts (read once); an id-paired
    queries file is read whole, to find each example's lines.
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    part = part or Part(file_pairing(split))
    mode = part.mode
    if mode in (PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS):
        examples = _parsed(split.examples, list(statements(split.examples)), parse_examples) \
            if split.examples else ()
        at = part.first_line
        for group in _grouped(statements(split.queries, part.queries), size, max_bytes):
            lines = _parsed(split.queries, group, parse_queries)
            yield Chunk(examples, lines, 0, np.arange(at, at + len(lines)))
            at += len(lines)
        return
    if mode is PairingMode.ID:
        yield from _by_id(split, size, part, max_bytes)
        return
    at = part.first_example
    query_groups = statements(split.queries, part.queries) if mode is PairingMode.ORDER else None
    for group in _grouped(statements(split.examples, part.examples), size, max_bytes):
        examples = _parsed(split.examples, group, parse_examples)
        lines: tuple = ()
        if query_groups is not None:
            mine = [s for _, s in zip(group, query_groups)]
            lines = _parsed(split.queries, mine, parse_queries) if mine else ()
            if len(lines) != len(examples):
                raise ValidationError(f"example {at + len(lines) + 1} has no query line: queries pair with examples "
                                      "by order, so the counts must be equal", examples[len(lines)].span)
        yield Chunk(examples, lines, at, np.arange(at, at + len(lines)))
        at += len(examples)


def _by_id(split: Split, size: int, part: Part, max_bytes: int | None) -> Iterator[Chunk]:
    """Chunks of examples with the lines of an id-paired queries file that name them (read whole)."""
    query_lines = _parsed(split.queries, list(statements(split.queries)), parse_queries)
    by_key: dict[str, list[int]] = {}
    for i, line in enumerate(query_lines):
        if line.id is None:
            raise ValidationError("this query line names no example, but others do", line.span,
                                  "write 'id :- queries.' on every line, or on none")
        by_key.setdefault(ir.example_key(line.id), []).append(i)
    seen: set[str] = set()
    at = part.first_example
    for group in _grouped(statements(split.examples, part.examples), size, max_bytes):
        examples = _parsed(split.examples, group, parse_examples)
        lines = []
        for example in examples:
            if example.id is None:
                raise ValidationError("query lines name examples by id, but this example has no id", example.span,
                                      "write examples as 'id :- facts.'")
            key = ir.example_key(example.id)
            if key in seen:
                raise ValidationError(f"example id '{key}' is used twice", example.span)
            seen.add(key)
            lines += by_key.get(key, [])
        lines.sort()
        yield Chunk(examples, tuple(query_lines[i] for i in lines), at, np.array(lines, np.int64))
        at += len(examples)
    missing = [key for key in by_key if key not in seen]
    if missing and part.examples == FileRange():
        first = query_lines[by_key[missing[0]][0]]
        raise ValidationError(f"query lines name {counted(len(missing), 'example id')} that no example has: "
                              f"{', '.join(missing[:5])}", first.span)


def split_parts(split: Split, parts: int) -> list[Part]:
    """``split``'s files cut into (at most) ``parts`` parts of about equal numbers of examples (query lines of a
    knowledge base or on template facts), each cut at a statement, for readers that read a part each."""
    mode = file_pairing(split)
    cut_queries = mode in (PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS)
    path = split.queries if cut_queries else split.examples
    if path is None:
        return [Part(mode)]
    n = sum(1 for _ in statements(path))
    starts = [round(k * n / parts) for k in range(parts)]
    starts = sorted(set(starts))
    ranges = _ranges(path, starts)
    other = _ranges(split.queries, starts) if mode is PairingMode.ORDER else [FileRange()] * len(starts)
    if cut_queries:
        return [Part(mode, FileRange(), r, 0, k) for r, k in zip(ranges, starts)]
    return [Part(mode, r, q, k, k if mode is PairingMode.ORDER else 0) for r, q, k in zip(ranges, other, starts)]


def _ranges(path: Path, starts: list[int]) -> list[FileRange]:
    """The byte ranges of a file's statements ``starts[k]:starts[k + 1]`` (the last to the end)."""
    wanted = set(starts)
    found = [s for k, s in enumerate(statements(path)) if k in wanted]
    return [FileRange(s.start, found[k + 1].start if k + 1 < len(found) else None, s.line, s.column)
            for k, s in enumerate(found)]
