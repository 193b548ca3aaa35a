"""The typed, immutable IR of templates and data.

Every node is a frozen dataclass. Positions (``span``) are carried for error
messages but excluded from equality, so the IR of a text equals the IR of its
printed form (``parse(str(ir)) == ir``) and the IR built by the Python DSL.

Text forms (``str(node)``) are valid NeuraLogic syntax:

=====================  ==========================================
``Variable``           ``X``, ``woman:X``, ``_``
``Constant``           ``a``, ``42``, ``1.5``, ``woman:ann``
``Atom``               ``edge(X, Y)``, ``@neq(X, Y)``, ``xor``
``Literal``            ``$w={3,3} ~*edge(X, Y)``, ``{3,2} sqrt(h(X))``, ``slice(h(X), rows=[0, 2])``
``Weight``             ``0.5``, ``<[1.0, 0.0]>``, ``$w={3,3}``
``Rule``               ``{3,3} h(X) :- {3,2} a(Y), *e(Y, X), 0.1. [aggregation=sum]``
``Fact``               ``<0.3> f(a).``
=====================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence, Union

import numpy as np

from ..errors import Span
from .functions import literal_function_text

# --------------------------------------------------------------------------- numbers


def format_number(x: float) -> str:
    """Shortest text that reads back to the same float64 (``1.0``, ``0.1``, ``1e-05``)."""
    return repr(float(x))


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class Variable:
    """A logic variable. ``_`` is anonymous: each occurrence is a distinct variable."""

    name: str
    type: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.name == "_"

    def __str__(self) -> str:
        return f"{self.type}:{self.name}" if self.type else self.name


@dataclass(frozen=True, slots=True)
class Constant:
    """A constant: a lower-case name, an int or a float. Typed constants differ from untyped."""

    value: str | int | float
    type: str | None = None

    def __str__(self) -> str:
        v = self.value
        text = format_number(v) if isinstance(v, float) else str(v)
        return f"{self.type}:{text}" if self.type else text


Term = Union[Variable, Constant]


# --------------------------------------------------------------------------- values


def canonical_shape(dims: tuple[int, ...]) -> tuple[int, ...]:
    """The value shape a written shape stands for, per the reference's conventions.

    ``{1}``/``{1,1}`` -> scalar ``()``; ``{n}``/``{n,1}`` -> column ``(n,)``;
    ``{1,n}`` -> row ``(1, n)``; ``{r,c}`` -> matrix ``(r, c)``.
    """
    if len(dims) == 1:
        return () if dims[0] == 1 else (dims[0],)
    r, c = dims
    if r == 1 and c == 1:
        return ()
    if c == 1:
        return (r,)
    return (r, c)


def _format_numbers(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(format_number(v) for v in values) + "]"


@dataclass(frozen=True, slots=True)
class Dims:
    """A shape only (``{3,3}``): the value is drawn by the initializer."""

    dims: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return canonical_shape(self.dims)

    def to_array(self) -> None:
        return None

    def __str__(self) -> str:
        return "{" + ",".join(str(d) for d in self.dims) + "}"


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    def to_array(self) -> np.ndarray:
        return np.array(self.value, dtype=np.float64)

    def __str__(self) -> str:
        return format_number(self.value)


@dataclass(frozen=True, slots=True)
class Vector:
    """A dense column vector ``[1.0, 2.0]``."""

    values: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.values),)

    def to_array(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)

    def __str__(self) -> str:
        return _format_numbers(self.values)


@dataclass(frozen=True, slots=True)
class Matrix:
    """A dense matrix ``[[1, 2], [3, 4]]`` (rows; a single row is a row vector)."""

    rows: tuple[tuple[float, ...], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return canonical_shape((len(self.rows), len(self.rows[0])))

    def to_array(self) -> np.ndarray:
        return np.array(self.rows, dtype=np.float64).reshape(self.shape)

    def __str__(self) -> str:
        return "[" + ", ".join(_format_numbers(r) for r in self.rows) + "]"


@dataclass(frozen=True, slots=True)
class SparseVector:
    """``[5|1:2.0, 3:1.0]``: a column vector of ``size`` with the listed entries (0-based)."""

    size: int
    entries: tuple[tuple[int, float], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return canonical_shape((self.size,))

    def to_array(self) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float64)
        for i, v in self.entries:
            out[i] = v
        return out.reshape(self.shape)

    def __str__(self) -> str:
        inner = ", ".join(f"{i}:{format_number(v)}" for i, v in self.entries)
        return f"[{self.size}|{inner}]"


@dataclass(frozen=True, slots=True)
class SparseMatrix:
    """``[3,4|(1,2:0.3)]``: a ``rows`` x ``cols`` matrix with the listed entries (0-based)."""

    rows: int
    cols: int
    entries: tuple[tuple[int, int, float], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return canonical_shape((self.rows, self.cols))

    def to_array(self) -> np.ndarray:
        out = np.zeros((self.rows, self.cols), dtype=np.float64)
        for r, c, v in self.entries:
            out[r, c] = v
        return out.reshape(self.shape)

    def __str__(self) -> str:
        inner = ", ".join(f"({r},{c}:{format_number(v)})" for r, c, v in self.entries)
        return f"[{self.rows},{self.cols}|{inner}]"


Value = Union[Dims, Scalar, Vector, Matrix, SparseVector, SparseMatrix]


def value_from_array(array: np.ndarray | float | int | list) -> Value:
    """The literal for a number, nested list or numpy array (scalar, vector or matrix)."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 0:
        return Scalar(float(a))
    if a.ndim == 1:
        return Vector(tuple(float(x) for x in a))
    if a.ndim == 2:
        return Matrix(tuple(tuple(float(x) for x in row) for row in a))
    raise ValueError(f"values have at most 2 dimensions, got shape {a.shape}")


