"""A Python DSL for templates and data, compatible with PyNeuraLogic's, that builds the parser's IR.

``R.h(V.X)[3, 3] <= (R.a(V.Y)[3, 2], R._edge(V.Y, V.X))`` and the text
``{3,3} h(X) :- {3,2} a(Y), *edge(Y, X).`` give equal :class:`ir.Rule` objects.
Values and metadata are checked by the same functions as the text
(:func:`values.make_value`, :func:`metadata.make_metadata`), so a mistake gets the
same message either way; its position is the line of the user's Python code.

=====================================  ======================================  ==============================
DSL                                    text                                    notes
=====================================  ======================================  ==============================
``R.h(V.X, 1, "a", C.b)``              ``h(X, 1, a, b)``                       ``V.x`` is ``X``; ``C.B`` is ``b``
``R.h`` / ``R.get("h")``               ``h``                                   0-ary
``V.X.typed("woman")``                 ``woman:X``                             also ``C.ann.typed("woman")``
``R._edge(...)``, ``R.hidden.edge``    ``*edge(...)``                          hidden
``R.special.neq(...)``                 ``@neq(...)``                           ``R.special.in_``/``_in``: ``@in``
``R.h[2]``                             ``2.0 h``                               a **value**
``R.h[2,]``, ``R.h[3, 3]``             ``{2} h``, ``{3,3} h``                  a **shape** (note the comma)
``R.h[[1., 0.]]``, ``R.h[np.eye(2)]``  ``[1.0, 0.0] h``, ``[[1.0, ...]] h``    numpy is accepted
``R.h["w": 2, 2]``, ``R.h["w": 0.5]``  ``$w={2,2} h``, ``$w=0.5 h``            named (shared)
``R.h[0.5].fixed()``                   ``<0.5> h``                             fixed
``~R.a(V.X)``                          ``!a(X)``                               negation as failure (hard)
``-R.a(V.X)``                          ``~a(X)``                               soft negation, 1 - x
``T.SQRT(R.h(V.X))[2, 2]``             ``{2,2} sqrt(h(X))``                    function, then weight
``T.SLICE(R.h(V.X), rows=[0, 2])``     ``slice(h(X), rows=[0, 2])``            parameterised
``T.LEAKY_RELU(0.2)``                  ``leakyrelu(0.2)``                      in metadata
``A.SOFTMAX(agg_terms=[V.J])``         ``softmax(agg_terms=[J])``              softmax over J
``h <= (a, b)``, ``h <= a & b``        ``h :- a, b.``                          also a list
``h <= (a, b, 0.5)``                   ``h :- a, b, 0.5.``                     a trailing weight is the offset
``h <= (a, W[8, 1])``                  ``h :- a, {8,1}.``                      ``W[...]``: a weight on its own
``(h <= a) | [T.RELU, A.SUM]``         ``h :- a. [activation=relu, ...]``      or a dict, or ``Metadata(...)``
``(R.h / 1) | [T.SIGMOID]``            ``h/1 [activation=sigmoid]``            predicate metadata
``(R.h / 1)[1,]``                      ``h/1 {1}``                             predicate offset
``W.w | {"learnable": False}``         ``$w [learnable=false]``                weight metadata
=====================================  ======================================  ==============================

Two spellings differ from the text on purpose, to stay compatible with PyNeuraLogic:
``~`` in Python is the text's *hard* ``!`` (PyNeuraLogic's negation as failure), and
soft negation, the text's ``~``, is Python's unary minus (PyNeuraLogic's ``-R.a``,
the REVERSE transformation 1 - x). ``str()`` of any DSL object prints the text syntax.

Python's precedence needs parentheses around a rule before ``|`` (``|`` binds more
tightly than ``<=``) and around a declaration before ``[...]``.

A literal used as a statement is a fact (``R.edge(1, 2)``, ``R.f(C.a)[0.3]``).
:class:`TemplateBuilder` collects statements into an :class:`ir.Template`;
:func:`Example`, :func:`Query` and :func:`QueryLine` build data without files.
``R.get``, ``R.hidden`` and ``R.special`` are reserved: reach a predicate called
``hidden`` as ``R.get("hidden")``. The user guide is docs/dsl.md.
"""

from __future__ import annotations

import dataclasses
import functools
import linecache
import numbers
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

