"""A fast reader for example and query files, with lark behind it.

lark reads about 0.3 MB/s; data files reach many megabytes of plain fact lists in
which the same few thousand fact texts repeat (an NCI screen: 340k facts, 27k
distinct texts). The scanner reads those with one compiled regular expression and
converts each distinct fact text once:

1. Comments are blanked (offsets kept) and the text is cut into statements at every
   ``.`` not followed by a digit (a ``.`` followed by a digit belongs to a number).
2. A statement is split at ``:-`` / ``<=`` into label and body; each side must be a
   comma-separated run of *plain items* -- ``[<]value[>] name(term, ...)`` with a
   scalar or dense-vector value -- that the item regex covers without a gap.
3. Each distinct item text becomes a :class:`~.ir.Literal` once (terms and values are
   cached by their text too), is converted once by the caller's ``item`` function,
   and every later occurrence costs one dict lookup.

Anything else -- sparse or matrix values, named weights, ``!``/``~``/``*``/``@``,
a malformed statement, or a statement the caller's conversion rejects -- goes to
lark (:func:`.parser.parse_statements` on that statement's range), which parses
the rare forms or raises the positioned error. Both ways build the same IR.

Positions: a statement read by the scanner carries its :class:`~..errors.Span`
(the same one lark gives it); items inside it carry ``span=None``. Spans are
excluded from IR equality, so the scanner's IR equals lark's. Errors always come
from lark, so they always carry positions; when a text has several errors, the
scanner may report another one first than lark alone (which reports every syntax
error before any other).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Sequence, TypeVar

from ..errors import NeuralogicError, Span
from . import ir
from .parser import parse_number, parse_statements
from .preprocess import strip_comments
from .values import make_value

Item = TypeVar("Item")
Statement = TypeVar("Statement")
ItemOf = Callable[[ir.Literal], Item]
StatementOf = Callable[[tuple[ir.Literal, ...], tuple[Item, ...], "Span | None"], Statement]

# The lexical forms of grammars/neuralogic.lark (blanks are lark's WS, not Unicode's), so an
# item the regex accepts lexes the same way there. lark never splits a number token, so the
# regex may not backtrack into one either: "1.5e3x" must not read as 1.5 and the name "e3x".
_WS = r"[ \t\f\r\n]*"
_NUMBER = r"[+-]?(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)(?![.\deE])"
_NAME = r"[a-z][A-Za-z0-9_-]*"
# A variable or a name; with ':' after it, a type (lark's TYPE: `woman:` but not `h:-`).
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]*"
_TERM = rf"(?:{_IDENTIFIER}(?::(?!-){_WS}(?:{_IDENTIFIER}|{_NUMBER}))?|{_NUMBER})"
_VALUE = rf"(?:{_NUMBER}|\[{_WS}{_NUMBER}(?:{_WS},{_WS}{_NUMBER})*{_WS}\])"
_ARGUMENTS = rf"\({_WS}{_TERM}(?:{_WS},{_WS}{_TERM})*{_WS}\)"
_PLAIN_ITEM = rf"(?:(?:<{_WS}{_VALUE}{_WS}>|{_VALUE}){_WS})?{_NAME}(?:{_WS}{_ARGUMENTS})?"

# One item with the blanks around it, then its ',' -- or the end of the range for the last one.
_ITEM = re.compile(rf"({_WS}{_PLAIN_ITEM}{_WS})(?:,|\Z)")
# The parts of an item text that _ITEM accepted: '<', value, name, arguments.
_ITEM_PARTS = re.compile(rf"{_WS}(?:(<)?{_WS}({_VALUE}){_WS}>?{_WS})?({_NAME}){_WS}(?:\((.*)\))?{_WS}", re.DOTALL)
_STATEMENT_END = re.compile(r"\.(?!\d)")
_NON_BLANK = re.compile(r"[^ \t\f\r\n]")


def read_statements(text: str, file: str | None, item: ItemOf, statement: StatementOf, *,
                    fast: bool = True) -> list[Statement]:
    """Read the data statements of ``text``, each converted by ``statement(label, items, span)``.

    ``label`` holds the literals before ``:-`` (empty when there is none), ``items`` the
    body literals converted by ``item``. ``item`` must be a pure function of the
    literal apart from its span: the scanner calls it once per distinct item text.
    ``fast=False`` reads everything with lark (the reference path for tests and
    benchmarks).
    """
    if not fast:
        return lark_statements(text, file, item, statement, 0, len(text))
    return _Scanner(text, file, item, statement).run()


def lark_statements(text: str, file: str | None, item: ItemOf, statement: StatementOf,
                    start: int, end: int) -> list[Statement]:
    """Parse and convert the statements in ``text[start:end]`` with lark.

    ``start`` and ``end`` lie outside comments. Errors quote the user's whole line.
    """
    try:
        return [statement(label, tuple(map(item, body)), span)
                for label, body, span in parse_statements(text, file, start, end)]
    except NeuralogicError as e:
        # Spans of a range quote its first line blanked up to `start`; show the line as written.
        if e.span is not None and e.span.line >= 1:
            e.span = dataclasses.replace(e.span, text=_line(text, e.span.line))
        raise


def _line(text: str, number: int) -> str:
    """Line ``number`` (1-based) of ``text``."""
    start = 0
    for _ in range(number - 1):
        start = text.index("\n", start) + 1
    end = text.find("\n", start)
    return text[start:end if end >= 0 else len(text)]


class _Memo(dict):
    """``memo[key]`` computes ``make(key)`` once; hits stay in C (``dict.__getitem__``)."""

    def __init__(self, make: Callable):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


class _Lines:
    """Spans for increasing offsets in O(text) total, equal to :func:`..errors.span_in`'s."""

    def __init__(self, text: str, file: str | None):
        self.text = text
        self.file = file
        self.offset = 0           # offset the counters below refer to
        self.line = 1             # line number at `offset`
        self.line_start = 0       # offset where that line starts
        self.line_text: str | None = None

    def span(self, start: int, end: int) -> Span:
        text = self.text
        newlines = text.count("\n", self.offset, start)
        if newlines:
            self.line += newlines
            self.line_start = text.rfind("\n", self.offset, start) + 1
            self.line_text = None
        self.offset = start
        if self.line_text is None:
            line_end = text.find("\n", start)
            self.line_text = text[self.line_start:line_end if line_end >= 0 else len(text)]
        last_newline = text.rfind("\n", start, end)
        end_line = self.line + (text.count("\n", start, end) if last_newline >= 0 else 0)
        end_column = end - (last_newline + 1 if last_newline >= 0 else self.line_start) + 1
        return Span(self.file, self.line, start - self.line_start + 1, end_line, end_column, self.line_text)