def is_finite_value(value: Value) -> bool:
    if isinstance(value, Dims):
        return True
    return bool(np.all(np.isfinite(value.to_array())))


@dataclass(frozen=True, slots=True)
class Weight:
    """A weight or value written in front of an atom, after a body or in a declaration.

    ``name`` makes it shared (``$w=...``): the first occurrence defines it. ``fixed``
    (``<...>``) excludes it from learning.
    """

    value: Value
    name: str | None = None
    fixed: bool = False

    def __str__(self) -> str:
        text = f"<{self.value}>" if self.fixed else str(self.value)
        return f"${self.name}={text}" if self.name else text


# --------------------------------------------------------------------------- atoms


@dataclass(frozen=True, slots=True)
class Atom:
    """``predicate(terms...)``; ``builtin`` marks ``@name`` predicates evaluated by the engine."""

    predicate: str
    terms: tuple[Term, ...] = ()
    builtin: bool = False

    @property
    def arity(self) -> int:
        return len(self.terms)

    @property
    def signature(self) -> str:
        return f"{'@' if self.builtin else ''}{self.predicate}/{len(self.terms)}"

    @property
    def is_ground(self) -> bool:
        return all(isinstance(t, Constant) for t in self.terms)

    def variables(self) -> Iterator[Variable]:
        return (t for t in self.terms if isinstance(t, Variable))

    def __str__(self) -> str:
        name = f"@{self.predicate}" if self.builtin else self.predicate
        if not self.terms:
            return name
        return f"{name}({', '.join(str(t) for t in self.terms)})"


class Negation:
    """How a body literal is negated: not at all, hard (``!``, failure) or soft (``~``, 1-x)."""

    NONE = ""
    HARD = "!"
    SOFT = "~"


