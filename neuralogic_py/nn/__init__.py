"""The module zoo: layers named and parameterised as PyTorch Geometric's, written as rules.

``template += GCNConv(16, 32, "h1", "x")`` adds a layer's rules to a
:class:`~neuralogic_py.language.dsl.TemplateBuilder`; ``str(module)`` prints them. Each
class's docstring gives the formula it computes. User guide: docs/modules.md.
"""

from .attention import GATv2Conv
from .conv import GINConv, GINEConv, GraphConv, ResGatedGraphConv, RGCNConv, SAGEConv
from .linear import MLP, Linear
from .module import Module
from .pooling import AvgPooling, MaxPooling, MeanPooling, Pooling, SumPooling
from .propagation import APPNP, APPNPConv, GCNConv, SGConv, TAGConv
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "Module", "Linear", "MLP", "GCNConv", "SAGEConv", "GINConv", "GINEConv", "GraphConv", "RGCNConv",
    "ResGatedGraphConv", "GATv2Conv", "SGConv", "TAGConv", "APPNP", "APPNPConv", "Pooling", "SumPooling", "MeanPooling",
    "AvgPooling", "MaxPooling", "RNN", "GRU", "LSTM",
]