from ..errors import NeuralogicError, Span, ValidationError, display_path
from . import ir
from .data import example_of, fact_of, query_line_of, query_of
from .functions import ALIASES, ROLES, Call, canonical_function, make_function
from .metadata import make_metadata
from .parser import _check_head, _parser
from .validate import validate_template
from .values import make_dims, make_value

__all__ = [
    "R", "V", "C", "W", "T", "A", "Cb", "Var", "Const", "Transformation", "Aggregation", "Combination",
    "Relation", "Body", "Rule", "Predicate", "Term", "WeightSpec", "WeightName", "Function",
    "TemplateBuilder", "Metadata", "Example", "Query", "QueryLine",
    "to_term", "to_value", "to_weight", "to_metadata",
]

# --------------------------------------------------------------------------- where the user wrote it

_F = TypeVar("_F", bound=Callable[..., Any])
_INTERNAL = (__name__, "neuralogic_py.nn.")  # the layers of neuralogic_py.nn write rules through this module


@functools.lru_cache(maxsize=256)
def _shown_path(filename: str) -> str:
    return filename if filename.startswith("<") else display_path(filename)


def _caller_span() -> Span | None:
    """The line of the user's code that called into this module or a layer (the first frame outside both)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL):
        frame = frame.f_back
    if frame is None:
        return None
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).rstrip("\n")
    column = len(line) - len(line.lstrip()) + 1
    return Span(_shown_path(frame.f_code.co_filename), frame.f_lineno, column, frame.f_lineno,
                len(line) + 1, line or None)


def _located(fn: _F) -> _F:
    """Give errors raised without a position the position of the user's calling line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NeuralogicError as e:
            if e.span is None:
                e.span = _caller_span()
            raise

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- names


@functools.cache
def _token(name: str) -> re.Pattern[str]:
    """The grammar's own pattern for a token, so DSL names are exactly those the text accepts."""
    return re.compile(_parser().get_terminal(name).pattern.to_regexp())


def _is(token: str, text: str) -> bool:
    return _token(token).fullmatch(text) is not None


def _check_name(text: Any, what: str) -> str:
    if not isinstance(text, str) or not _is("NAME", text):
        raise ValidationError(f"{what} must start with a lower-case letter and hold only letters, digits, "
                              f"'_' and '-', got {text!r}")
    return text


def _is_probe(name: str) -> bool:
    """Attribute names that tools (copy, pickle, IPython) look up: never a predicate or a term."""
    return name.startswith("__") or name.startswith(("_ipython_", "_repr_"))


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class Term:
    """A variable (``V.X``) or constant (``C.a``) as written in the DSL; ``.typed(t)`` adds a type."""

    term: ir.Variable | ir.Constant

    @_located
    def typed(self, type_: str) -> Term:
        """``V.X.typed("woman")`` is ``woman:X``; ``C.ann.typed("woman")`` is ``woman:ann``."""
        if self.term.type is not None:
            raise ValidationError(f"the term {self.term} already has a type")
        if not isinstance(type_, str) or not (_is("NAME", type_) or _is("VARIABLE", type_)):
            raise ValidationError(f"a type is a name of letters, digits, '_' and '-', got {type_!r}")
        return Term(dataclasses.replace(self.term, type=type_))

    def to_ir(self) -> ir.Variable | ir.Constant:
        return self.term

    def __str__(self) -> str:
        return str(self.term)


