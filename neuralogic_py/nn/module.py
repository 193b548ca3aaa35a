"""What every layer of the zoo shares: the :class:`Module` protocol and the rule-writing helpers.

A module is rule sugar. ``module.rules()`` lists DSL statements (rules, predicate
declarations, predicate offsets); ``template += module`` (a
:class:`~neuralogic_py.language.dsl.TemplateBuilder`) adds them; ``str(module)`` prints
them as template text. Nothing is left to the engine's defaults: every rule and every
predicate a module writes states its activation (and aggregation), so a module computes
the same under the ``reference`` and ``pyneuralogic`` profiles.

Naming. A module owns its output predicate and the names derived from it: helper
predicates ``<output>__<role>`` and weights ``$<output>__<role>``. Two modules must
write different outputs (a second module into the same predicate would add its rules
to the first one's sum and clash on the bias). Edges are read as ``edge(J, I)``, a
message from source ``J`` to target ``I`` (PyG's ``edge_index[0]`` to ``edge_index[1]``);
edge facts are hidden (``*edge``) unless a layer reads edge features.
"""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError
from ..language.dsl import R, Function, Predicate, Relation, TemplateBuilder, Term, V, W, WeightSpec

Activation = str | Function

I, J = V.I, V.J  # the target and the source node of a message


class Module:
    """A layer: a few rules that read one predicate and write another (see the module docstring)."""

    def rules(self) -> list[Any]:
        """The DSL statements of this layer, in order."""
        raise NotImplementedError

    @property
    def pyg_names(self) -> dict[str, str]:
        """PyTorch Geometric's parameter names (``state_dict`` keys) mapped to this layer's weight names.

        Matrices are stored as PyG's ``Linear.weight``, ``(out, in)``; biases as columns.
        """
        return {}

    def template(self) -> TemplateBuilder:
        return TemplateBuilder(self.rules())

    def __str__(self) -> str:
        return str(self.template())


def atom(name: str, *terms: Term) -> Relation:
    return R.get(name)(*terms)


def hidden(name: str, *terms: Term) -> Relation:
    return R.hidden.get(name)(*terms)


def variables(arity: int) -> tuple[Term, ...]:
    """``X0, ..., X{arity-1}``: the terms of a layer that maps ``p(X0, ...)`` to ``q(X0, ...)``."""
    return tuple(V.get(f"X{k}") for k in range(arity))


def learnable(name: str, *dims: int) -> WeightSpec:
    """``$name={dims}``: a named weight drawn by the initializer."""
    return W[(slice(name, dims[0]), *dims[1:])]


def fixed(value: float) -> WeightSpec:
    """``<value>``: a constant factor."""
    return W[float(value)].fixed()


def functions(activation: Activation = "identity", **others: Activation | None) -> dict[str, Activation]:
    """Rule or predicate metadata, every function written out (``None`` entries left out)."""
    return {"activation": activation, **{k: v for k, v in others.items() if v is not None}}


def declare(name: str, arity: int, activation: Activation = "identity") -> Any:
    """``name/arity [activation=...]``."""
    return (R.get(name) / arity) | functions(activation)


def bias(name: str, arity: int, size: int) -> Predicate:
    """``name/arity $name__bias={size}``: a learnable offset added inside every atom of ``name``.

    It takes effect because every layer writes its output with a head weight (only
    weighted atom neurons add the predicate offset, docs/neural.md).
    """
    return (R.get(name) / arity)[learnable(f"{name}__bias", size, 1)]


AGGREGATIONS = {"mean": "avg", "add": "sum", "sum": "sum", "max": "max", "min": "min"}


def aggregation(aggr: str) -> str:
    """PyG's ``aggr`` name as the language's aggregation function."""
    if aggr not in AGGREGATIONS:
        raise ValidationError(f"aggr must be one of {', '.join(AGGREGATIONS)}, got {aggr!r}")
    return AGGREGATIONS[aggr]
