"""Message-passing layers without degree normalisation: SAGE, GraphConv, GIN, GINE, RGCN, ResGated.

Every layer reads node features ``<feature>(J)`` and edges ``<edge>(J, I)`` (from ``J``
to ``I``) and writes ``<output>(I)``; see :mod:`.module` for the conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..language.dsl import C, W
from .linear import MLP, Linear
from .module import (Activation, I, J, Module, PygState, aggregation, atom, declare, fixed, functions, hidden, invalid,
                     learnable, output, whole)


class _RootAndNeighbours(Module):
    """``x_i' = W_root x_i + W_nb aggr_j x_j + b``: the shape SAGEConv and GraphConv share."""

    neighbour_weight: str  # PyG's name of the matrix on the aggregated neighbours (it carries the bias)
    root_weight_name: str  # ... and of the one on the node itself

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str, aggr: str, root_weight: bool, bias: bool, activation: Activation) -> None:
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.aggr, self.root_weight, self.bias, self.activation = aggregation(aggr), root_weight, bias, activation

    def _weight(self, role: str) -> Any:
        return learnable(f"{self.output_name}__{role}", self.out_channels, self.in_channels)

    def rules(self) -> list[Any]:
        out, feature = self.output_name, self.feature_name
        rules: list[Any] = [
            (atom(out, I)[self._weight(self.neighbour_weight)] <= (atom(feature, J), hidden(self.edge_name, J, I)))
            | functions(aggregation=self.aggr)]
        if self.root_weight:
            rules.append((atom(out, I)[self._weight(self.root_weight_name)] <= atom(feature, I)) | functions())
        return [*rules, *output(out, self.out_channels, self.bias, self.activation)]

    @property
    def pyg_names(self) -> dict[str, str]:
        out = self.output_name
        names = {f"{self.neighbour_weight}.weight": f"{out}__{self.neighbour_weight}"}
        if self.bias:
            names[f"{self.neighbour_weight}.bias"] = f"{out}__bias"
        if self.root_weight:
            names[f"{self.root_weight_name}.weight"] = f"{out}__{self.root_weight_name}"
        return names


class SAGEConv(_RootAndNeighbours):
    r"""GraphSAGE (Hamilton et al., 2017), PyG's ``SAGEConv``.

    .. math::
        \mathbf{x}_i' = \sigma\big(\mathbf{W}_1 \mathbf{x}_i
        + \mathbf{W}_2 \cdot \mathrm{mean}_{j \in \mathcal{N}(i)} \mathbf{x}_j + \mathbf{b}\big)

    ``aggr`` (``mean``, ``add``/``sum``, ``max``) replaces the mean; ``root_weight=False``
    drops the first term. Weights ``$<output>__lin_l`` (:math:`\mathbf{W}_2`, PyG's
    ``lin_l``, with the bias ``$<output>__bias``) and ``$<output>__lin_r``
    (:math:`\mathbf{W}_1`). A node without in-edges gets only the root term, as in PyG.

    PyNeuraLogic: ``SAGEConv(in_channels, out_channels, output_name, feature_name,
    edge_name, activation, aggregation)``, without a bias.
    """

    neighbour_weight, root_weight_name = "lin_l", "lin_r"

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, aggr: str = "mean", root_weight: bool = True, bias: bool = True,
                 activation: Activation = "identity") -> None:
        super().__init__(in_channels, out_channels, output_name, feature_name, edge_name, aggr, root_weight, bias,
                         activation)