class _Scanner:
    """One pass over one text; see the module docstring."""

    def __init__(self, text: str, file: str | None, item: ItemOf, statement: StatementOf):
        self.source = strip_comments(text, file)  # blanked, offsets kept: scanned, never shown
        self.text = text
        self.file = file
        self.item = item
        self.statement = statement
        self.items = _Memo(lambda key: item(self._literal(key)))
        self.literals = _Memo(self._literal)
        self.terms = _Memo(_term)
        self.values = _Memo(_value)
        self.lines = _Lines(text, file)

    def run(self) -> list[Statement]:
        out: list[Statement] = []
        source = self.source
        pending = -1  # start of a run of statements left to lark
        start = 0
        for m in _STATEMENT_END.finditer(source):
            end = m.end()
            result = self._statement(start, end)
            if result is None:
                pending = start if pending < 0 else pending
            else:
                if pending >= 0:
                    out.extend(self._lark(pending, start))
                    pending = -1
                out.append(result)
            start = end
        if _NON_BLANK.search(source, start):  # text after the last '.': lark says what is missing
            pending = start if pending < 0 else pending
        if pending >= 0:
            out.extend(self._lark(pending, len(source)))
        return out

    def _lark(self, start: int, end: int) -> list[Statement]:
        return lark_statements(self.text, self.file, self.item, self.statement, start, end)

    def _statement(self, start: int, end: int) -> Statement | None:
        """The statement ``source[start:end]`` (ending in '.') converted, or None to leave it to lark."""
        source = self.source
        stop = end - 1
        implied = source.find(":-", start, stop)
        if implied < 0:
            implied = source.find("<=", start, stop)
        if implied >= 0:
            label_texts = _items(source, start, implied)
            body_texts = _items(source, implied + 2, stop)
            if label_texts is None or body_texts is None:
                return None
        else:
            label_texts = ()
            body_texts = _items(source, start, stop)
            if body_texts is None:
                return None
        first = _NON_BLANK.search(source, start, end).start()  # type: ignore[union-attr]
        try:
            label = tuple(map(self.literals.__getitem__, label_texts))
            items = tuple(map(self.items.__getitem__, body_texts))
            return self.statement(label, items, self.lines.span(first, end))
        except NeuralogicError:
            return None  # lark repeats the conversion and raises the error with its position

    def _literal(self, text: str) -> ir.Literal:
        """The literal of an item text that ``_ITEM`` accepted."""
        fixed, value, name, arguments = _ITEM_PARTS.fullmatch(text).groups()  # type: ignore[union-attr]
        weight = None if value is None else ir.Weight(self.values[value], fixed=fixed is not None)
        terms = tuple(map(self.terms.__getitem__, arguments.split(","))) if arguments is not None else ()
        return ir.Literal(ir.Atom(name, terms), weight)


def _items(source: str, start: int, end: int) -> Sequence[str] | None:
    """The item texts of ``source[start:end]``, or None unless they cover it exactly.

    Matches never overlap and only the last one may end without its ',', so the
    lengths add up to the range's length exactly when nothing was skipped.
    """
    texts = _ITEM.findall(source, start, end)
    if not texts or sum(map(len, texts)) + len(texts) - 1 != end - start:
        return None
    return texts


def _term(text: str) -> ir.Term:
    """The term of a term text that ``_TERM`` accepted (blanks around it allowed)."""
    type_, colon, name = text.rpartition(":")
    type_ = type_.strip() if colon else None
    name = name.strip()
    if name[0].isupper() or name[0] == "_":
        return ir.Variable(name, type_)
    if name[0].islower():
        return ir.Constant(name, type_)
    return ir.Constant(parse_number(name), type_)


def _value(text: str) -> ir.Value:
    """The value of a number or ``[n, ...]`` text that ``_VALUE`` accepted."""
    if text[0] == "[":
        return make_value("vector", [x.strip() for x in text[1:-1].split(",")], None)
    return make_value("scalar", [text], None)
