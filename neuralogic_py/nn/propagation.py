r"""Layers that propagate over the degree-normalised adjacency: GCN, SGC, TAG, APPNP.

They share PyG's ``gcn_norm``:

.. math::
    \hat{\mathbf{A}} = \hat{\mathbf{D}}^{-1/2} (\mathbf{A} + \mathbf{I}) \hat{\mathbf{D}}^{-1/2},
    \qquad \hat{d}_i = |\{ j : (j, i) \in \mathcal{E} \cup \{(i, i)\} \}|

that is, :math:`(\hat{\mathbf{A}}\mathbf{x})_i = \sum_{j \in \mathcal{N}(i) \cup \{i\}}
\mathbf{x}_j / \sqrt{\hat{d}_i \hat{d}_j}` with :math:`\hat{d}` the in-degree counting the
self loop once (PyG's ``add_remaining_self_loops``: an edge ``(i, i)`` already in the data
is not added again). Without self loops a node without in-edges has degree 0 and sends
nothing, as PyG's masked ``deg ** -0.5``. Edge facts are hidden: all edge weights are 1.

:class:`Adjacency` writes the rules for a layer with output ``o``::

    o__edge(J, I) :- *edge(J, I), <1.0>.
    o__edge(I, I) :- *x(I), <1.0>.                                 % self loops
    o__deg(I) :- o__edge(J, I). [aggregation=count]                % in-degree
    o__deg/1 [activation=sqrt]
    o__norm(I) :- o__deg(I). [activation=inverse]                  % 1 / sqrt(d_i)
    W o(I) :- o__norm(I), o__norm(J), x(J), *o__edge(J, I). [combination=elproduct, aggregation=sum]
"""

from __future__ import annotations

from typing import Any

from ..language.dsl import WeightSpec
from .module import Activation, I, J, Module, atom, declare, fixed, functions, hidden, learnable, output, whole


class Adjacency:
    """The rules of the normalised adjacency of one layer (module docstring), named after its output."""

    def __init__(self, prefix: str, feature_name: str, edge_name: str, add_self_loops: bool, normalize: bool):
        self.feature_name, self.edge_name = feature_name, edge_name
        self.add_self_loops, self.normalize = add_self_loops, normalize
        self.edge, self.degree, self.norm = f"{prefix}__edge", f"{prefix}__deg", f"{prefix}__norm"

    def rules(self) -> list[Any]:
        one = fixed(1.0)  # an edge's value: the degree counts these scalars, not the features
        rules: list[Any] = [(atom(self.edge, J, I) <= (hidden(self.edge_name, J, I), one)) | functions()]
        if self.add_self_loops:
            rules.append((atom(self.edge, I, I) <= (hidden(self.feature_name, I), one)) | functions())
        rules.append(declare(self.edge, 2))
        if self.normalize:
            rules += [(atom(self.degree, I) <= atom(self.edge, J, I)) | functions(aggregation="count"),
                      declare(self.degree, 1, "sqrt"),
                      (atom(self.norm, I) <= atom(self.degree, I)) | functions("inverse"),
                      declare(self.norm, 1)]
        return rules

    def propagate(self, head: str, source: str, weight: WeightSpec | None = None) -> Any:
        """``[weight] head(I) :- sum over in-neighbours J (self included) of the normalised source(J)``."""
        target = atom(head, I) if weight is None else atom(head, I)[weight]
        if not self.normalize:
            return (target <= (atom(source, J), hidden(self.edge, J, I))) | functions(aggregation="sum")
        body = (atom(self.norm, I), atom(self.norm, J), atom(source, J), hidden(self.edge, J, I))
        return (target <= body) | functions(combination="elproduct", aggregation="sum")


class GCNConv(Module):
    r"""The graph convolution of Kipf and Welling (2017), PyG's ``GCNConv``.

    .. math::
        \mathbf{x}_i' = \sigma\Big(\mathbf{W} \sum_{j \in \mathcal{N}(i) \cup \{i\}}
        \frac{1}{\sqrt{\hat{d}_i \hat{d}_j}} \mathbf{x}_j + \mathbf{b}\Big)

    with :math:`\hat{d}` the in-degree counting the self loop (module docstring).
    ``normalize=False`` drops the factor, ``add_self_loops=False`` the self loop; then a
    node that receives no message is not derived (PyG gives it the bias alone).
    Weights ``$<output>__lin`` (PyG's ``lin.weight``) and ``$<output>__bias``.

    PyNeuraLogic: ``GCNConv(in_channels, out_channels, output_name, feature_name,
    edge_name, activation, aggregation, add_self_loops, normalize)``. It computes the
    same factor per edge from summed edge values (so edge facts' values act as weights
    there, and a self loop is a template fact added to every node), and has no bias.
    """

    K = 1  # propagation steps (SGConv's K)
    pyg_bias = "bias"

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, add_self_loops: bool = True, normalize: bool = True,
                 bias: bool = True, activation: Activation = "identity") -> None:
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.bias, self.activation = bias, activation
        self.adjacency = Adjacency(output_name, feature_name, edge_name, add_self_loops, normalize)

    def rules(self) -> list[Any]:
        out = self.output_name
        hops, names = _hops(self.adjacency, out, self.feature_name, self.K - 1)
        weight = learnable(f"{out}__lin", self.out_channels, self.in_channels)
        return [*self.adjacency.rules(), *hops, self.adjacency.propagate(out, names[-1], weight),
                *output(out, self.out_channels, self.bias, self.activation)]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {"lin.weight": f"{self.output_name}__lin"}
        if self.bias:
            names[self.pyg_bias] = f"{self.output_name}__bias"
        return names