class GraphConv(_RootAndNeighbours):
    r"""The graph neural network operator of Morris et al. (2019), PyG's ``GraphConv``.

    .. math::
        \mathbf{x}_i' = \sigma\big(\mathbf{W}_1 \mathbf{x}_i
        + \mathbf{W}_2 \sum_{j \in \mathcal{N}(i)} \mathbf{x}_j + \mathbf{b}\big)

    ``aggr`` (``add``, ``mean``, ``max``) replaces the sum. Weights ``$<output>__lin_rel``
    (:math:`\mathbf{W}_2`, with the bias ``$<output>__bias``) and ``$<output>__lin_root``
    (:math:`\mathbf{W}_1`). Edge weights are not read (edge facts are hidden).

    PyNeuraLogic has no GraphConv.
    """

    neighbour_weight, root_weight_name = "lin_rel", "lin_root"

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, aggr: str = "add", bias: bool = True,
                 activation: Activation = "identity") -> None:
        super().__init__(in_channels, out_channels, output_name, feature_name, edge_name, aggr, True, bias,
                         activation)


def _nn_input(nn: Module) -> tuple[str, int]:
    """The predicate a GIN layer's ``nn`` reads, and its input size."""
    layers = nn.layers if isinstance(nn, MLP) else [nn]
    if not isinstance(nn, (Linear, MLP)) or any(layer.arity != 1 for layer in layers):  # type: ignore[attr-defined]
        raise invalid("the nn of a GIN layer is a Linear or an MLP over nodes (arity 1)")
    return nn.input_name, nn.in_channels


class GINConv(Module):
    r"""The graph isomorphism operator (Xu et al., 2019), PyG's ``GINConv``.

    .. math::
        \mathbf{x}_i' = h_{\mathbf{\Theta}}\Big((1 + \epsilon) \mathbf{x}_i
        + \sum_{j \in \mathcal{N}(i)} \mathbf{x}_j\Big)

    :math:`h_{\mathbf{\Theta}}` is ``nn``, a :class:`Linear` or :class:`MLP`: this layer
    writes its argument into ``nn.input_name`` and ``nn``'s rules follow, so the output
    predicate is ``nn.output_name``. ``train_eps=True`` learns :math:`\epsilon` as the
    weight ``$<nn input>__eps`` (PyG's ``eps``): the root rule's body is ``x_i, eps x_i``.

    PyNeuraLogic: ``GINConv(in_channels, out_channels, output_name, feature_name,
    edge_name, activation, aggregation)`` with a fixed two-matrix nn.
    """

    def __init__(self, nn: Module, feature_name: str, edge_name: str = "edge", *, eps: float = 0.0,
                 train_eps: bool = False) -> None:
        self.nn, self.feature_name, self.edge_name = nn, feature_name, edge_name
        self.eps, self.train_eps = eps, train_eps
        self.input_name, self.in_channels = _nn_input(nn)
        self.output_name: str = nn.output_name  # type: ignore[attr-defined]  # a Linear or MLP (checked)

    def _messages(self) -> list[Any]:
        """The rules that add the neighbours' messages into the nn's input."""
        return [(atom(self.input_name, I) <= (atom(self.feature_name, J), hidden(self.edge_name, J, I)))
                | functions(aggregation="sum")]

    def rules(self) -> list[Any]:
        node = atom(self.feature_name, I)
        if self.train_eps:  # x_i + eps x_i, so that the parameter is PyG's eps
            root: tuple[Any, ...] = (node, node[W[f"{self.input_name}__eps": float(self.eps)]])
        else:
            root = (node[fixed(1.0 + self.eps)] if self.eps else node,)
        return [*self._messages(), (atom(self.input_name, I) <= root) | functions(combination="sum"),
                declare(self.input_name, 1), *self.nn.rules()]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {f"nn.{key}": name for key, name in self.nn.pyg_names.items()}
        if self.train_eps:
            names["eps"] = f"{self.input_name}__eps"
        return names