@dataclass(frozen=True, slots=True)
class Literal:
    """An atom in a rule body, with its weight, negation, hidden (``*``) flag and function.

    ``function`` (a canonical function text, :mod:`.functions`) is applied to the atom's
    value before the weight: ``{3,2} sqrt(h(X))`` reads ``W sqrt(h(X))``. Soft negation
    ``~h`` is the function ``reverse`` by another spelling (the network's negation setting).
    """

    atom: Atom
    weight: Weight | None = None
    negation: str = Negation.NONE
    hidden: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)
    function: str | None = None

    @property
    def is_positive(self) -> bool:
        """True when the literal binds its variables (not hard-negated, not built-in)."""
        return self.negation != Negation.HARD and not self.atom.builtin

    def __str__(self) -> str:
        prefix = f"{self.weight} " if self.weight is not None else ""
        if self.function is not None:
            atom = str(self.atom) if self.atom.terms else f"{self.atom}()"
            return prefix + literal_function_text(self.function, atom)
        return f"{prefix}{self.negation}{'*' if self.hidden else ''}{self.atom}"


# --------------------------------------------------------------------------- metadata

MetaValue = Union[str, Value]


@dataclass(frozen=True, slots=True)
class Metadata:
    """``[key=value, ...]`` after a rule or a predicate declaration.

    Keys are normalised (``transformation`` -> ``activation``); function names are
    lower-case and canonical. Values are names (``str``) or numeric values.
    """

    entries: tuple[tuple[str, MetaValue], ...] = ()

    def get(self, key: str) -> MetaValue | None:
        for k, v in self.entries:
            if k == key:
                return v
        return None

    @property
    def activation(self) -> str | None:
        return self.get("activation")  # type: ignore[return-value]

    @property
    def combination(self) -> str | None:
        return self.get("combination")  # type: ignore[return-value]

    @property
    def aggregation(self) -> str | None:
        return self.get("aggregation")  # type: ignore[return-value]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __str__(self) -> str:
        return "[" + ", ".join(f"{k}={v}" for k, v in self.entries) + "]"


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Rule:
    """``head_weight head :- body, offset. [metadata]``.

    ``head_weight`` multiplies the rule's aggregation output on its way into the head
    atom neuron; ``offset`` is added inside every rule neuron.
    """

    head: Atom
    body: tuple[Literal, ...]
    head_weight: Weight | None = None
    offset: Weight | None = None
    metadata: Metadata = Metadata()
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        head = f"{self.head_weight} {self.head}" if self.head_weight is not None else str(self.head)
        items = [str(lit) for lit in self.body]
        if self.offset is not None:
            items.append(str(self.offset))
        text = f"{head} :- {', '.join(items)}."
        return f"{text} {self.metadata}" if self.metadata else text


@dataclass(frozen=True, slots=True)
class Fact:
    """A fact: in a template its weight is a (learnable or fixed) value; in data an input."""

    atom: Atom
    weight: Weight | None = None
    negated: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        prefix = f"{self.weight} " if self.weight is not None else ""
        return f"{prefix}{'!' if self.negated else ''}{self.atom}"


@dataclass(frozen=True, slots=True)
class PredicateRef:
    name: str
    arity: int

    def __str__(self) -> str:
        return f"{self.name}/{self.arity}"


@dataclass(frozen=True, slots=True)
class PredicateOffset:
    """``h/1 {1}``: an offset added inside every (weighted) atom neuron of ``h/1``."""

    predicate: PredicateRef
    weight: Weight
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.predicate} {self.weight}"


@dataclass(frozen=True, slots=True)
class PredicateMetadata:
    """``h/1 [activation=sigmoid]``: settings of the atom neurons of ``h/1``."""

    predicate: PredicateRef
    metadata: Metadata
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.predicate} {self.metadata}"


@dataclass(frozen=True, slots=True)
class WeightMetadata:
    """``$w [learnable=false]``: settings of the named weight ``w``."""

    name: str
    metadata: Metadata
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"${self.name} {self.metadata}"


