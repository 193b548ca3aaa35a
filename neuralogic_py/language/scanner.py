"""A fast reader for example and query files, with lark behind it.

lark reads about 0.3 MB/s; data files reach many megabytes of plain fact lists
(an NCI screen: 5 MB, 340k facts). The scanner reads those with a few passes of
string methods and numpy over the whole text, never a Python step per fact:

1. Comments are blanked (offsets kept) and the text is cut into statements at every
   ``.`` not followed by a digit (a ``.`` followed by a digit belongs to a number).
2. The statements are joined with one separator character and cut into *chunks* at
   every ``),``. When chunks recur (molecule data: atom names repeat across
   molecules), each distinct chunk is read once below and its items are copied to
   every place it occurs; otherwise the whole text is read at once.
3. ``:-`` / ``<=`` become another separator, and the text is split at every
   separator, ``(``, ``)``, ``,`` and ``),`` (commas inside ``[...]`` excepted). The
   sequence of delimiters alone gives every token its role -- a *head*
   ``[<]value[>] name`` starting an item, a *term* inside parentheses, or the blank
   between ``)`` and the next delimiter -- and shows whether each statement is a
   comma-separated run of *plain items* ``[<]value[>] name(term, ...)`` with a scalar
   or dense-vector value, optionally split into label and body at one ``:-``.
4. Each distinct token text is checked and converted once (the lexical forms below
   are lark's, so an accepted token lexes the same way there), and the items become
   integer columns of one :class:`~.items.ItemTable`. The caller's ``item``
   conversion runs once per distinct item, and with ``lazy`` only when the items
   are first read.

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
from itertools import accumulate, compress, count
from operator import not_
from typing import Callable, Sequence, TypeVar

import numpy as np

from ..errors import NeuralogicError, Span
from . import ir
from .items import Items, ItemTable
from .parser import MAX_INTEGER_DIGITS, parse_number, parse_statements
from .preprocess import strip_comments
from .values import make_value

Item = TypeVar("Item")
Statement = TypeVar("Statement")
ItemOf = Callable[[ir.Literal], Item]
StatementOf = Callable[[tuple[ir.Literal, ...], Sequence[Item], "Span | None"], Statement]

# The lexical forms of grammars/neuralogic.lark (blanks are lark's WS, not Unicode's), so a
# token the regexes accept lexes the same way there. lark never splits a number token, so
# the regexes may not backtrack into one either: "1.5e3x" must not read as 1.5 and the name "e3x".
_WS = r"[ \t\f\r\n]*"
_NUMBER = r"[+-]?(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)(?![.\deE])"
_NAME = r"[a-z][A-Za-z0-9_-]*"
# A variable or a name; with ':' after it, a type (lark's TYPE: `woman:` but not `h:-`).
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]*"
_TERM = rf"(?:{_IDENTIFIER}(?::(?!-){_WS}(?:{_IDENTIFIER}|{_NUMBER}))?|{_NUMBER})"
_VALUE = rf"(?:{_NUMBER}|\[{_WS}{_NUMBER}(?:{_WS},{_WS}{_NUMBER})*{_WS}\])"

# Token forms (matched whole): the head of an item with its '<' and value, a term, a name constant.
_HEAD = re.compile(rf"{_WS}(?:(?:<{_WS}({_VALUE}){_WS}>|({_VALUE})){_WS})?({_NAME}){_WS}")
_TERM_TOKEN = re.compile(rf"{_WS}{_TERM}{_WS}")
_PLAIN_TOKEN = re.compile(rf"{_NAME}|[+-]?\d{{1,{MAX_INTEGER_DIGITS}}}")  # an untyped name or integer, no blanks
_STATEMENT_END = re.compile(r"\.(?!\d)")
_NON_BLANK = re.compile(r"[^ \t\f\r\n]")

# Characters the scanner uses as separators internally; a statement containing one goes to lark.
_END, _IMPLIES, _VECTOR_COMMA, _CLOSE_COMMA = "\x00", "\x01", "\x02", "\x03"
_RESERVED = re.compile("[\x00-\x03]")
_PLAIN_TOKENS = re.compile(rf"(?:(?:{_PLAIN_TOKEN.pattern}){_END})*")
_NOT_DELIMITER = bytes(b for b in range(256) if b not in b"(),\x00\x01\x03")
_TO_SEPARATOR = str.maketrans({"(": _END, ")": _END, ",": _END, _IMPLIES: _END, _CLOSE_COMMA: _END})
_SAMPLE_CHUNKS, _RECURRING = 4096, 0.75  # read chunks once each when at most 3/4 of the first ones differ
_OPEN, _CLOSE, _CLOSE_COMMA_CODE = ord("("), ord(")"), ord(_CLOSE_COMMA)


def read_statements(text: str, file: str | None, item: ItemOf, statement: StatementOf, *,
                    fast: bool = True, lazy: bool = False) -> list[Statement]:
    """Read the data statements of ``text``, each converted by ``statement(label, items, span)``.

    ``label`` holds the literals before ``:-`` (empty when there is none), ``items`` the
    body literals converted by ``item``. ``item`` must be a pure function of the
    literal apart from its span: the scanner calls it once per distinct item. With
    ``lazy``, a body read by the scanner is an :class:`~.items.Items` sequence whose
    items are converted when first read, so ``item`` must accept every ground plain
    literal (bodies with variables are still converted at once, so ``item`` may
    reject those); otherwise ``items`` is a tuple. ``fast=False`` reads everything
    with lark (the reference path for tests and benchmarks).
    """
    if not fast:
        return lark_statements(text, file, item, statement, 0, len(text))
    return _Scanner(text, file, item, statement, lazy).run()


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


def _spans(text: str, file: str | None, starts: list[int], ends: list[int]) -> list[Span]:
    """The spans of ``text[starts[k]:ends[k]]``, equal to :func:`..errors.span_in`'s, found together."""
    ascii_ = text.isascii()
    chars = np.frombuffer(text.encode() if ascii_ else text.encode("utf-32-le"), dtype=np.uint8 if ascii_ else np.uint32)
    newlines = np.flatnonzero(chars == 10)
    start, end = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    before = np.searchsorted(newlines, start)  # newlines before each start, and before each end
    upto = np.searchsorted(newlines, end)
    after_newline = np.concatenate(([0], newlines + 1))  # where line 1, 2, ... starts
    line_start = after_newline[before]
    line_end = np.append(newlines, len(text))[before]
    column = start - line_start + 1
    end_column = end - np.where(upto > before, after_newline[upto], line_start) + 1
    line_text: dict[int, str] = {}
    return [Span(file, line + 1, col, last + 1, end_col, line_text.get(a) or line_text.setdefault(a, text[a:b]))
            for line, col, last, end_col, a, b in zip(before.tolist(), column.tolist(), upto.tolist(),
                                                       end_column.tolist(), line_start.tolist(), line_end.tolist())]


