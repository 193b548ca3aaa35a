"""Neural: the ground program as a neuron DAG, its parameters, and its compiled execution.

``neuralize(template, grounding)`` builds the :class:`~.network.Network` (levels and shapes
checked); ``compress(network, lifting)`` lifts it (:mod:`.compression`); ``compile_network(network)``
makes it runnable: ``.forward(params, samples)``,
``.value_and_grad(params, loss, targets, samples)``. ``predict_outputs`` does it all for a
template, its data and a weights file.
"""

from .compiled import CompiledNetwork, compile_network
from .compression import CompressionReport, LiftingSettings, compress
from .network import ATOM, FACT, Network, neuralize
from .parameters import Parameter, ParameterStore, template_weights
from .plan import NumericalError, Plan
from .predict import build, predict_outputs
from .settings import PROFILES, PYNEURALOGIC, REFERENCE, NeuralSettings

__all__ = ["ATOM", "FACT", "PROFILES", "PYNEURALOGIC", "REFERENCE", "CompiledNetwork", "CompressionReport",
           "LiftingSettings", "Network", "NeuralSettings", "NumericalError", "Parameter", "ParameterStore", "Plan",
           "build", "compile_network", "compress", "neuralize", "predict_outputs", "template_weights"]
