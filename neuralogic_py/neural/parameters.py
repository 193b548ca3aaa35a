"""The template's weights as named parameters, and where each one is used.

Every weight written in a template becomes one :class:`Parameter`: rule weights
(head, body, offset), learnable template-fact values (embeddings such as
``$w_ea={2} emb(a).``) and predicate offsets. ``@embed...`` rules add one
parameter per ground head when the network is built (:mod:`.network`).

Names
    A named weight ``$w`` is the parameter ``w``, shared by every place that writes
    ``$w`` (the first occurrence defines it; language.md §3.2). Unnamed weights are
    never shared; their names say where they stand, with 1-based rule and fact
    numbers counted in text order (imports expanded):

    ========================  ===============================================
    ``rule3.head``            head weight of the template's 3rd rule
    ``rule3.body2``           weight of its 2nd body literal (as written)
    ``rule3.offset``          its trailing offset
    ``fact2``                 value of the template's 2nd fact
    ``h/1.offset``            the predicate offset of ``h/1`` (``h/1 {1}``)
    ``@embed_x(c)``           the embedding of ground head ``embed_x(c)``
    ========================  ===============================================

    None of these can clash with a ``$name``: names written in a template never
    contain ``.``, ``/`` or ``(``.

Values
    A value is a 2-D block (the engine's convention): ``{1}`` and ``{1,1}`` are
    scalars ``(1, 1)``, ``{n}`` and ``{n,1}`` columns ``(n, 1)``, ``{1,n}`` rows
    ``(1, n)``, ``{r,c}`` matrices. A weight written with a value starts at that
    value (and returns to it on :meth:`ParameterStore.reset`); a shape-only weight
    ``{r,c}`` is drawn by the store's initializer, a callable ``init(shape, rng)``
    (default: uniform on (-1, 1), the reference's default). ``<...>`` weights, and
    named weights with ``$w [learnable=false]``, are fixed: they are parameters of
    the network but never learned. ``h/1 [offset=0.5]`` is a fixed offset, as in the
    reference.

Weight files
    :meth:`ParameterStore.load` reads values by name in the conformance
    ``weights.json`` format: a number for a scalar, a flat list for a column
    vector, ``[[...]]`` for a row vector, a list of rows for a matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import Span, ValidationError, span_in, warn
from ..jsonfile import read_json
from ..limits import check_memory
from ..language import ir

Shape = tuple[int, int]
Initializer = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def block_shape(shape: tuple[int, ...]) -> Shape:
    """The 2-D block of a canonical value shape: ``()`` -> ``(1, 1)``, ``(n,)`` -> ``(n, 1)``."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return (shape[0], shape[1])


def block_value(value: ir.Value) -> np.ndarray | None:
    """A literal's value as a 2-D block; None for a shape-only ``{dims}``."""
    array = value.to_array()
    return None if array is None else np.array(array, dtype=np.float64).reshape(block_shape(value.shape))


def shape_text(shape: Shape) -> str:
    """How a block shape reads in messages: ``scalar``, ``3-vector``, ``row 1x3``, ``3x3 matrix``."""
    rows, cols = shape
    if (rows, cols) == (1, 1):
        return "scalar"
    if cols == 1:
        return f"{rows}-vector"
    if rows == 1:
        return f"row vector 1x{cols}"
    return f"{rows}x{cols} matrix"


@dataclass
class Parameter:
    """One named weight: its block shape, whether it is learned, and its initial value.

    ``initial`` is the value as written (None when only a shape was written, so the
    initializer draws it). ``role`` says what it is (``weight``, ``offset``,
    ``fact``, ``predicate offset``, ``embedding``); ``span`` where it was defined.
    """

    name: str
    shape: Shape
    fixed: bool = False
    initial: np.ndarray | None = None
    role: str = "weight"
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def learnable(self) -> bool:
        return not self.fixed


# --------------------------------------------------------------------------- where weights are used


