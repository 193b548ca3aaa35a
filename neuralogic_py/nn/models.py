"""Whole graph classifiers from the zoo: GCN, GIN and GraphSAGE, as PyG's examples stack them.

Each is ``num_layers`` convolutions of width ``hidden_channels`` with ReLU, a readout over
the nodes, and a linear head into the 0-ary ``predict`` with a sigmoid (one output: the
probability of class 1). Data in the encoding of :mod:`neuralogic_py.graphs`: node
features ``feature(n)``, edges ``edge(s, d)``. ``templates/pyg_*.rules`` are these for
TU MUTAG (7 node features, width 32, 3 layers), written by :func:`ready_template`;
``python -m neuralogic_py.nn.models gcn 37`` prints the GCN for 37 node features.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..language.dsl import TemplateBuilder
from .conv import GINConv, SAGEConv
from .linear import MLP, Linear
from .module import Module
from .pooling import MeanPooling, Pooling, SumPooling
from .propagation import GCNConv

Layer = Callable[[int, int, str, str], Module]  # (in, out, output, input) -> a convolution with ReLU


def classifier(layer: Layer, readout: type[Pooling], in_channels: int, hidden_channels: int, num_layers: int, *,
               feature_name: str = "feature") -> TemplateBuilder:
    """Convolutions ``h1 .. h<num_layers>``, the readout ``readout`` and ``predict`` (sigmoid)."""
    template = TemplateBuilder()
    source, width = feature_name, in_channels
    for k in range(1, num_layers + 1):
        template += layer(width, hidden_channels, f"h{k}", source)
        source, width = f"h{k}", hidden_channels
    template += readout("readout", source)
    template += Linear(hidden_channels, 1, "predict", "readout", activation="sigmoid", arity=0)
    return template


def gcn(in_channels: int, hidden_channels: int = 32, num_layers: int = 3, *,
        feature_name: str = "feature") -> TemplateBuilder:
    r"""``GCNConv`` layers with ReLU, mean pooling, a linear head: :math:`\sigma(\mathbf{w}^\top
    \mathrm{mean}_i \mathbf{h}_i^{(L)} + b)`."""
    return classifier(lambda n_in, n_out, out, inp: GCNConv(n_in, n_out, out, inp, activation="relu"),
                      MeanPooling, in_channels, hidden_channels, num_layers, feature_name=feature_name)


def graph_sage(in_channels: int, hidden_channels: int = 32, num_layers: int = 3, *,
               feature_name: str = "feature") -> TemplateBuilder:
    """``SAGEConv`` (mean) layers with ReLU, mean pooling, a linear head."""
    return classifier(lambda n_in, n_out, out, inp: SAGEConv(n_in, n_out, out, inp, activation="relu"),
                      MeanPooling, in_channels, hidden_channels, num_layers, feature_name=feature_name)


def gin(in_channels: int, hidden_channels: int = 32, num_layers: int = 3, *,
        feature_name: str = "feature") -> TemplateBuilder:
    """``GINConv`` layers, each on a two-layer MLP ending in ReLU (``plain_last=False``), sum pooling,
    a linear head."""
    return classifier(lambda n_in, n_out, out, inp: GINConv(MLP([n_in, n_out, n_out], out, f"{out}__in",
                                                                plain_last=False), inp),
                      SumPooling, in_channels, hidden_channels, num_layers, feature_name=feature_name)


MODELS = {"gcn": gcn, "gin": gin, "sage": graph_sage}
LAYER_NAMES = {"gcn": "GCNConv", "gin": "GINConv", "sage": "SAGEConv"}


def ready_template(name: str, in_channels: int = 7, hidden_channels: int = 32, num_layers: int = 3) -> str:
    """The text of ``templates/pyg_<name>.rules``: a header, then the model's rules."""
    header = [
        f"% {LAYER_NAMES[name]} x {num_layers} (width {hidden_channels}, ReLU), "
        f"{'sum' if name == 'gin' else 'mean'} pooling, a linear head with a sigmoid:",
        f"% neuralogic_py.nn.models.{MODELS[name].__name__}({in_channels}, {hidden_channels}, {num_layers}).",
        f"% Data as neuralogic_py.graphs writes it ({in_channels} node features: TU MUTAG): "
        "feature(n) vectors, edge(s, d), `1.0 predict.`",
        "% Generated (tests/test_nn.py checks it); other sizes: "
        f"python -m neuralogic_py.nn.models {name} IN_CHANNELS",
        "",
    ]
    return "\n".join(header) + str(MODELS[name](in_channels, hidden_channels, num_layers)) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m neuralogic_py.nn.models",
                                     description="print a ready graph classifier template")
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("in_channels", type=int)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args(argv)
    print(ready_template(args.model, args.in_channels, args.hidden, args.layers), end="")


if __name__ == "__main__":
    main()