@dataclasses.dataclass
class _Scan:
    """The plain items of a text's statements, and per statement how they split.

    Statement ``k`` is plain when ``plain[k]``; then its label is items
    ``first[k] .. body[k] - 1`` and its body items ``body[k] .. stop[k] - 1``.
    ``variables[k]``: some item of the statement has a variable.
    """

    table: ItemTable
    plain: list[bool]
    first: list[int]
    body: list[int]
    stop: list[int]
    variables: list[bool]


class _Scanner:
    """One pass over one text; see the module docstring."""

    def __init__(self, text: str, file: str | None, item: ItemOf, statement: StatementOf, lazy: bool):
        self.source = strip_comments(text, file)  # blanked, offsets kept: scanned, never shown
        self.text = text
        self.file = file
        self.item = item
        self.statement = statement
        self.lazy = lazy
        self.keys: list[tuple[int, ...]] | None = None

    def run(self) -> list[Statement]:
        out: list[Statement] = []
        source = self.source
        pieces = _STATEMENT_END.split(source)  # the statements without their '.', then what follows the last
        scan = _scan(pieces[:-1])
        memo: dict = {}
        # items converted at once (not lazily): the keys of all of them in one go
        self.keys = None if self.lazy else scan.table.keys(0, len(scan.table))
        ends = list(accumulate(len(piece) + 1 for piece in pieces[:-1]))
        plain = list(compress(range(len(ends)), scan.plain))
        # a statement's span runs from its first non-blank character to its '.'
        first = [_NON_BLANK.search(source, ends[k] - len(pieces[k]) - 1).start() for k in plain]  # type: ignore
        spans: list[Span | None] = [None] * len(ends)
        for k, span in zip(plain, _spans(self.text, self.file, first, [ends[k] for k in plain])):
            spans[k] = span
        pending = -1  # start of a run of statements left to lark
        start = 0
        for k, end in enumerate(ends):
            span = spans[k]
            result = None if span is None else self._statement(scan, k, span, memo)
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

    def _statement(self, scan: _Scan, k: int, span: Span, memo: dict) -> Statement | None:
        """Plain statement ``k`` converted, or None to leave it to lark."""
        table = scan.table
        body, stop = scan.body[k], scan.stop[k]
        try:
            label = tuple(map(table.literal, range(scan.first[k], body)))
            items: Sequence[Item]
            if not self.lazy:
                items = table.convert(body, stop, self.item, memo, self.keys[body:stop])  # type: ignore[index]
            elif scan.variables[k]:
                items = table.convert(body, stop, self.item, memo)
            else:
                items = Items(table, body, stop, self.item, memo)
            return self.statement(label, items, span)
        except NeuralogicError:
            return None  # lark repeats the conversion and raises the error with its position


