"""Readouts: one vector per graph from the vectors of its nodes."""

from __future__ import annotations

from typing import Any

from .module import Module, atom, declare, functions, variables


class Pooling(Module):
    r"""A readout over every atom of the input predicate, in the same example.

    .. math::
        \mathbf{r} = \operatorname{agg}_{i} \mathbf{x}_i

    written to the 0-ary ``output_name``; ``agg`` is an aggregation function name
    (``sum``, ``avg``, ``max``, ``min``; max and min element-wise, as PyG's
    ``global_max_pool``). ``input_arity`` is the arity of the input predicate.

    Rule (``SumPooling("g", "h")``)::

        g :- h(X0). [activation=identity, aggregation=sum]
        g/0 [activation=identity]

    PyNeuraLogic: ``Pooling(output_name, feature_name, aggregation, input_arity)``.
    """

    def __init__(self, output_name: str, input_name: str, aggregation: str, *, input_arity: int = 1) -> None:
        self.output_name, self.input_name, self.aggregation = output_name, input_name, aggregation
        self.input_arity = input_arity

    def rules(self) -> list[Any]:
        return [(atom(self.output_name) <= atom(self.input_name, *variables(self.input_arity)))
                | functions(aggregation=self.aggregation),
                declare(self.output_name, 0)]


class SumPooling(Pooling):
    r""":math:`\mathbf{r} = \sum_i \mathbf{x}_i`, PyG's ``global_add_pool`` (:class:`Pooling` with ``sum``)."""

    def __init__(self, output_name: str, input_name: str, *, input_arity: int = 1) -> None:
        super().__init__(output_name, input_name, "sum", input_arity=input_arity)


class MeanPooling(Pooling):
    r""":math:`\mathbf{r} = \frac{1}{n} \sum_i \mathbf{x}_i`, PyG's ``global_mean_pool``.

    PyNeuraLogic's ``AvgPooling`` (an alias here).
    """

    def __init__(self, output_name: str, input_name: str, *, input_arity: int = 1) -> None:
        super().__init__(output_name, input_name, "avg", input_arity=input_arity)


class MaxPooling(Pooling):
    r""":math:`\mathbf{r} = \max_i \mathbf{x}_i` element-wise, PyG's ``global_max_pool``."""

    def __init__(self, output_name: str, input_name: str, *, input_arity: int = 1) -> None:
        super().__init__(output_name, input_name, "max", input_arity=input_arity)


AvgPooling = MeanPooling
