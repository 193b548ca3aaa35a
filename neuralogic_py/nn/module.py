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

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..language.dsl import Function, Predicate, R, Relation, TemplateBuilder, Term, V, W, WeightSpec, _caller_span

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

    def load_pyg(self, model: Any, state_dict: Mapping[str, Any]) -> None:
        """Set this layer's weights in ``model`` (a :class:`~neuralogic_py.learn.model.Model`) from
        the ``state_dict()`` of the PyG layer it mirrors (tensors or arrays).

        Each value is reshaped to the weight's shape (a bias ``(n,)`` to a column); torch is
        not imported: a CPU tensor converts with ``numpy.asarray``.
        """
        shapes = {name: value.shape for name, value in model.parameters().items()}
        values = self.from_pyg(PygState(self, state_dict))
        model.load_parameters({name: value.reshape(shapes[name]) for name, value in values.items()})

    def from_pyg(self, state: PygState) -> dict[str, np.ndarray]:
        """This layer's weights by name from a PyG ``state_dict``: :attr:`pyg_names`, copied."""
        return {name: state[key] for key, name in self.pyg_names.items()}

    def template(self) -> TemplateBuilder:
        return TemplateBuilder(self.rules())

    def __str__(self) -> str:
        return str(self.template())


class PygState:
    """A PyG ``state_dict`` read as float64 arrays; a missing key is an error naming the layer."""

    def __init__(self, layer: Module, state_dict: Mapping[str, Any]) -> None:
        self.layer, self.state_dict = layer, state_dict

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.state_dict:
            raise invalid(f"the PyG state_dict has no {key}",
                          hint=f"pass the state_dict() of PyG's {type(self.layer).__name__}")
        return np.asarray(self.state_dict[key], dtype=np.float64)


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


def output(name: str, size: int, with_bias: bool, activation: Activation) -> list[Any]:
    """The closing statements of a layer over nodes: its bias (when ``with_bias``) and its activation."""
    return [*([bias(name, 1, size)] if with_bias else []), declare(name, 1, activation)]


def invalid(message: str, hint: str | None = None) -> ValidationError:
    """An error about a layer's arguments, positioned at the user's line that made the layer."""
    return ValidationError(message, _caller_span(), hint)


def whole(value: Any, what: str, least: int) -> int:
    """``value`` checked to be a whole number of at least ``least`` (a number of hops, heads, relations)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise invalid(f"{what} must be a whole number of at least {least}, got {value!r}")
    return value


AGGREGATIONS = {"mean": "avg", "add": "sum", "sum": "sum", "max": "max", "min": "min"}


def aggregation(aggr: str) -> str:
    """PyG's ``aggr`` name as the language's aggregation function."""
    if aggr not in AGGREGATIONS:
        raise invalid(f"aggr must be one of {', '.join(AGGREGATIONS)}, got {aggr!r}")
    return AGGREGATIONS[aggr]