def _scan(statements: list[str]) -> _Scan:
    """Read the plain items of ``statements`` (texts without their final '.'); see the module docstring."""
    n_statements = len(statements)
    text = _END.join(statements)
    if text.count(_END) != n_statements - 1 or _IMPLIES in text or _VECTOR_COMMA in text or _CLOSE_COMMA in text:
        # a statement holding a separator character cannot be plain: replace it by one that is not
        text = _END.join("?" if _RESERVED.search(s) else s for s in statements)
    read, rows = _items_of(text.replace("), ", _CLOSE_COMMA).replace("),", _CLOSE_COMMA) + _END)
    opens_statement = read.opens_statement[rows]
    opens_statement[0] = True  # the text's first item; its chunk may recur after a '),' elsewhere
    statement = np.cumsum(opens_statement) - 1
    rows = rows[statement < n_statements]  # items after the last '.' (only blanks there) are dropped
    statement = statement[:len(rows)]

    bad = np.bincount(statement[read.bad[rows]], minlength=n_statements) > 0
    bad |= np.bincount(statement[read.opens_body[rows]], minlength=n_statements) > 1  # a second ':-'
    plain = ~bad[statement]  # the table keeps the items of plain statements only
    rows, statement = rows[plain], statement[plain]
    opens_body = np.flatnonzero(read.opens_body[rows])
    first_item = np.searchsorted(statement, np.arange(n_statements))
    stop = np.searchsorted(statement, np.arange(n_statements), side="right")
    body = first_item.copy()
    body[statement[opens_body]] = opens_body
    variables = np.bincount(statement[read.variable[rows]], minlength=n_statements) > 0
    table = ItemTable(read.names, read.weights, read.plain_terms, read.other_terms, read.head[rows],
                      read.arity[rows], read.start[rows], read.terms)
    return _Scan(table, (~bad).tolist(), first_item.tolist(), body.tolist(), stop.tolist(), variables.tolist())


def _items_of(text: str) -> tuple[_Read, np.ndarray]:
    """The items of ``text`` (statements ending in the end separator, '),' already one character):
    the items of its chunks, and which of them make up the text, in order."""
    # Chunks, the texts between two '),', recur in molecule data (atom names repeat across molecules):
    # then each distinct chunk is read once and its items are copied to each place it occurs. Where
    # the first chunks do not recur (names unique to each example), the whole text is read at once.
    sample = text.split(_CLOSE_COMMA, _SAMPLE_CHUNKS)[:_SAMPLE_CHUNKS]
    if len(set(sample)) > _RECURRING * len(sample):
        read = _read_chunks(_normalized(text) + _CLOSE_COMMA)
        return read, np.arange(len(read.head))
    chunks = text.split(_CLOSE_COMMA)
    seen: dict[str, int] = {}
    first = np.fromiter(map(seen.setdefault, chunks, count()), dtype=np.int64, count=len(chunks))
    read = _read_chunks(_normalized(_CLOSE_COMMA.join(seen)) + _CLOSE_COMMA)
    distinct_at = np.zeros(len(chunks), dtype=np.int64)
    distinct_at[np.flatnonzero(first == np.arange(len(chunks)))] = np.arange(len(seen))
    occurrence = distinct_at[first]
    chunk_first = np.searchsorted(read.chunk, np.arange(len(seen)))
    size = np.bincount(read.chunk, minlength=len(seen))[occurrence]
    return read, np.arange(int(size.sum())) + np.repeat(chunk_first[occurrence] - (np.cumsum(size) - size), size)


