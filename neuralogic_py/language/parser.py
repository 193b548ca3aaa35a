"""Text -> IR with lark: one grammar file, one Transformer, errors in words.

``parse_template`` and ``load_template`` read templates (with ``import`` lines);
``parse_statements`` reads example and query files statement by statement (the
fast scanner in :mod:`.scanner` uses it to pinpoint errors and for rare forms).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import heapq
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from ..errors import NeuralogicError, ParseError, Span, ValidationError, display_path
from . import ir
from .functions import ACTIVATIONS, Call, canonical_function, make_function, suggest
from .metadata import make_metadata
from .preprocess import SourceText, read_text, split_imports, strip_comments
from .syntax_errors import syntax_error
from .validate import validate_template
from .values import make_value

MAX_INTEGER_DIGITS = 4300  # longest integer constant (Python's default limit of int() on text)
MAX_IMPORT_DEPTH = 100  # longest chain of files each importing the next


def _grammar_text() -> str:
    # Installed: shipped as package data of `neuralogic_py.grammars`. From a checkout: ../grammars.
    try:
        return resources.files("neuralogic_py.grammars").joinpath("neuralogic.lark").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parents[2] / "grammars" / "neuralogic.lark").read_text()


@functools.cache
def _parser() -> Lark:
    return Lark(_grammar_text(), start=["template", "data"], parser="lalr", lexer="contextual",
                propagate_positions=True, maybe_placeholders=False, cache=False)


# --------------------------------------------------------------------------- tree -> IR


@v_args(inline=True)
class _ToIR(Transformer):
    """Builds IR nodes bottom-up. Template statements come out as IR statements;
    data statements as ``(label_literals, body_literals, span)`` triples."""

    def __init__(self, text: str, file: str | None):
        super().__init__(visit_tokens=False)  # no terminal callbacks: tokens pass through as they are
        self.text = text
        self.file = file
        self._lines: dict[int, str] = {}  # line number -> the source line (see _placed)
        # lark re-wraps a v_args method on every node it visits (a third of the transform's time): bind once
        for name, member in vars(_ToIR).items():
            if hasattr(member, "visit_wrapper"):
                setattr(self, name, getattr(self, name))

    def _span(self, meta: Any) -> Span | None:
        if getattr(meta, "empty", True):
            return None
        return self._placed(meta)

    def _token_span(self, token: Token) -> Span:
        return self._placed(token)

    def _placed(self, at: Any) -> Span:
        """The span of a node or token from the positions lark tracked: constant time, whatever the text's size.

        (``span_in`` counts the lines before the place, which made parsing quadratic.) Each
        source line is cut out of the text once and shared by the spans on it.
        """
        source = self._lines.get(at.line)
        if source is None:
            start = at.start_pos - at.column + 1
            end = self.text.find("\n", at.start_pos)
            source = self._lines[at.line] = self.text[start:end if end >= 0 else len(self.text)]
        return Span(self.file, at.line, at.column, at.end_line, at.end_column, source)

    # -- values
    def number_list(self, *numbers: Token) -> list[Token]:
        return list(numbers)

    # A malformed value is reported over its whole text, e.g. all of `[[1,2],[3]]`.
    @v_args(inline=True, meta=True)
    def scalar(self, meta: Any, number: Token) -> ir.Value:
        return make_value("scalar", [number], self._span(meta))

    @v_args(inline=True, meta=True)
    def dims(self, meta: Any, numbers: list[Token]) -> ir.Value:
        return make_value("dims", numbers, self._span(meta))

    @v_args(inline=True, meta=True)
    def vector(self, meta: Any, numbers: list[Token]) -> ir.Value:
        return make_value("vector", numbers, self._span(meta))

    def row(self, numbers: list[Token]) -> list[Token]:
        return numbers

    @v_args(inline=True, meta=True)
    def matrix(self, meta: Any, *rows: list[Token]) -> ir.Value:
        return make_value("matrix", list(rows), self._span(meta))

    def sparse_entry(self, index: list[Token], value: Token) -> tuple[list[Token], Token]:
        return index, value

    @v_args(inline=True, meta=True)
    def sparse(self, meta: Any, size: list[Token], *entries: tuple[list[Token], Token]) -> ir.Value:
        return make_value("sparse", [size, list(entries)], self._span(meta))

    def fixed(self, value: ir.Value) -> ir.Weight:
        return ir.Weight(value, fixed=True)

    def named_fixed(self, name: Token, value: ir.Value) -> ir.Weight:
        return ir.Weight(value, name=str(name), fixed=True)

    def weight(self, *items: Any) -> ir.Weight:
        if len(items) == 2:
            name, inner = items
            inner = inner if isinstance(inner, ir.Weight) else ir.Weight(inner)
            return ir.Weight(inner.value, name=str(name), fixed=inner.fixed)
        (inner,) = items
        return inner if isinstance(inner, ir.Weight) else ir.Weight(inner)

    # -- metadata
    def meta_name(self, token: Token) -> tuple[str, Span]:
        return str(token), self._token_span(token)

    def meta_weight(self, token: Token) -> tuple[str, Span]:
        return f"${token}", self._token_span(token)

    @v_args(inline=True, meta=True)
    def meta_call(self, meta: Any, name: Token, args: tuple) -> Call:
        span = self._span(meta)
        return Call(str(name), tuple(_call_argument(a, span) for a in args), span)

    # -- call arguments (functions with parameters)
    def call_list(self, *items: Token) -> list:
        return [_call_value(t) for t in items]

    def keyword(self, name: Token, value: Any) -> tuple[str, Any]:
        return str(name), value if isinstance(value, list) else _call_value(value)

    @v_args(inline=True, meta=True)
    def compound(self, meta: Any, name: Token, args: tuple) -> _Compound:
        return _Compound(str(name), args, self._span(meta))

    def meta_entry(self, key: Token, value: Any) -> tuple[str, Any, Span]:
        if isinstance(value, tuple):
            value = value[0]
        return str(key), value, self._token_span(key)

    @v_args(inline=True, meta=True)
    def metadata(self, meta: Any, _open: Token, *entries: tuple[str, Any, Span]) -> ir.GlobalMetadata:
        return ir.GlobalMetadata(make_metadata(list(entries)), self._span(meta))

    # -- terms and literals
    def term(self, *tokens: Token) -> ir.Term:
        type_ = str(tokens[0])[:-1] if len(tokens) == 2 else None
        token = tokens[-1]
        if token.type == "VARIABLE":
            return ir.Variable(str(token), type_)
        if token.type == "NUMBER":
            try:
                return ir.Constant(parse_number(str(token)), type_)
            except ValidationError as e:
                raise ValidationError(e.message, self._token_span(token)) from None
        return ir.Constant(str(token), type_)

    def arguments(self, *args: Any) -> tuple:
        return args

    @v_args(inline=True, meta=True)
    def literal(self, meta: Any, *items: Any) -> ir.Literal:
        weight, negation, hidden, builtin, terms = None, ir.Negation.NONE, False, False, ()
        span = self._span(meta)
        name = None
        for item in items:
            if isinstance(item, ir.Weight):
                weight = item
            elif isinstance(item, tuple):
                terms = item
            elif item.type == "NEGATION":
                negation = str(item)
            elif item.type == "HIDDEN":
                hidden = True
            elif item.type == "BUILTIN":
                builtin = True
            else:
                name = str(item)
        if terms and isinstance(terms[0], _Compound):
            return _function_literal(name, terms, weight, negation, hidden, builtin, span)
        return ir.Literal(ir.Atom(name, _plain_terms(terms, span), builtin), weight, negation, hidden, span)

    # -- template statements
    @v_args(inline=True, meta=True)
    def rule(self, meta: Any, head: ir.Literal, _implied: Token, *items: Any) -> ir.Rule:
        span = self._span(meta)
        _check_head(head)
        body: list[ir.Literal] = []
        offset = None
        for i, item in enumerate(items):
            if isinstance(item, ir.Weight):
                if i != len(items) - 1:
                    raise ParseError("a weight without an atom must be the last item of the body (the rule offset)",
                                     span, "write the offset after the last literal, or put the weight "
                                     "directly in front of an atom")
                offset = item
            else:
                body.append(item)
        if not body:
            raise ParseError("a rule needs at least one body literal", span)
        return ir.Rule(head.atom, tuple(body), head.weight, offset, ir.Metadata(), span)

    @v_args(inline=True, meta=True)
    def facts(self, meta: Any, *literals: ir.Literal) -> ir.Fact | ir.Constraint:
        span = self._span(meta)
        if len(literals) > 1:
            return ir.Constraint(literals, span)
        lit = literals[0]
        if lit.function is not None:
            raise ValidationError(f"a fact cannot have a function: '{lit}'", span,
                                  "functions apply to literals in rule bodies")
        if lit.hidden or lit.negation == ir.Negation.SOFT:
            what = "hidden ('*')" if lit.hidden else "soft-negated ('~')"
            raise ValidationError(f"a fact cannot be {what}", span, "'*' and '~' mark literals in rule bodies")
        return ir.Fact(lit.atom, lit.weight, lit.negation == ir.Negation.HARD, span)

    def _predicate(self, token: Token) -> ir.PredicateRef:
        name, arity = str(token).rsplit("/", 1)
        return ir.PredicateRef(name, int(arity))

    @v_args(inline=True, meta=True)
    def predicate_offset(self, meta: Any, token: Token, weight: ir.Weight) -> ir.PredicateOffset:
        return ir.PredicateOffset(self._predicate(token), weight, self._span(meta))

    @v_args(inline=True, meta=True)
    def predicate_metadata(self, meta: Any, token: Token, m: ir.GlobalMetadata) -> ir.PredicateMetadata:
        return ir.PredicateMetadata(self._predicate(token), m.metadata, self._span(meta))

    @v_args(inline=True, meta=True)
    def weight_metadata(self, meta: Any, name: Token, m: ir.GlobalMetadata) -> ir.WeightMetadata:
        return ir.WeightMetadata(str(name), m.metadata, self._span(meta))

    def template(self, *statements: ir.Statement) -> list[ir.Statement]:
        # Metadata right after a rule belongs to that rule (the reference's grammar is greedy).
        out: list[ir.Statement] = []
        for s in statements:
            if isinstance(s, ir.GlobalMetadata) and out and isinstance(out[-1], ir.Rule) and not out[-1].metadata:
                r = out[-1]
                span = r.span
                if span is not None and s.span is not None:
                    span = Span(span.file, span.line, span.column, s.span.end_line, s.span.end_column, span.text)
                out[-1] = ir.Rule(r.head, r.body, r.head_weight, r.offset, s.metadata, span)
            else:
                out.append(s)
        return out

    # -- data statements
    @v_args(inline=True, meta=True)
    def statement(self, meta: Any, *items: Any) -> tuple[tuple[ir.Literal, ...], tuple[ir.Literal, ...], Span]:
        for i, item in enumerate(items):
            if isinstance(item, Token):  # the ':-' between label and body
                return items[:i], items[i + 1:], self._span(meta)
        return (), items, self._span(meta)

    def data(self, *statements: Any) -> list[Any]:
        return list(statements)


@dataclasses.dataclass(frozen=True)
class _Compound:
    """``h(X)`` written as an argument: the literal a function is applied to."""

    name: str
    args: tuple
    span: Span | None

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


def _plain_terms(args: tuple, span: Span | None) -> tuple[ir.Term, ...]:
    """The arguments of an atom, which are terms only (no nested atoms, keywords or lists)."""
    for a in args:
        if not isinstance(a, (ir.Variable, ir.Constant)):
            shown = f"{a[0]}={a[1]}" if isinstance(a, tuple) else str(a)
            raise ValidationError(f"'{shown}' cannot be an argument of an atom: arguments are variables and "
                                  "constants", getattr(a, "span", None) or span,
                                  "a function applies to a body literal as its first argument: sqrt(h(X)), "
                                  "slice(h(X), rows=[0, 2])")
    return args


def _call_value(item: Any) -> Any:
    if isinstance(item, list):
        return item
    if item.type == "ELLIPSIS":
        return None
    return parse_number(str(item)) if item.type == "NUMBER" else str(item)


def _call_argument(a: Any, span: Span | None) -> tuple[str | None, Any]:
    """A function argument: ``key=value`` or a positional number or name."""
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str):
        return a
    if isinstance(a, ir.Constant):
        return None, a.value
    if isinstance(a, ir.Variable):
        return None, a.name
    raise ValidationError(f"'{a}' cannot be a function argument", getattr(a, "span", None) or span)


def _function_literal(name: str, args: tuple, weight: ir.Weight | None, negation: str, hidden: bool, builtin: bool,
                      span: Span | None) -> ir.Literal:
    """``f(h(X), args...)``: the function ``f(args...)`` applied to the body literal ``h(X)``."""
    inner: _Compound = args[0]
    if canonical_function("activation", name) is None:
        raise ValidationError(f"'{name}' is not a function, so '{inner}' cannot be its argument", span,
                              suggest(name, ACTIVATIONS) or "functions on a literal: " + ", ".join(ACTIVATIONS))
    if negation or hidden or builtin:
        what = {ir.Negation.SOFT: "soft-negated ('~')", ir.Negation.HARD: "negated ('!')"}.get(negation) \
            or ("hidden ('*')" if hidden else "a built-in ('@')")
        raise ValidationError(f"a function cannot apply to a literal that is {what}", span,
                              "~a is reverse(a) already; a hidden or built-in literal has no value")
    function = make_function("activation", Call(name, tuple(_call_argument(a, span) for a in args[1:]), span))
    atom = ir.Atom(inner.name, _plain_terms(inner.args, inner.span or span))
    return ir.Literal(atom, weight, ir.Negation.NONE, False, span, function)


def _check_head(head: ir.Literal) -> None:
    if head.function is not None:
        raise ValidationError("the head of a rule cannot have a function", head.span,
                              "put the function in the rule's metadata: [activation=sqrt]")
    if head.negation:
        raise ValidationError("the head of a rule cannot be negated", head.span)
    if head.hidden:
        raise ValidationError("the head of a rule cannot be hidden ('*')", head.span)
    if head.atom.builtin and not head.atom.predicate.startswith("embed"):
        raise ValidationError(f"built-in '@{head.atom.predicate}' cannot be the head of a rule", head.span,
                              "only '@embed...' heads are allowed")


def parse_number(text: str) -> int | float:
    """An int when written as an int (``42``), else a float64 (``4.2``, ``1e3``).

    Integers are exact up to :data:`MAX_INTEGER_DIGITS` digits; a longer one is a
    :class:`ValidationError` (without a place: the caller knows it).
    """
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS and text.lstrip("+-").isdigit():
        raise ValidationError(f"an integer constant of {digits} digits is too long "
                              f"(at most {MAX_INTEGER_DIGITS} digits)")
    try:
        return int(text)
    except ValueError:
        return float(text)


def _run(text: str, start: str, file: str | None, written: str) -> list:
    """Parse ``text`` (``written`` with comments blanked) from ``start`` and build the IR.

    Spans quote lines of ``written``, so messages show the comments the user wrote.
    """
    with _collector_paused():
        try:
            tree = _parser().parse(text, start=start)
        except UnexpectedInput as e:
            error = syntax_error(e, text, file, start)
            if error.span is not None:
                error.span = dataclasses.replace(error.span, text=written.split("\n")[error.span.line - 1])
            raise error from None
        try:
            return _ToIR(written, file).transform(tree)
        except VisitError as e:
            if isinstance(e.orig_exc, NeuralogicError):
                raise e.orig_exc from None
            raise


_NAME = r"[a-z][A-Za-z0-9_-]*"
# A template fact alone on its line with a weight given by shape, `$w_e={3} emb(e).`: generated files hold
# one per entity. The constant terms are untyped names or integers.
_SHAPED_FACT = re.compile(
    rf"^[ \t]*(?P<at>(?:\$(?P<name>{_NAME})[ \t]*=[ \t]*)?(?P<dims>\{{[ \t]*(?P<rows>\d{{1,9}})[ \t]*"
    rf"(?:,[ \t]*(?P<cols>\d{{1,9}})[ \t]*)?\}})[ \t]*(?P<predicate>{_NAME})"
    rf"(?:[ \t]*\((?P<terms>[ \t]*(?:{_NAME}|[+-]?\d{{1,{MAX_INTEGER_DIGITS}}})[ \t]*"
    rf"(?:,[ \t]*(?:{_NAME}|[+-]?\d{{1,{MAX_INTEGER_DIGITS}}})[ \t]*)*)\))?[ \t]*\.)[ \t]*$", re.MULTILINE)
_BLANK = " \t\r\n\f"


def _template_statements(text: str, file: str | None, written: str) -> list[ir.Statement]:
    """The statements of a template text: lark's, with a fast path for lines of shaped facts.

    A line holding just a fact such as ``$w_e={3} emb(e).`` (after a statement that ended
    with '.', and not followed by metadata, which would belong to it) is read by a regular
    expression, 30x faster than lark; the line is blanked for lark, which reads the rest
    with every position unchanged. Both give the same IR and spans.
    """
    facts: list[ir.Fact] = []
    pieces: list[str] = []
    done, line, counted = 0, 1, 0  # line: the number of the line at offset `counted`
    for m in _SHAPED_FACT.finditer(text):
        before = m.start("at") - 1
        while before >= 0 and text[before] in _BLANK:
            before -= 1
        after = m.end()
        while after < len(text) and text[after] in _BLANK:
            after += 1
        if (before >= 0 and text[before] != ".") or (after < len(text) and text[after] == "["):
            continue
        line += text.count("\n", counted, m.start())
        counted = m.start()
        facts.append(_shaped_fact(m, line, written, file))
        pieces += [text[done:m.start()], " " * (m.end() - m.start())]
        done = m.end()
    if not facts:
        return _run(text, "template", file, written)
    rest = _run("".join(pieces) + text[done:], "template", file, written)
    if any(s.span is None for s in rest):
        return _run(text, "template", file, written)
    return list(heapq.merge(facts, rest, key=lambda s: (s.span.line, s.span.column)))


def _shaped_fact(m: re.Match, line: int, written: str, file: str | None) -> ir.Fact:
    """The fact of a :data:`_SHAPED_FACT` match on ``line``, as lark would build it."""
    start, end = m.start("at"), m.end("at")
    source = written[m.start():m.end()]  # the line as written (comments blanked in `text` keep their offsets)
    column = start - m.start() + 1
    span = Span(file, line, column, line, column + end - start, source)
    dims = [m.group("rows")] + ([m.group("cols")] if m.group("cols") else [])
    terms = tuple(ir.Constant(t if t[0].isalpha() else parse_number(t))
                  for t in (x.strip() for x in m.group("terms").split(","))) if m.group("terms") else ()
    at = m.start("dims") - m.start() + 1
    dims_span = Span(file, line, at, line, at + m.end("dims") - m.start("dims"), source)
    weight = ir.Weight(make_value("dims", dims, dims_span), m.group("name"), False)
    return ir.Fact(ir.Atom(m.group("predicate"), terms, False), weight, False, span)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a text is parsed.

    The parse makes millions of small objects and no reference cycles; the collector's
    passes over them grew with the heap, so that parsing 32k rules took 1.5x longer per
    rule than 4k (the time per rule is now the same).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- public API


def parse_template(text: str, file: str | None = None, base: Path | None = None, *,
                   validate: bool = True) -> ir.Template:
    """Parse template text. ``import`` lines are resolved against ``base`` (default: the cwd).

    With ``validate`` (the default) the template is checked by
    :func:`~.validate.validate_template`: warnings are issued, errors raised.
    """
    return _checked(_template_from(text, file, base or Path.cwd(), (), set()), validate)


def load_template(*paths: str | Path, validate: bool = True) -> ir.Template:
    """Read one template file (or several, concatenated in order), expanding imports; validate as above."""
    template = ir.Template()
    included: set[Path] = set()
    for path in paths:
        p = Path(path)
        included.add(p.resolve())
        template = template + _template_from(read_text(p), display_path(p), p.resolve().parent, (p.resolve(),),
                                             included)
    return _checked(template, validate)


def _checked(template: ir.Template, validate: bool) -> ir.Template:
    if validate:
        validate_template(template)
    return template


def _template_from(text: str, file: str | None, base: Path, stack: tuple[Path, ...],
                   included: set[Path]) -> ir.Template:
    """``stack``: the files being imported (a repeat is a cycle); ``included``: every file
    read so far, so a file imported along two paths (a diamond) is included once."""
    source = split_imports(text, file, base)
    statements = _template_statements(source.text, file, text)
    if not source.imports:
        return ir.Template(tuple(statements))
    # Splice each imported file in at its import line.
    out: list[ir.Statement] = []
    pending = list(source.imports)
    for s in statements:
        line = s.span.line if s.span else 0
        while pending and pending[0][0] < line:
            out.extend(_imported(pending.pop(0), text, source, stack, included).statements)
        out.append(s)
    for item in pending:
        out.extend(_imported(item, text, source, stack, included).statements)
    return ir.Template(tuple(out))


def _imported(item: tuple[int, Path], text: str, source: SourceText, stack: tuple[Path, ...],
              included: set[Path]) -> ir.Template:
    """The template an import line of ``text`` names (``source`` is ``text`` with imports found)."""
    line, path = item
    resolved = path.resolve()
    written = text.split("\n")[line - 1]  # the import line as written (``source.text`` has it blanked)
    at = Span(source.path, line, 1, line, len(written.rstrip()) + 1, written)
    if resolved in stack:
        chain = " -> ".join(display_path(p) for p in (*stack, resolved))
        raise ParseError(f"import cycle: {chain}", at,
                         "a file cannot import itself, directly or through the files it imports")
    if len(stack) >= MAX_IMPORT_DEPTH:
        raise ParseError(f"imports nested more than {MAX_IMPORT_DEPTH} files deep "
                         f"(from {display_path(stack[0])})", at,
                         "import the files side by side from one file instead of each from the one before")
    if resolved in included:
        return ir.Template()
    included.add(resolved)
    return _template_from(read_text(resolved), display_path(resolved), resolved.parent, (*stack, resolved), included)


DataStatement = tuple[tuple[ir.Literal, ...], tuple[ir.Literal, ...], Span]


def parse_statements(text: str, file: str | None = None, start: int = 0, end: int | None = None) -> list[DataStatement]:
    """Parse the data statements in ``text[start:end]`` (``label :- literals.`` or ``literals.``).

    Positions in results and errors are relative to the whole ``text``.
    """
    end = len(text) if end is None else end
    if start == 0 and end == len(text):
        return _run(strip_comments(text, file), "data", file, text)
    # Pad with blank lines and columns instead of copying the file before the excerpt.
    line_start = text.rfind("\n", 0, start) + 1
    padded = "\n" * text.count("\n", 0, start) + " " * (start - line_start) + text[start:end]
    try:
        return _run(strip_comments(padded, file), "data", file, padded)
    except NeuralogicError as e:
        if e.span is not None:
            lines = text.split("\n", e.span.line)[e.span.line - 1] if e.span.line else None
            e.span = dataclasses.replace(e.span, text=lines)
        raise