def _hops(adjacency: Adjacency, prefix: str, source: str, k: int) -> tuple[list[Any], list[str]]:
    """Rules for ``prefix__hop1 .. prefix__hop<k>`` (``hop<n> = Â hop<n-1>``, ``hop0`` = source) and all k+1 names."""
    names, rules = [source], []
    for n in range(1, k + 1):
        names.append(f"{prefix}__hop{n}")
        rules += [adjacency.propagate(names[n], names[n - 1]), declare(names[n], 1)]
    return rules, names


class SGConv(GCNConv):
    r"""The simple graph convolution (Wu et al., 2019), PyG's ``SGConv``.

    .. math::
        \mathbf{X}' = \sigma\big(\mathbf{W} \hat{\mathbf{A}}^K \mathbf{X} + \mathbf{b}\big)

    :math:`\hat{\mathbf{A}}` as in :class:`GCNConv` (which is the case ``K=1``); hops
    ``<output>__hop1 .. <output>__hop<K-1>``, the last one into the output with the
    weight ``$<output>__lin`` (PyG's ``lin``) and bias ``$<output>__bias``.

    PyNeuraLogic: ``SGConv(in_channels, out_channels, output_name, feature_name,
    edge_name, k, activation, aggregation, add_self_loops)``: one K-hop chain rule with
    ``duplicate_grounding``, without a bias.
    """

    pyg_bias = "lin.bias"

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, K: int = 1, add_self_loops: bool = True, bias: bool = True,
                 activation: Activation = "identity") -> None:
        super().__init__(in_channels, out_channels, output_name, feature_name, edge_name,
                         add_self_loops=add_self_loops, bias=bias, activation=activation)
        self.K = whole(K, "SGConv's K", 1)


class TAGConv(Module):
    r"""The topology adaptive graph convolution (Du et al., 2017), PyG's ``TAGConv``.

    .. math::
        \mathbf{X}' = \sigma\Big(\sum_{k=0}^{K} \mathbf{W}_k \hat{\mathbf{A}}^k \mathbf{X}
        + \mathbf{b}\Big), \qquad
        \hat{\mathbf{A}} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}

    without self loops (as PyG's TAGConv); ``normalize=False`` uses :math:`\mathbf{A}`.
    Hops ``<output>__hop1 .. <output>__hop<K>``, one rule each; weights
    ``$<output>__lins<k>`` (PyG's ``lins.<k>``) and ``$<output>__bias``.

    PyNeuraLogic: ``TAGConv(in_channels, out_channels, output_name, feature_name,
    edge_name, k, activation, aggregation, normalize)``: one rule per hop length whose
    body is the whole path, so its size grows with K.
    """

    def __init__(self, in_channels: int, out_channels: int, output_name: str, feature_name: str,
                 edge_name: str = "edge", *, K: int = 3, bias: bool = True, normalize: bool = True,
                 activation: Activation = "identity") -> None:
        self.in_channels, self.out_channels, self.K = in_channels, out_channels, whole(K, "TAGConv's K", 0)
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.bias, self.activation = bias, activation
        self.adjacency = Adjacency(output_name, feature_name, edge_name, False, normalize)

    def rules(self) -> list[Any]:
        out = self.output_name
        hops, names = _hops(self.adjacency, out, self.feature_name, self.K)
        rules = [*self.adjacency.rules(), *hops]
        for k, name in enumerate(names):
            weight = learnable(f"{out}__lins{k}", self.out_channels, self.in_channels)
            rules.append((atom(out, I)[weight] <= atom(name, I)) | functions())
        return [*rules, *output(out, self.out_channels, self.bias, self.activation)]

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {f"lins.{k}.weight": f"{self.output_name}__lins{k}" for k in range(self.K + 1)}
        if self.bias:
            names["bias"] = f"{self.output_name}__bias"
        return names


class APPNP(Module):
    r"""Approximate personalised propagation of neural predictions (Klicpera et al., 2019), PyG's ``APPNP``.

    .. math::
        \mathbf{X}^{(0)} = \mathbf{X}, \qquad
        \mathbf{X}^{(k)} = (1 - \alpha) \hat{\mathbf{A}} \mathbf{X}^{(k-1)} + \alpha \mathbf{X},
        \qquad \mathbf{X}' = \mathbf{X}^{(K)}

    :math:`\hat{\mathbf{A}}` as in :class:`GCNConv`. No weights: the two factors are fixed
    (``<1-alpha>``, ``<alpha>``); steps ``<output>__hop1 .. <output>__hop<K-1>``.

    PyNeuraLogic: ``APPNPConv(output_name, feature_name, edge_name, k, alpha,
    activation, aggregation, normalize)``; ``APPNPConv`` is this class.
    """

    def __init__(self, K: int, alpha: float, output_name: str, feature_name: str, edge_name: str = "edge", *,
                 add_self_loops: bool = True, normalize: bool = True, activation: Activation = "identity") -> None:
        self.K, self.alpha = whole(K, "APPNP's K", 1), alpha
        self.output_name, self.feature_name, self.edge_name = output_name, feature_name, edge_name
        self.activation = activation
        self.adjacency = Adjacency(output_name, feature_name, edge_name, add_self_loops, normalize)

    def rules(self) -> list[Any]:
        rules = self.adjacency.rules()
        source = self.feature_name
        for k in range(1, self.K + 1):
            step = self.output_name if k == self.K else f"{self.output_name}__hop{k}"
            rules += [self.adjacency.propagate(step, source, fixed(1.0 - self.alpha)),
                      (atom(step, I)[fixed(self.alpha)] <= atom(self.feature_name, I)) | functions(),
                      declare(step, 1, self.activation if k == self.K else "identity")]
            source = step
        return rules


APPNPConv = APPNP