@dataclasses.dataclass
class _Read:
    """The items of a text of chunks, each chunk followed by a '),' separator (see :func:`_read_chunks`).

    Per item: ``head`` (index into ``names``/``weights``, -1 when not a valid head),
    ``arity``, ``start`` (its first term in ``terms``), ``chunk``, whether it is
    ``bad`` (a token or delimiter of it is wrong), whether a statement end
    (``opens_statement``) or ':-' (``opens_body``) comes right before it, and
    whether it has a ``variable``.
    """

    names: list[str]
    weights: list[ir.Weight | None]
    plain_terms: list[str | int]
    other_terms: list[ir.Term]
    terms: np.ndarray
    head: np.ndarray
    arity: np.ndarray
    start: np.ndarray
    chunk: np.ndarray
    bad: np.ndarray
    opens_statement: np.ndarray
    opens_body: np.ndarray
    variable: np.ndarray


def _read_chunks(text: str) -> _Read:
    """Tokens, roles and checks of ``text``, chunk by chunk: parenthesis depth restarts after every
    '),' and statement end, so each chunk reads the same wherever it occurs."""
    # codes[j] is the delimiter after token j; the token after the last separator is dropped
    codes = np.frombuffer(text.encode().translate(None, _NOT_DELIMITER), dtype=np.uint8)
    tokens = text.translate(_TO_SEPARATOR).split(_END)
    tokens.pop()
    n = len(tokens)
    opening, closing = codes == _OPEN, codes == _CLOSE  # '),' is one delimiter: it closes, then separates
    ends, implies, separators = codes == 0, codes == 1, codes == 3
    restarts = ends | separators
    segment = np.cumsum(restarts) - restarts  # restarts before each delimiter
    depth = np.cumsum(opening, dtype=np.int64) - np.cumsum(closing | separators, dtype=np.int64)
    depth -= np.concatenate(([0], depth[restarts]))[segment]  # depth after each delimiter, within its segment
    wrong = (depth < 0) | (depth > 1) | ((restarts | implies) & (depth != 0))
    wrong[1:] |= opening[1:] & closing[:-1]  # f(a)(b)

    # token j > 0 follows delimiter j - 1: inside parentheses a term, after a lone ')' a blank, else a head
    is_term = np.zeros(n, dtype=bool)
    is_term[1:] = depth[:-1] == 1
    is_rest = np.zeros(n, dtype=bool)
    is_rest[1:] = closing[:-1]
    is_head = ~(is_term | is_rest)
    item_of_token = np.cumsum(is_head) - 1
    # each distinct token text is read once: ids[j] is the position of token j's first occurrence
    seen: dict[str, int] = {}
    ids = np.fromiter(map(seen.setdefault, tokens, count()), dtype=np.int64, count=n)
    head_ids, term_ids, rest_ids = ids[is_head], ids[is_term], ids[is_rest]
    names, weights, head_index = _heads(tokens, head_ids)
    plain_terms, other_terms, term_index, variable = _terms(tokens, term_ids)
    head = head_index[head_ids]
    terms = term_index[term_ids]

    n_items = len(head)
    bad = np.zeros(n_items, dtype=bool)
    bad[item_of_token[wrong]] = True
    bad[head < 0] = True
    bad[item_of_token[is_term][terms < 0]] = True
    not_blank = [j for j in _distinct(rest_ids, n).tolist() if _NON_BLANK.search(tokens[j])]
    if not_blank:
        bad[item_of_token[is_rest][np.isin(rest_ids, not_blank)]] = True
    arity = np.bincount(item_of_token[is_term], minlength=n_items)
    after = np.concatenate(([_CLOSE_COMMA_CODE], codes[:-1]))[is_head]  # the delimiter before each item
    has_variable = np.zeros(n_items, dtype=bool)
    has_variable[item_of_token[is_term][np.append(variable, False)[terms]]] = True
    chunk = np.concatenate(([0], np.cumsum(separators)[:-1]))[is_head]
    return _Read(names, weights, plain_terms, other_terms, terms.astype(np.int32), head.astype(np.int32),
                 arity.astype(np.int32), np.cumsum(arity) - arity, chunk, bad, after == 0, after == 1, has_variable)


def _normalized(text: str) -> str:
    """Chunks with the blank after each ',' dropped (fewer distinct term texts; it carries no meaning),
    commas inside ``[...]`` protected, and ``:-`` / ``<=`` as one separator character."""
    text = text.replace(", ", ",")
    if "[" in text:
        text = _protect_vector_commas(text)
    if ":" in text:  # one-character searches are much faster than two-character ones
        text = text.replace(":-", _IMPLIES)
    return text.replace("<=", _IMPLIES) if "<" in text else text


