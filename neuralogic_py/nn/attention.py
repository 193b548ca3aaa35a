"""Graph attention: :class:`GATv2Conv`, a softmax over each node's in-neighbourhood."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..language.dsl import A, T, Relation
from .linear import Linear
from .module import (Activation, I, J, Module, PygState, atom, declare, fixed, functions, hidden, learnable, output,
                     whole)
from .propagation import Adjacency


class GATv2Conv(Module):
    r"""The attention layer of Brody et al. (2022), PyG's ``GATv2Conv``.

    .. math::
        \mathbf{x}_i' = \sigma\Big(\big\Vert_{h=1}^{H} \sum_{j \in \mathcal{N}(i) \cup \{i\}}
        \alpha^h_{i,j} \mathbf{\Theta}^h_s \mathbf{x}_j + \mathbf{b}\Big), \qquad
        \alpha^h_{i,j} = \operatorname{softmax}_j\Big(\mathbf{a}_h^{\top}
        \mathrm{LeakyReLU}\big(\mathbf{\Theta}^h_t \mathbf{x}_i + \mathbf{\Theta}^h_s \mathbf{x}_j\big)\Big)

    with :math:`\mathbf{\Theta}_s \mathbf{x} = \mathbf{W}_l \mathbf{x} + \mathbf{b}_l` and
    :math:`\mathbf{\Theta}_t \mathbf{x} = \mathbf{W}_r \mathbf{x} + \mathbf{b}_r`, two
    :class:`Linear` layers of ``heads * out_channels`` outputs (``<output>__lin_l``,
    ``<output>__lin_r``; one shared with ``share_weights``), head ``h`` reading rows
    ``h*out .. (h+1)*out`` (``slice``). :math:`\Vert` concatenates the heads (``concat``)
    or averages them. Self loops as in :class:`GCNConv` (each node attends to itself
    once). The softmax is ``aggregation=softmax(agg_terms=[J])``; the attention vectors
    are ``$<output>__att<h>`` (PyG's ``att[0, h]``, split by ``load_pyg``); no edge
    features, no dropout.

    PyNeuraLogic: ``GATv2Conv(in_channels, out_channels, output_name, feature_name,
    edge_name, share_weights, add_self_loops, negative_slope, activation)``, one head,
    without biases.
    """

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, heads: int = 1, concat: bool = True, negative_slope: float = 0.2,
                 add_self_loops: bool = True, bias: bool = True, share_weights: bool = False,
                 activation: Activation = "identity") -> None:
        self.in_channels, self.out_channels, self.concat = in_channels, out_channels, concat
        self.heads = whole(heads, "GATv2Conv's heads", 1)
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.negative_slope, self.bias, self.share_weights = negative_slope, bias, share_weights
        self.activation = activation
        self.adjacency = Adjacency(output_name, feature_name, edge_name, add_self_loops, False)
        width = heads * out_channels
        self.source = Linear(in_channels, width, f"{output_name}__lin_l", feature_name)
        self.target = self.source if share_weights else Linear(in_channels, width, f"{output_name}__lin_r",
                                                                feature_name)

    def _head(self, linear: Linear, node: Any, h: int) -> Relation:
        """Head ``h``'s rows of a projection of ``node``."""
        projected = atom(linear.output_name, node)
        if self.heads == 1:
            return projected
        return T.SLICE(projected, rows=[h * self.out_channels, (h + 1) * self.out_channels])

    def rules(self) -> list[Any]:
        out, edge = self.output_name, hidden(self.adjacency.edge, J, I)
        rules = [*self.adjacency.rules(), *self.source.rules(), *([] if self.share_weights else self.target.rules())]
        heads = []
        for h in range(self.heads):
            score, attention = f"{out}__score{h}", f"{out}__attention{h}"
            head = out if self.heads == 1 else f"{out}__head{h}"
            rules += [
                (atom(score, I, J) <= (self._head(self.target, I, h), self._head(self.source, J, h), edge))
                | functions(T.LEAKY_RELU(self.negative_slope), combination="sum"),
                declare(score, 2),
                (atom(attention, I, J) <= atom(score, I, J)[learnable(f"{out}__att{h}", 1, self.out_channels)])
                | functions(aggregation=A.SOFTMAX(agg_terms=[J])),
                declare(attention, 2)]
            # <1.0> makes the output atom weighted, so that its bias applies
            message = (atom(attention, I, J), self._head(self.source, J, h), edge)
            target = atom(head, I)[fixed(1.0)] if head == out else atom(head, I)
            rules.append((target <= message) | functions(combination="product", aggregation="sum"))
            heads.append(head)
        if self.heads > 1:
            rules += [declare(head, 1) for head in heads]
            rules.append((atom(out, I)[fixed(1.0)] <= tuple(atom(head, I) for head in heads))
                         | functions(combination="concat" if self.concat else "avg"))
        size = self.heads * self.out_channels if self.concat else self.out_channels
        return [*rules, *output(out, size, self.bias, self.activation)]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {f"lin_l.{k}": v for k, v in self.source.pyg_names.items()}
        names.update({f"lin_r.{k}": v for k, v in self.target.pyg_names.items()})
        if self.bias:
            names["bias"] = f"{self.output_name}__bias"
        return names

    def from_pyg(self, state: PygState) -> dict[str, np.ndarray]:
        """PyG's ``att`` is ``(1, heads, out)``: row ``h`` is ``$<output>__att<h>``."""
        att = state["att"]
        return {**super().from_pyg(state), **{f"{self.output_name}__att{h}": att[0, h] for h in range(self.heads)}}