class GINEConv(GINConv):
    r"""GIN with edge features (Hu et al., 2020), PyG's ``GINEConv``.

    .. math::
        \mathbf{x}_i' = h_{\mathbf{\Theta}}\Big((1 + \epsilon) \mathbf{x}_i
        + \sum_{j \in \mathcal{N}(i)} \mathrm{ReLU}(\mathbf{x}_j + \mathbf{e}_{j,i})\Big)

    :math:`\mathbf{e}_{j,i}` is the value of the edge fact ``<edge>(J, I)`` (a vector of
    the node feature size); with ``edge_dim`` it is first mapped by
    :math:`\mathbf{W}_e \mathbf{e}_{j,i} + \mathbf{b}_e` (weights ``$<nn input>__lin``,
    ``$<nn input>__lin_bias``, PyG's ``lin``). Otherwise as :class:`GINConv`.

    PyNeuraLogic: ``GINEConv(in_channels, output_name, feature_name, edge_name, nn_name,
    eps, train_eps, edge_dim)``.
    """

    def __init__(self, nn: Module, feature_name: str, edge_name: str = "edge", *, eps: float = 0.0,
                 train_eps: bool = False, edge_dim: int | None = None) -> None:
        super().__init__(nn, feature_name, edge_name, eps=eps, train_eps=train_eps)
        self.edge_dim = edge_dim

    def _messages(self) -> list[Any]:
        edge = atom(self.edge_name, J, I)
        body: list[Any] = [atom(self.feature_name, J), edge]
        if self.edge_dim is not None:
            lin = f"{self.input_name}__lin"
            body = [atom(self.feature_name, J), edge[learnable(lin, self.in_channels, self.edge_dim)],
                    learnable(f"{lin}_bias", self.in_channels, 1)]
        return [(atom(self.input_name, I) <= body) | functions("relu", combination="sum", aggregation="sum")]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = super().pyg_names
        if self.edge_dim is not None:
            names.update({"lin.weight": f"{self.input_name}__lin", "lin.bias": f"{self.input_name}__lin_bias"})
        return names