@dataclass(frozen=True)
class RuleWeights:
    """The parameter names of one rule of the ground program (None where no weight is written).

    ``body`` has one entry per written body literal. ``fact`` marks a template fact
    with variables (a body-less rule whose ground heads are facts valued ``head``);
    ``embed`` an ``@embed...`` rule (each ground head gets its own parameter shaped
    like the head weight).
    """

    head: str | None
    body: tuple[str | None, ...]
    offset: str | None
    fact: bool = False
    embed: bool = False


@dataclass
class TemplateWeights:
    """The parameters of a template and where each is used.

    ``rules`` is aligned with the rules grounding compiles (the template's rules and
    its facts with variables, in text order); ``facts`` maps each ground template
    fact with a learnable value to its parameter; ``predicate_offsets`` maps
    ``(name, arity)`` to the offset parameter; ``embed_shapes`` gives the head-weight
    shape of each ``@embed`` rule (by its index in ``rules``).
    """

    parameters: dict[str, Parameter]
    rules: list[RuleWeights]
    facts: dict[ir.Atom, str]
    predicate_offsets: dict[tuple[str, int], str]
    embed_shapes: dict[int, Shape]


def template_weights(template: ir.Template) -> TemplateWeights:
    """Collect every weight of ``template`` as a parameter (see the module docstring for names)."""
    parameters: dict[str, Parameter] = {}
    rules: list[RuleWeights] = []
    facts: dict[ir.Atom, str] = {}
    offsets: dict[tuple[str, int], str] = {}
    embed_shapes: dict[int, Shape] = {}

    def declare(weight: ir.Weight, default_name: str, role: str, span: Span | None) -> str:
        name = weight.name or default_name
        if name not in parameters:  # the first occurrence of a named weight defines it
            parameters[name] = Parameter(name, block_shape(weight.value.shape), weight.fixed,
                                         block_value(weight.value), role, span)
        return name

    rule_number = fact_number = 0
    for s in template.statements:
        if isinstance(s, ir.Rule):
            rule_number += 1
            prefix = f"rule{rule_number}"
            if s.head.builtin:  # @embed: the head weight only gives the shape of each ground head's embedding
                shape = block_shape(s.head_weight.value.shape) if s.head_weight is not None else (1, 1)
                embed_shapes[len(rules)] = shape
                rules.append(RuleWeights(None, (None,) * len(s.body), None, embed=True))
                continue
            head = declare(s.head_weight, f"{prefix}.head", "weight", s.span) if s.head_weight else None
            body = tuple(declare(lit.weight, f"{prefix}.body{j + 1}", "weight", lit.span or s.span)
                         if lit.weight is not None else None for j, lit in enumerate(s.body))
            offset = declare(s.offset, f"{prefix}.offset", "offset", s.span) if s.offset is not None else None
            rules.append(RuleWeights(head, body, offset))
        elif isinstance(s, ir.Fact):
            fact_number += 1
            if s.negated:
                continue  # ignored by grounding (with a warning)
            name = declare(s.weight, f"fact{fact_number}", "fact", s.span) if s.weight is not None else None
            if not s.atom.is_ground:
                rules.append(RuleWeights(name, (), None, fact=True))
            elif name is not None and not parameters[name].fixed:
                facts.setdefault(s.atom, name)
        elif isinstance(s, ir.PredicateOffset):
            p = s.predicate
            offsets[(p.name, p.arity)] = declare(s.weight, f"{p}.offset", "predicate offset", s.span)
        elif isinstance(s, ir.PredicateMetadata):
            value = s.metadata.get("offset")
            if value is not None and not isinstance(value, str):
                p = s.predicate
                weight = ir.Weight(value, fixed=True)
                name = f"{p}.offset"
                parameters.pop(name, None)  # the later declaration of the same offset wins
                offsets[(p.name, p.arity)] = declare(weight, name, "predicate offset", s.span)
    for s in template.statements:
        if isinstance(s, ir.WeightMetadata) and s.name in parameters:
            parameters[s.name] = _with_metadata(parameters[s.name], s.metadata)
    return TemplateWeights(parameters, rules, facts, offsets, embed_shapes)