class _Namespace:
    """Attribute access ``NS.name`` is ``NS.get("name")`` of the subclass (V, C, W, R)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if _is_probe(name):
            raise AttributeError(name)
        return self.get(name)  # type: ignore[attr-defined]  # each namespace defines get()


class _Variables(_Namespace):
    """``V.X`` (``V.x`` is capitalised to ``X``), ``V._`` (anonymous), ``V.get("X")``."""

    @_located
    def get(self, name: str) -> Term:
        text = name[:1].upper() + name[1:] if isinstance(name, str) else name
        if not isinstance(text, str) or not _is("VARIABLE", text):
            raise ValidationError(f"a variable is a name of letters, digits, '_' and '-', got {name!r}")
        return Term(ir.Variable(text))


class _Constants(_Namespace):
    """``C.a``, ``C.get("a")``; the first letter is lower-cased (``C.Ann`` is ``ann``)."""

    @_located
    def get(self, name: str) -> Term:
        text = name[:1].lower() + name[1:] if isinstance(name, str) else name
        return Term(ir.Constant(_check_name(text, "a constant")))


V = Var = _Variables()
C = Const = _Constants()


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def to_term(x: Any) -> ir.Term:
    """The IR term for a DSL term, an IR term, a Python number or a string.

    A string that reads as a variable (``"X"``, ``"_"``) is a variable, a lower-case
    name a constant, as in PyNeuraLogic.
    """
    kind = type(x)
    if kind is Term:
        return x.term
    if kind is int:  # the common case first: data builds many terms
        return ir.Constant(x)
    if kind is ir.Variable or kind is ir.Constant:
        return x
    if isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_)):
        return ir.Constant(int(x))
    if _is_number(x):
        value = float(x)
        if not np.isfinite(value):
            raise ValidationError(f"a numeric constant must be finite, got {value}")
        return ir.Constant(value)
    if isinstance(x, str):
        if _is("VARIABLE", x):
            return ir.Variable(x)
        if _is("NAME", x):
            return ir.Constant(x)
    raise ValidationError(f"a term is V.X, C.a, a number or a name string, got {x!r}",
                          hint="constants are lower-case names ('ann') or numbers; variables start upper-case")


# --------------------------------------------------------------------------- values and weights

_VALUES = (ir.Dims, ir.Scalar, ir.Vector, ir.Matrix, ir.SparseVector, ir.SparseMatrix)


def _too_many_dimensions(got: str) -> ValidationError:
    # The message and hint of the text's `{2,2,2}`.
    return ValidationError(f"weights have at most 2 dimensions, got {got}", None,
                           "use {n} or {n,1} for a column vector, {1,n} for a row, {r,c} for a matrix")


def _numbers(row: Any) -> list[float]:
    """The numbers of a vector or matrix row (a list, tuple or 1-D array), checked one by one."""
    items = row.tolist() if isinstance(row, np.ndarray) else list(row)
    if not items:
        raise ValidationError("a vector or matrix row needs at least one number")
    for x in items:
        if isinstance(x, (list, tuple, np.ndarray)):
            raise _too_many_dimensions("lists nested more than 2 levels deep")
        if not _is_number(x):
            raise ValidationError(f"weight values must be numbers, got {x!r}")
    return [float(x) for x in items]


@_located
def to_value(x: Any) -> ir.Value:
    """The checked IR value of a number, a (nested) list, a numpy array or an IR value.

    A flat list or 1-D array is a column vector, a list of rows or 2-D array a matrix.
    """
    if isinstance(x, _VALUES):
        return x
    if type(x) is float or _is_number(x):
        return make_value("scalar", [float(x)], None)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "iuf":
            raise ValidationError(f"weight values must be numbers, got an array of {x.dtype}")
        if x.ndim > 2:
            raise _too_many_dimensions(f"an array of shape {x.shape}")
        if x.ndim == 0:
            return make_value("scalar", [float(x)], None)
        x = x.tolist()
    elif not isinstance(x, list):
        raise ValidationError(f"a value is a number, a list or a numpy array of numbers, got {x!r}")
    if x and all(isinstance(r, (list, tuple, np.ndarray)) for r in x):
        return make_value("matrix", [_numbers(r) for r in x], None)
    return make_value("vector", _numbers(x), None)


def _weight_name(s: slice) -> str:
    if s.step is not None or s.stop is None:
        raise ValidationError("a named weight is written [\"name\": value] or [\"name\": rows, cols]")
    return _check_name(s.start, "a weight name")


@_located
def to_weight(key: Any) -> ir.Weight:
    """The weight for what stands in ``R.h[...]`` (or ``W[...]``, or after ``(R.h / 1)``).

    A number, list or array is a value; a tuple (``[2,]``, ``[3, 3]``) is a shape;
    ``["w": ...]`` names either.
    """
    if isinstance(key, WeightSpec):
        return key.weight
    if isinstance(key, ir.Weight):
        return key
    name = None
    if isinstance(key, slice):
        name, key = _weight_name(key), key.stop
    elif isinstance(key, tuple) and key and isinstance(key[0], slice):
        name, key = _weight_name(key[0]), (key[0].stop, *key[1:])
    if isinstance(key, tuple):
        if not key:
            raise ValidationError("a shape needs at least one dimension, e.g. [2,] or [3, 3]")
        return ir.Weight(make_dims(key, None), name)
    return ir.Weight(to_value(key), name)


def _fixed(weight: ir.Weight | None, what: str) -> ir.Weight:
    if weight is None:
        raise ValidationError(f"{what} has no weight to fix", hint="write the weight first: R.h[0.5].fixed()")
    return dataclasses.replace(weight, fixed=True)


@dataclass(frozen=True, slots=True)
class WeightSpec:
    """A weight on its own (``W[0.5]``, ``W[8, 1]``, ``W["b": 0.5].fixed()``): a rule offset."""

    weight: ir.Weight
    __iter__ = None  # indexing is not iteration

    @_located
    def fixed(self) -> WeightSpec:
        return WeightSpec(_fixed(self.weight, "the weight"))

    def to_ir(self) -> ir.Weight:
        return self.weight

    def __str__(self) -> str:
        return str(self.weight)


@dataclass(frozen=True, slots=True)
class WeightName:
    """``W.w``: the named weight ``$w``, to attach metadata to: ``W.w | {"learnable": False}``."""

    name: str

    @_located
    def __or__(self, metadata: Any) -> ir.WeightMetadata:
        return ir.WeightMetadata(self.name, to_metadata(metadata), _caller_span())

    def __str__(self) -> str:
        return f"${self.name}"


class _Weights(_Namespace):
    """``W[...]`` builds a weight like ``R.h[...]`` does; ``W.w`` / ``W.get("w")`` names one."""

    __iter__ = None

    def __getitem__(self, key: Any) -> WeightSpec:
        return WeightSpec(to_weight(key))

    @_located
    def get(self, name: str) -> WeightName:
        return WeightName(_check_name(name, "a weight name"))


W = _Weights()


# --------------------------------------------------------------------------- functions and metadata


@dataclass(frozen=True, slots=True)
class Function:
    """A function name in its role: ``T.RELU`` is ``Function("activation", "relu")``.

    Calling it gives parameters, ``T.LEAKY_RELU(0.2)``, ``T.SLICE(rows=[0, 2])``,
    ``A.SOFTMAX(agg_terms=[V.J])`` (``name`` is then the canonical text,
    ``leakyrelu(0.2)``), or, with a literal first, applies an activation to it:
    ``T.SQRT(R.h(V.X))``, ``T.SLICE(R.h(V.X), rows=[0, 2])``.
    """

    role: str
    name: str

    @_located
    def __call__(self, *args: Any, **kwargs: Any) -> Function | Relation:
        if args and isinstance(args[0], Relation):
            if self.role != "activation":
                raise ValidationError(f"only activations apply to a literal, not the {self.role} {self.name}",
                                      hint="e.g. T.SQRT(R.h(V.X)); aggregations and combinations go in metadata")
            function = self._with(args[1:], kwargs) if len(args) > 1 or kwargs else self.name
            return args[0]._with_function(function)
        return Function(self.role, self._with(args, kwargs))

    def _with(self, args: tuple, kwargs: dict[str, Any]) -> str:
        if "(" in self.name:
            raise ValidationError(f"{self.name} already has its arguments")
        given = tuple((None, _call_value(a)) for a in args) + tuple((k, _call_value(v)) for k, v in kwargs.items())
        return make_function(self.role, Call(self.name, given))

    def __str__(self) -> str:
        return f"{self.role}={self.name}"


def _call_value(x: Any) -> Any:
    """A function argument as the text's parser gives it: numbers, names, lists of them, None for ``...``."""
    if x is Ellipsis or x is None:
        return None
    if isinstance(x, Term):
        return x.term.name if isinstance(x.term, ir.Variable) else x.term.value
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_call_value(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    if _is_number(x):
        return float(x)
    if isinstance(x, str):
        return x
    raise ValidationError(f"a function argument is a number, a name, V.X or a list of them, got {x!r}")


class _Functions:
    """``T.SIGMOID``, ``A.SUM``, ``Cb.ELPRODUCT``: members for every name functions.py knows.

    PyNeuraLogic spellings are accepted (``T.LEAKY_RELU``, ``T.TRANSP``); an unknown
    name raises the same error as in text metadata.
    """

    __slots__ = ("_role",)

    def __init__(self, role: str):
        self._role = role

    def __getattr__(self, name: str) -> Function:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    @_located
    def get(self, name: str) -> Function:
        key = name.lower().replace("_", "")
        canonical = canonical_function(self._role, key)
        if canonical is None:
            make_metadata([(self._role, key, None)])  # raises the text path's error
        return Function(self._role, canonical)  # type: ignore[arg-type]

    def __dir__(self) -> list[str]:
        names = [*ROLES[self._role], *(a for a, n in ALIASES.items() if n in ROLES[self._role])]
        return sorted(n.upper() for n in names)

    def __repr__(self) -> str:
        return f"<{self._role} functions>"


T = Transformation = _Functions("activation")
A = Aggregation = _Functions("aggregation")
Cb = Combination = _Functions("combination")


def _meta_value(value: Any) -> ir.MetaValue:
    if isinstance(value, Function):
        return value.name
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return to_value(value)


def _meta_entries(spec: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(spec, ir.Metadata):
        yield from spec.entries
    elif isinstance(spec, Function):
        yield spec.role, spec.name
    elif isinstance(spec, dict):
        for key, value in spec.items():
            if value is not None:
                if not isinstance(key, str):
                    raise ValidationError(f"metadata keys are names, got {key!r}")
                yield key, _meta_value(value)
    elif isinstance(spec, (list, tuple)) and len(spec) == 2 and isinstance(spec[0], str):
        yield spec[0], _meta_value(spec[1])  # a ("key", value) pair
    elif isinstance(spec, (list, tuple)):
        for item in spec:
            yield from _meta_entries(item)
    else:
        raise ValidationError(f"metadata is a list like [T.RELU, A.SUM], a dict or Metadata(...), got {spec!r}")


@_located
def to_metadata(spec: Any) -> ir.Metadata:
    """Checked metadata from ``[T.RELU, A.SUM]``, ``{"activation": "relu"}``, ``Metadata(...)``,
    ``("key", value)`` pairs, or lists of these (merged; a key given twice is an error)."""
    return make_metadata([(key, value, None) for key, value in _meta_entries(spec)])


@_located
def Metadata(**entries: Any) -> ir.Metadata:
    """``Metadata(activation="relu", aggregation=A.SUM, learnable=False)``; None values are left out.

    ``transformation=`` is accepted for ``activation=``, as in the text.
    """
    return to_metadata(entries)


# --------------------------------------------------------------------------- literals


@dataclass(frozen=True, slots=True)
class Relation:
    """An atom as written in the DSL, with its weight, negation, hidden and built-in flags.

    In a rule body it is a literal, in a template or example a fact, in a query the
    query atom with its target. ``to_ir()`` gives the :class:`ir.Literal`.
    """

    predicate: str
    terms: tuple[ir.Term, ...] = ()
    weight: ir.Weight | None = None
    negation: str = ir.Negation.NONE
    hidden: bool = False
    builtin: bool = False
    called: bool = field(default=False, compare=False, repr=False)
    function: str | None = None
    __iter__ = None  # indexing is not iteration: keep list(R.h) from looping forever

    # -- building
    @_located
    def __call__(self, *terms: Any) -> Relation:
        if self.called or self.weight is not None or self.negation or self.function:
            raise ValidationError(f"'{self}' already has its arguments", hint="write R.h(V.X)[2], not R.h[2](V.X)")
        return Relation(self.predicate, tuple(map(to_term, terms)), None, self.negation, self.hidden, self.builtin, True)

    @_located
    def __getitem__(self, key: Any) -> Relation:
        if self.weight is not None:
            raise ValidationError(f"'{self}' already has a weight")
        return self._with_weight(to_weight(key))

    @_located
    def fixed(self) -> Relation:
        """``R.h[0.5].fixed()`` is ``<0.5> h``: a value excluded from learning."""
        return self._with_weight(_fixed(self.weight, f"'{self}'"))

    def _with_weight(self, weight: ir.Weight) -> Relation:
        return dataclasses.replace(self, weight=weight)

    def _negated(self, negation: str) -> Relation:
        if self.negation:
            raise ValidationError(f"'{self}' is already negated")
        if self.function:
            raise ValidationError(f"'{self}' has a function and cannot be negated",
                                  hint="-R.a is T.REVERSE(R.a) already; a literal takes one function")
        return dataclasses.replace(self, negation=negation)

    def _with_function(self, function: str) -> Relation:
        if self.function or self.negation or self.hidden or self.builtin:
            raise ValidationError(f"a function cannot apply to '{self}'",
                                  hint="a literal takes one function (-R.a is T.REVERSE(R.a)); hidden and built-in "
                                       "literals have no value")
        return dataclasses.replace(self, function=function)

    @_located
    def __invert__(self) -> Relation:
        """``~R.a`` is negation as failure: the text's ``!a``."""
        return self._negated(ir.Negation.HARD)

    @_located
    def __neg__(self) -> Relation:
        """``-R.a`` is soft negation (1 - x): the text's ``~a``."""
        return self._negated(ir.Negation.SOFT)

    @_located
    def __and__(self, other: Any) -> Body:
        return Body((self, other))

    @_located
    def __le__(self, body: Any) -> Rule:
        """``head <= body``: a rule; ``body`` is a literal, a tuple or list, or ``a & b``."""
        items = body.items if isinstance(body, Body) else body if isinstance(body, (tuple, list)) else (body,)
        return Rule(_make_rule(self, items, _caller_span()))

    @_located
    def __truediv__(self, arity: Any) -> Predicate:
        """``R.h / 1``: the predicate ``h/1``, for declarations."""
        if self.called or self.weight is not None or self.negation or self.hidden or self.builtin:
            raise ValidationError(f"a predicate declaration is a plain name and arity, like R.h / 1, not '{self} / '")
        if not isinstance(arity, numbers.Integral) or isinstance(arity, bool) or arity < 0:
            raise ValidationError(f"an arity is a whole number >= 0, got {arity!r}")
        return Predicate(ir.PredicateRef(self.predicate, int(arity)))

    @_located
    def __or__(self, metadata: Any) -> Any:
        raise ValidationError("metadata belongs to a rule or a predicate, not to a literal",
                              hint="'|' binds more tightly than '<=': write (head <= body) | [...]")

    # -- IR
    @property
    def atom(self) -> ir.Atom:
        return ir.Atom(self.predicate, self.terms, self.builtin)

    def to_ir(self, span: Span | None = None) -> ir.Literal:
        return ir.Literal(self.atom, self.weight, self.negation, self.hidden, span, self.function)

    @_located
    def to_fact(self, span: Span | None = None) -> ir.Fact:
        """This literal as a template fact; ``~R.f`` is a negated fact ``!f``."""
        if self.function:
            raise ValidationError(f"a fact cannot have a function: '{self}'", span,
                                  "functions apply to literals in rule bodies")
        if self.hidden or self.negation == ir.Negation.SOFT:
            raise ValidationError("a fact cannot be hidden ('*') or soft-negated ('~')", span,
                                  "in the DSL, R._p and R.hidden.p are hidden and -R.p is soft-negated")
        return ir.Fact(self.atom, self.weight, self.negation == ir.Negation.HARD, span)

    def __str__(self) -> str:
        return str(self.to_ir())

    def __repr__(self) -> str:
        return f"<Relation {self}>"


class _Relations(_Namespace):
    """``R.h``, ``R.get("h")``; ``R._h`` and ``R.hidden.h`` are hidden, ``R.special.h`` built-in."""

    __slots__ = ("_hidden", "_builtin")

    def __init__(self, hidden: bool = False, builtin: bool = False):
        self._hidden = hidden
        self._builtin = builtin

    @property
    def hidden(self) -> _Relations:
        return _Relations(hidden=True)

    @property
    def special(self) -> _Relations:
        return _Relations(builtin=True)

    @_located
    def get(self, name: str) -> Relation:
        hidden = self._hidden
        if isinstance(name, str) and self._builtin:
            name = name.strip("_")  # `_in` and `in_` spell the keyword `in`
        elif isinstance(name, str) and name.startswith("_"):
            hidden, name = True, name[1:]
        return Relation(_check_name(name, "a predicate name"), hidden=hidden, builtin=self._builtin)


R = _Relations()


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Body:
    """Literals joined with ``&`` (``R.a & R.b & 0.5``): the body of a rule."""

    items: tuple[Any, ...]

    @_located
    def __and__(self, other: Any) -> Body:
        return Body((*self.items, other))

    @_located
    def __or__(self, metadata: Any) -> Any:
        raise ValidationError("metadata belongs to a rule, not to its body",
                              hint="'|' binds more tightly than '<=': write (head <= a & b) | [...]")

    def __str__(self) -> str:
        return ", ".join(str(i) for i in self.items)


def _offset(item: Any) -> ir.Weight:
    if isinstance(item, (WeightSpec, ir.Weight)):
        return to_weight(item)
    if isinstance(item, (*_VALUES, list, np.ndarray)) or _is_number(item):
        return ir.Weight(to_value(item))
    raise ValidationError(f"a rule body holds literals such as R.p(V.X) and, last, an optional offset; "
                          f"got {item!r}")


def _make_rule(head: Relation, items: Iterable[Any], span: Span | None) -> ir.Rule:
    head_literal = head.to_ir()
    _check_head(head_literal)
    items = list(items)
    body: list[ir.Literal] = []
    offset = None
    for i, item in enumerate(items):
        if isinstance(item, Relation):
            body.append(item.to_ir())
        elif isinstance(item, ir.Literal):
            body.append(item)
        else:
            weight = _offset(item)
            if i != len(items) - 1:
                raise ValidationError("a weight without an atom must be the last item of the body (the rule "
                                      "offset)", span, "write the offset after the last literal, or put the "
                                      "weight on a literal: R.a(V.X)[0.5]")
            offset = weight
    if not body:
        raise ValidationError("a rule needs at least one body literal", span)
    return ir.Rule(head_literal.atom, tuple(body), head_literal.weight, offset, ir.Metadata(), span)


@dataclass(frozen=True, slots=True)
class Rule:
    """``head <= body``, optionally ``| metadata``; ``to_ir()`` gives the :class:`ir.Rule`."""

    rule: ir.Rule

    @_located
    def __or__(self, metadata: Any) -> Rule:
        """Attach metadata; a rule's metadata given in several ``|`` steps is merged."""
        return Rule(dataclasses.replace(self.rule, metadata=to_metadata([self.rule.metadata, metadata])))

    def to_ir(self) -> ir.Rule:
        return self.rule

    def __str__(self) -> str:
        return str(self.rule)

    def __repr__(self) -> str:
        return f"<Rule {self}>"


# --------------------------------------------------------------------------- predicate declarations


@dataclass(frozen=True, slots=True)
class Predicate:
    """``R.h / 1``; with a weight, ``(R.h / 1)[1,]``, it declares the predicate's offset."""

    ref: ir.PredicateRef
    weight: ir.Weight | None = None
    __iter__ = None

    @_located
    def __getitem__(self, key: Any) -> Predicate:
        if self.weight is not None:
            raise ValidationError(f"'{self}' already has an offset")
        return Predicate(self.ref, to_weight(key))

    @_located
    def fixed(self) -> Predicate:
        return Predicate(self.ref, _fixed(self.weight, f"'{self}'"))

    @_located
    def __or__(self, metadata: Any) -> ir.PredicateMetadata:
        """``(R.h / 1) | [T.SIGMOID]`` is ``h/1 [activation=sigmoid]``."""
        if self.weight is not None:
            raise ValidationError(f"'{self}' has an offset; declare its metadata in a separate statement")
        return ir.PredicateMetadata(self.ref, to_metadata(metadata), _caller_span())

    def to_ir(self, span: Span | None = None) -> ir.PredicateRef | ir.PredicateOffset:
        """The :class:`ir.PredicateOffset` when an offset is given, else the :class:`ir.PredicateRef`."""
        return self.ref if self.weight is None else ir.PredicateOffset(self.ref, self.weight, span)

    def __str__(self) -> str:
        return str(self.to_ir())


# --------------------------------------------------------------------------- templates and data

_STATEMENTS = (ir.Rule, ir.Fact, ir.PredicateOffset, ir.PredicateMetadata, ir.WeightMetadata, ir.Constraint,
               ir.GlobalMetadata)


class TemplateBuilder:
    """Collects statements in order; ``to_ir()`` gives the immutable :class:`ir.Template`.

    ``template += rule``, ``template += [rule, fact, ...]`` or ``template.add(rule, fact)``.
    Accepts DSL rules, literals (as facts), predicate offsets, IR statements, IR
    templates, other builders and layers (:mod:`neuralogic_py.nn`, anything with a
    ``rules()`` method).
    """

    def __init__(self, *items: Any):
        self._statements: list[ir.Statement] = []
        if items:
            self._add_all(items, _caller_span())

    @_located
    def add(self, *items: Any) -> TemplateBuilder:
        self._add_all(items, _caller_span())
        return self

    @_located
    def __iadd__(self, item: Any) -> TemplateBuilder:
        self._add_all((item,), _caller_span())
        return self

    def _add_all(self, items: Iterable[Any], span: Span | None) -> None:
        for item in items:
            if isinstance(item, Rule):
                self._statements.append(item.rule)
            elif isinstance(item, Relation):
                self._statements.append(item.to_fact(span))
            elif isinstance(item, Predicate):
                if item.weight is None:
                    raise ValidationError(f"'{item}' alone is not a statement",
                                          hint="give it an offset, (R.h / 1)[1,], or metadata, (R.h / 1) | [...]")
                self._statements.append(item.to_ir(span))
            elif isinstance(item, _STATEMENTS):
                self._statements.append(item)
            elif isinstance(item, ir.Template):
                self._statements.extend(item.statements)
            elif isinstance(item, TemplateBuilder):
                self._statements.extend(item._statements)
            elif isinstance(item, (list, tuple)):
                self._add_all(item, span)
            elif callable(getattr(item, "rules", None)):  # a layer of neuralogic_py.nn
                self._add_all(item.rules(), span)
            else:
                raise ValidationError(f"a template holds rules, facts and declarations, got {item!r}")

    @_located
    def to_ir(self, validate: bool = True) -> ir.Template:
        """The template; with ``validate`` checked like a parsed one (warnings issued, errors raised)."""
        template = ir.Template(tuple(self._statements))
        if validate:
            validate_template(template)
        return template

    def __len__(self) -> int:
        return len(self._statements)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._statements)

    def __str__(self) -> str:
        return str(self.to_ir(validate=False))


def _as_list(items: Any) -> list[Any]:
    """One item or any iterable of items (a literal is not iterable)."""
    if isinstance(items, (Relation, ir.Fact, ir.Query)):
        return [items]
    try:
        return list(items)
    except TypeError:
        return [items]


# Data goes through the functions the data files use (language/data.py), so the checks
# (ground facts, plain query atoms, values rather than shapes) and messages are theirs.


def _fact(item: Any, span: Span | None) -> ir.Fact:
    if isinstance(item, ir.Fact):
        return item
    if isinstance(item, Relation):
        return fact_of(item.to_ir(span))
    raise ValidationError(f"an example's facts are literals such as R.edge(1, 2), got {item!r}", span)


def _query(item: Any, span: Span | None) -> ir.Query:
    if isinstance(item, ir.Query):
        return item
    if isinstance(item, Relation):
        return query_of(item.to_ir(span))
    raise ValidationError(f"a query is a literal such as R.predict[1.0], got {item!r}", span)


def _id_literal(item: Any, span: Span | None, weight: ir.Weight | None = None) -> ir.Literal:
    """The literal ``[weight] id`` of an example id (``R.mol42``), as it stands before ``:-``."""
    if isinstance(item, ir.Atom):
        item = Relation(item.predicate, item.terms, builtin=item.builtin)
    if not isinstance(item, Relation) or item.weight is not None:
        raise ValidationError(f"an example id is a plain atom such as R.mol42, got {item!r}", span)
    return ir.Literal(item.atom, weight, item.negation, item.hidden, span)


@_located
def Example(facts: Any, queries: Any = (), id: Any = None) -> ir.Example:
    """``Example([R.edge(1, 2), R.f(1)[[1., 0.]]], queries=R.xor[1.0])``: an :class:`ir.Example`.

    ``queries`` are the example's labelled queries (each with a target), as in
    ``1.0 xor :- ...``; ``id=R.mol42`` instead links it to the query lines with that id.
    """
    span = _caller_span()
    fact_irs = tuple(_fact(f, span) for f in _as_list(facts))
    query_items = _as_list(queries)
    if id is not None:
        if query_items:
            raise ValidationError("an example has either queries or an id, not both", span,
                                  "link queries to an id with QueryLine(queries, id=...)")
        return example_of([_id_literal(id, span)], fact_irs, span)
    query_irs = tuple(_query(q, span) for q in query_items)
    for q in query_irs:
        if q.target is None:
            raise ValidationError(f"the query '{q.atom}' of an example has no target value", span,
                                  "write the target on it, e.g. R.xor[1.0]")
    return ir.Example(fact_irs, query_irs, span=span)


@_located
def Query(literal: Any) -> ir.Query:
    """``Query(R.predict(0)[1.0])``: the query ``predict(0)`` with target 1.0 (no value: no target)."""
    return _query(literal, _caller_span())


@_located
def QueryLine(queries: Any, id: Any = None, importance: Any = None) -> ir.QueryLine:
    """One statement of a queries file: ``QueryLine(R.predict[1.0], id=R.mol42, importance=0.5)``."""
    span = _caller_span()
    query_irs = tuple(_query(q, span) for q in _as_list(queries))
    if id is None:
        if importance is not None:
            raise ValidationError("a query line has an importance only with an example id", span)
        return ir.QueryLine(query_irs, span=span)
    weight = ir.Weight(to_value(importance)) if importance is not None else None
    return query_line_of([_id_literal(id, span, weight)], query_irs, span)