def _protect_vector_commas(text: str) -> str:
    """``text`` with the commas inside ``[...]`` replaced by a separator character (within a chunk)."""
    chars = np.frombuffer(text.encode(), dtype=np.uint8).copy()
    restarts = (chars == 0) | (chars == ord(_CLOSE_COMMA))
    depth = np.cumsum(chars == ord("["), dtype=np.int64) - np.cumsum(chars == ord("]"), dtype=np.int64)
    depth -= np.concatenate(([0], depth[restarts]))[np.cumsum(restarts) - restarts]
    chars[(chars == ord(",")) & (depth > 0)] = ord(_VECTOR_COMMA)
    return chars.tobytes().decode()


def _distinct(ids: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of ``ids`` (in ``0 .. size - 1``), sorted."""
    return np.flatnonzero(np.bincount(ids, minlength=size))


def _heads(tokens: list[str], ids: np.ndarray) -> tuple[list[str], list[ir.Weight | None], np.ndarray]:
    """Predicate names and weights of the distinct head tokens, and ``token id -> head`` (-1: not a head)."""
    index = np.full(len(tokens), -1, dtype=np.int64)
    heads: dict[tuple[str, ir.Weight | None], int] = {}  # texts that differ in blanks only: one head
    for j in _distinct(ids, len(tokens)).tolist():
        m = _HEAD.fullmatch(tokens[j].replace(_VECTOR_COMMA, ","))
        if m is None:
            continue
        fixed, free, name = m.groups()
        try:
            weight = ir.Weight(_value(fixed), fixed=True) if fixed else ir.Weight(_value(free)) if free else None
        except NeuralogicError:
            continue  # e.g. a value that is not finite: lark reports it
        index[j] = heads.setdefault((name, weight), len(heads))
    return [name for name, _ in heads], [weight for _, weight in heads], index


def _terms(tokens: list[str], ids: np.ndarray) -> tuple[list[str | int], list[ir.Term], np.ndarray, np.ndarray]:
    """The distinct terms of the term tokens ``ids``: the values of untyped names and integers, then the
    other terms; ``token id -> term`` (-1: not a term); per term, whether it is a variable. Texts
    that differ in blanks only (or ``01`` and ``1``) are one term."""
    distinct = _distinct(ids, len(tokens))
    texts = list(map(tokens.__getitem__, distinct.tolist()))
    # names and integers without blanks, all checked in one pass when every term is one (the common case)
    if _PLAIN_TOKENS.fullmatch(_END.join(texts) + _END):
        plain, plain_texts, rest = distinct, texts, []
    else:
        is_plain = list(map(bool, map(_PLAIN_TOKEN.fullmatch, texts)))
        plain, plain_texts = distinct[np.array(is_plain, dtype=bool)], list(compress(texts, is_plain))
        rest = list(compress(zip(distinct.tolist(), texts), map(not_, is_plain)))
    # a name starts with [a-z] and is its own value; an integer starts with a sign or a digit
    is_name = ["a" <= text < "{" for text in plain_texts]
    values: list[str | int] = list(compress(plain_texts, is_name))
    integers = list(map(int, compress(plain_texts, map(not_, is_name))))
    name_mask = np.array(is_name, dtype=bool)
    index = np.full(len(tokens), -1, dtype=np.int64)
    index[plain[name_mask]] = np.arange(len(values))
    if len(set(integers)) == len(integers):
        index[plain[~name_mask]] = np.arange(len(values), len(values) + len(integers))
        values += integers
    else:  # equal integers written differently ("01", "1")
        first: dict[int, int] = {}
        index[plain[~name_mask]] = [first.setdefault(v, len(values) + len(first)) for v in integers]
        values += first
    others: dict[ir.Term, int] = {}
    other_at = []
    if rest:
        at_value = dict(zip(values, count()))
        for j, text in rest:
            if not _TERM_TOKEN.fullmatch(text):
                continue
            try:
                term = _term(text)
            except NeuralogicError:
                continue  # an integer too long: lark reports it with its place
            if term.__class__ is ir.Constant and term.type is None and term.value.__class__ in (str, int):
                index[j] = at_value.setdefault(term.value, len(at_value))  # written with blanks around it
            else:
                other_at.append((j, others.setdefault(term, len(others))))
        values = list(at_value)
    for j, k in other_at:
        index[j] = len(values) + k
    variable = np.zeros(len(values) + len(others), dtype=bool)
    variable[len(values):] = [isinstance(t, ir.Variable) for t in others]
    return values, list(others), index, variable


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