class RGCNConv(Module):
    r"""The relational graph convolution (Schlichtkrull et al., 2018), PyG's ``RGCNConv``.

    .. math::
        \mathbf{x}_i' = \sigma\Big(\mathbf{\Theta}_{\mathrm{root}} \mathbf{x}_i
        + \sum_{r \in \mathcal{R}} \frac{1}{|\mathcal{N}_r(i)|}
        \sum_{j \in \mathcal{N}_r(i)} \mathbf{\Theta}_r \mathbf{x}_j + \mathbf{b}\Big)

    Edges are ``<edge>(J, R, I)`` with the relation ``R`` one of ``relations`` (default
    the integers ``0 .. num_relations-1``, PyG's ``edge_type``). Weights
    ``$<output>__weight<r>`` (:math:`\mathbf{\Theta}_r`, PyG's ``weight[r]`` transposed),
    ``$<output>__root`` (PyG's ``root`` transposed) and ``$<output>__bias``; ``load_pyg``
    transposes them. ``aggr``
    replaces the mean per relation; no basis or block decomposition.

    PyNeuraLogic: ``RGCNConv(in_channels, out_channels, output_name, feature_name,
    edge_name, relations, activation, aggregation)``; with ``edge_name=None`` it reads
    ``r(J, I)`` instead.
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, output_name: str,
                 feature_name: str, edge_name: str = "edge", *, relations: Sequence[Any] | None = None,
                 aggr: str = "mean", root_weight: bool = True, bias: bool = True,
                 activation: Activation = "identity") -> None:
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_relations = whole(num_relations, "RGCNConv's num_relations", 1)
        self.relations = list(range(num_relations)) if relations is None else list(relations)
        if len(self.relations) != num_relations:
            raise invalid(f"RGCNConv: {num_relations} relations, but {len(self.relations)} names given")
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.aggr, self.root_weight, self.bias, self.activation = aggregation(aggr), root_weight, bias, activation

    def rules(self) -> list[Any]:
        out, shape = self.output_name, (self.out_channels, self.in_channels)
        rules: list[Any] = []
        for r, relation in enumerate(self.relations):
            edge = hidden(self.edge_name, J, C.get(relation) if isinstance(relation, str) else relation, I)
            rules.append((atom(out, I)[learnable(f"{out}__weight{r}", *shape)] <= (atom(self.feature_name, J), edge))
                         | functions(aggregation=self.aggr))
        if self.root_weight:
            rules.append((atom(out, I)[learnable(f"{out}__root", *shape)] <= atom(self.feature_name, I)) | functions())
        return [*rules, *output(out, self.out_channels, self.bias, self.activation)]


    def from_pyg(self, state: PygState) -> dict[str, np.ndarray]:
        """PyG keeps ``weight`` as ``(relations, in, out)`` and ``root`` as ``(in, out)``: transposed here."""
        out, weight = self.output_name, state["weight"]
        values = {f"{out}__weight{r}": weight[r].T for r in range(self.num_relations)}
        if self.root_weight:
            values[f"{out}__root"] = state["root"].T
        if self.bias:
            values[f"{out}__bias"] = state["bias"]
        return values


class ResGatedGraphConv(Module):
    r"""The residual gated graph convolution (Bresson and Laurent, 2017), PyG's ``ResGatedGraphConv``.

    .. math::
        \mathbf{x}_i' = \sigma\Big(\mathbf{W}_1 \mathbf{x}_i
        + \sum_{j \in \mathcal{N}(i)} \eta_{i,j} \odot \mathbf{v}_j + \mathbf{b}\Big), \quad
        \eta_{i,j} = \mathrm{act}(\mathbf{k}_i + \mathbf{q}_j)

    with :math:`\mathbf{k} = \mathbf{W}_k \mathbf{x} + \mathbf{b}_k`,
    :math:`\mathbf{q} = \mathbf{W}_q \mathbf{x} + \mathbf{b}_q`,
    :math:`\mathbf{v} = \mathbf{W}_v \mathbf{x} + \mathbf{b}_v` three :class:`Linear`
    layers on the features (``<output>__key``, ``__query``, ``__value``; PyG's
    ``lin_key``, ``lin_query``, ``lin_value``), ``act`` the sigmoid by default,
    :math:`\mathbf{W}_1` the weight ``$<output>__lin_skip`` (``root_weight``).

    PyNeuraLogic: ``ResGatedGraphConv(in_channels, out_channels, output_name,
    feature_name, edge_name, gating_activation, activation)``, without the biases of
    k, q and v.
    """

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, act: Activation = "sigmoid", root_weight: bool = True,
                 bias: bool = True, activation: Activation = "identity") -> None:
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.act, self.root_weight, self.bias, self.activation = act, root_weight, bias, activation
        self.projections = {role: Linear(in_channels, out_channels, f"{output_name}__{role}", feature_name)
                            for role in ("key", "query", "value")}

    def rules(self) -> list[Any]:
        out, edge = self.output_name, hidden(self.edge_name, J, I)
        key, query, value = (f"{out}__{role}" for role in self.projections)
        gate = f"{out}__gate"
        rules: list[Any] = [rule for lin in self.projections.values() for rule in lin.rules()]
        rules += [(atom(gate, I, J) <= (atom(key, I), atom(query, J), edge))
                  | functions(self.act, combination="sum", aggregation="sum"),
                  declare(gate, 2),
                  # <1.0> makes the output atom weighted, so its bias applies without the skip rule too
                  (atom(out, I)[fixed(1.0)] <= (atom(gate, I, J), atom(value, J), edge))
                  | functions(combination="elproduct", aggregation="sum")]
        if self.root_weight:
            rules.append((atom(out, I)[learnable(f"{out}__lin_skip", self.out_channels, self.in_channels)]
                          <= atom(self.feature_name, I)) | functions())
        return [*rules, *output(out, self.out_channels, self.bias, self.activation)]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {f"lin_{role}.{k}": v for role, lin in self.projections.items() for k, v in lin.pyg_names.items()}
        if self.root_weight:
            names["lin_skip.weight"] = f"{self.output_name}__lin_skip"
        if self.bias:
            names["bias"] = f"{self.output_name}__bias"
        return names