def _with_metadata(p: Parameter, metadata: ir.Metadata) -> Parameter:
    """``$w [learnable=false, value=...]`` applied to ``w``."""
    learnable = metadata.get("learnable")
    value = metadata.get("value")
    if learnable is not None:
        p = replace(p, fixed=str(learnable).lower() == "false")
    if value is not None and not isinstance(value, (str, ir.Dims)):
        p = replace(p, initial=block_value(value))
    return p


# --------------------------------------------------------------------------- the store


def default_initializer() -> Initializer:
    """Uniform on (-1, 1), the reference's default (``-dist uniform -init simple``)."""
    from ..learn.initializers import DEFAULT_INITIALIZER, make_initializer

    return make_initializer(DEFAULT_INITIALIZER)


class ParameterStore:
    """Named parameters and their current values (2-D float64 blocks).

    ``values[name]`` is the array itself: optimizers update it in place.
    Shape-only weights are drawn with ``init`` from a generator seeded with
    ``seed`` (or the given ``rng``), in the order the parameters are declared, so a
    store is reproducible from its seed.
    """

    def __init__(self, parameters: Iterable[Parameter] = (), init: Initializer | None = None, seed: int = 0,
                 rng: np.random.Generator | None = None) -> None:
        self.init = init if init is not None else default_initializer()
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.parameters: dict[str, Parameter] = {}
        self.values: dict[str, np.ndarray] = {}
        for p in parameters:
            self.add(p)

    @classmethod
    def from_template(cls, template: ir.Template, init: Initializer | None = None, seed: int = 0,
                      rng: np.random.Generator | None = None) -> ParameterStore:
        return cls(template_weights(template).parameters.values(), init, seed, rng)

    # -- contents

    def names(self) -> list[str]:
        """Every parameter name, in declaration order."""
        return list(self.parameters)

    def learnable(self) -> dict[str, np.ndarray]:
        """``name -> value`` of the parameters that are learned (the arrays themselves)."""
        return {n: v for n, v in self.values.items() if not self.parameters[n].fixed}

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def __len__(self) -> int:
        return len(self.parameters)

    def add(self, parameter: Parameter) -> None:
        """Add a parameter (drawn now when it has no written value); an existing name is kept as is."""
        if parameter.name in self.parameters:
            return
        self.parameters[parameter.name] = parameter
        self.values[parameter.name] = self._initial(parameter)

    def _initial(self, p: Parameter) -> np.ndarray:
        check_memory(8 * p.shape[0] * p.shape[1], f"the weight '{p.name}' (a {shape_text(p.shape)})", p.span)
        if p.initial is not None:
            return np.array(p.initial, dtype=np.float64).reshape(p.shape)
        drawn = np.asarray(self.init(p.shape, self.rng), dtype=np.float64)
        return drawn.reshape(p.shape).copy()

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Written values back, shape-only weights drawn again (a training restart)."""
        if rng is not None:
            self.rng = rng
        for name, p in self.parameters.items():
            self.values[name][...] = self._initial(p)

    def copy(self) -> ParameterStore:
        other = ParameterStore(init=self.init, rng=self.rng)
        other.parameters = dict(self.parameters)
        other.values = {n: v.copy() for n, v in self.values.items()}
        return other

    # -- values by name

    def set(self, name: str, value: Any, span: Span | None = None) -> None:
        """Set parameter ``name`` from an array or a JSON value (conventions in the module docstring)."""
        if name not in self.parameters:
            known = ", ".join(self.names()[:12]) + (", ..." if len(self.parameters) > 12 else "")
            raise ValidationError(f"no parameter named '{name}'", span, f"the template's parameters: {known}")
        p = self.parameters[name]
        self.values[name][...] = json_to_block(value, p.shape, name, span)

    def load(self, values: Mapping[str, Any], *, strict: bool = True, span: Span | None = None) -> None:
        """Set many parameters by name. ``strict``: a name the template lacks is an error (else ignored)."""
        for name, value in values.items():
            if name in self.parameters or strict:
                self.set(name, value, span)

    def load_json(self, path: str | Path, *, strict: bool = True, warn_missing: bool = False) -> None:
        """Set parameters from a ``weights.json`` file (a JSON object ``name -> value``).

        A value written as ``true``/``false`` or as a string of a number, and a name given
        twice (the last value counts), are read with a warning; ``warn_missing`` also warns
        about the weights written by shape only that the file gives no value for (they
        keep their random initial values).
        """
        doc = read_json(path, "the weights file")
        if not isinstance(doc.data, dict):
            raise ValidationError("a weights file must hold a JSON object mapping names to values",
                                  span_in(doc.text, 0, doc.file))
        for name in dict.fromkeys(doc.repeated):
            warn(f"'{name}' is given {doc.repeated.count(name) + 1} times; the last value counts",
                 doc.span_of_key(name, 2))
        for name, value, span in doc.entries():
            if name in self.parameters or strict:
                self.set(name, _plain_numbers(value, name, span), span)
        if warn_missing:
            drawn = [name for name, p in self.parameters.items() if p.initial is None and name not in doc.data]
            if drawn:
                shown = ", ".join(drawn[:8]) + (", ..." if len(drawn) > 8 else "")
                warn(f"the weights file gives no value for {len(drawn)} weight{'s' if len(drawn) > 1 else ''} "
                     f"written by shape only: {shown}", span_in(doc.text, 0, doc.file),
                     "they keep random initial values (--seed); give every weight a value")

    def to_json(self) -> dict[str, Any]:
        """Every value in the weights.json conventions."""
        return {name: block_to_json(v) for name, v in self.values.items()}


def _plain_numbers(value: Any, name: str, span: Span) -> Any:
    """``value`` with booleans and strings of numbers read as numbers, each kind with one warning."""
    found: set[str] = set()

    def plain(v: Any) -> Any:
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, bool):
            found.add("true/false")
            return float(v)
        if isinstance(v, str):
            try:
                number = float(v)
            except ValueError:
                return v  # not a number at all: json_to_block says so
            found.add("a string")
            return number
        return v

    result = plain(value)
    for kind in sorted(found):
        warn(f"the value of '{name}' is written as {kind}; read as a number", span,
             "write numbers without quotes: \"w\": 0.27")
    return result


def json_to_block(value: Any, shape: Shape, name: str, span: Span | None = None) -> np.ndarray:
    """A JSON value (number, flat list, list of rows) or array as a block of ``shape``.

    A flat list fits a column or a row vector of its length; a list of rows must have
    exactly the block's shape.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"the value of '{name}' is not a number or a rectangular list of numbers",
                              span) from None
    fits = (array.shape == shape or (array.ndim == 0 and shape == (1, 1))
            or (array.ndim == 1 and 1 in shape and array.size == shape[0] * shape[1]))
    if not fits:
        got = shape_text(block_shape(array.shape)) if array.ndim <= 2 else f"{array.ndim} dimensions"
        raise ValidationError(f"the value given for '{name}' is a {got}, but '{name}' is a {shape_text(shape)}",
                              span)
    if not np.all(np.isfinite(array)):
        raise ValidationError(f"the value given for '{name}' is not finite", span)
    return array.reshape(shape)


def block_to_json(block: np.ndarray) -> Any:
    """A block in the weights.json conventions: number, flat list (column), ``[[...]]`` (row), rows."""
    rows, cols = block.shape
    if (rows, cols) == (1, 1):
        return float(block[0, 0])
    if cols == 1:
        return [float(x) for x in block[:, 0]]
    return [[float(x) for x in row] for row in block]