@dataclass(frozen=True, slots=True)
class Constraint:
    """``a(X), b(X).`` in a template: parsed and kept, but has no meaning (as in the reference)."""

    literals: tuple[Literal, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return ", ".join(str(lit) for lit in self.literals) + "."


@dataclass(frozen=True, slots=True)
class GlobalMetadata:
    """A ``[...]`` line not attached to any rule: parsed and kept, without effect."""

    metadata: Metadata
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return str(self.metadata)


Statement = Union[Rule, Fact, PredicateOffset, PredicateMetadata, WeightMetadata, Constraint, GlobalMetadata]


@dataclass(frozen=True, slots=True)
class Template:
    """A template: statements in file order (imports already expanded)."""

    statements: tuple[Statement, ...] = ()

    def _of(self, kind: type) -> tuple:
        return tuple(s for s in self.statements if isinstance(s, kind))

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._of(Rule)

    @property
    def facts(self) -> tuple[Fact, ...]:
        return self._of(Fact)

    @property
    def predicate_offsets(self) -> tuple[PredicateOffset, ...]:
        return self._of(PredicateOffset)

    @property
    def predicate_metadata(self) -> tuple[PredicateMetadata, ...]:
        return self._of(PredicateMetadata)

    def weights(self) -> Iterator[tuple[Weight, Span | None]]:
        """Every weight written in the template, in text order, with where it stands."""
        for s in self.statements:
            if isinstance(s, Rule):
                if s.head_weight is not None:
                    yield s.head_weight, s.span
                for lit in s.body:
                    if lit.weight is not None:
                        yield lit.weight, lit.span or s.span
                if s.offset is not None:
                    yield s.offset, s.span
            elif isinstance(s, Fact) and s.weight is not None:
                yield s.weight, s.span
            elif isinstance(s, PredicateOffset):
                yield s.weight, s.span

    def __add__(self, other: "Template") -> "Template":
        return Template(self.statements + other.statements)

    def query(self, goal: "str | Atom", data: object = None) -> list:
        """Answers to a Datalog ``goal`` (e.g. ``"h(X, Y)"``) over these rules and ``data``
        (facts, an example or a data text); see :func:`neuralogic_py.logic.query`."""
        from ..logic.query import query  # logic builds on the IR; imported late to keep the layers one-way

        return query(self, goal, data)

    def __str__(self) -> str:
        return "".join(f"{s}\n" if not isinstance(s, Fact) else f"{s}.\n" for s in self.statements)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Query:
    """A query atom with its target value (``None`` when unlabelled)."""

    atom: Atom
    target: Value | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.target} {self.atom}" if self.target is not None else str(self.atom)


@dataclass(frozen=True, slots=True)
class Example:
    """One example: facts, optionally with inline labelled queries or a link id.

    ``1 xor :- <0> a, <1> b.`` has ``queries=(1.0 xor,)``; ``mol42 :- bond(a,b,1).``
    has ``id=mol42``; a plain fact list has neither. ``facts`` is a tuple, or for
    examples read from a file an :class:`~.items.Items` sequence (equal to that tuple)
    that makes the facts when first read.
    """

    facts: Sequence[Fact]
    queries: tuple[Query, ...] = ()
    id: Atom | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        body = ", ".join(str(f) for f in self.facts)
        if self.id is not None:
            return f"{self.id} :- {body}."
        if self.queries:
            return f"{', '.join(str(q) for q in self.queries)} :- {body}."
        return f"{body}."


@dataclass(frozen=True, slots=True)
class QueryLine:
    """One statement of a queries file: its queries, and the example id they refer to.

    ``0.5 mol42 :- 1.0 predict.`` has ``id=mol42`` and ``importance=0.5``.
    """

    queries: tuple[Query, ...]
    id: Atom | None = None
    importance: float | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        body = ", ".join(str(q) for q in self.queries)
        if self.id is None:
            return f"{body}."
        label = f"{format_number(self.importance)} {self.id}" if self.importance is not None else str(self.id)
        return f"{label} :- {body}."


def example_key(atom: Atom) -> str:
    """The string an example id is matched by (the reference uses its literal text)."""
    return str(atom)
