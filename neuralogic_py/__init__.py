"""neuralogic_py: differentiable Datalog (Lifted Relational Neural Networks) in pure Python.

The pipeline is text -> IR (:mod:`.language`) -> ground program (:mod:`.logic`) -> neuron
DAG (:mod:`.neural`) -> batched autodiff (:mod:`.engine`) -> learning (:mod:`.learn`).
The names below are the everyday entry points.
"""

from .errors import GroundingError, NeuralogicError, NeuralogicWarning, ParseError, SourceError, ValidationError
from .language.data import load_examples, load_queries, parse_examples, parse_queries
from .language.parser import load_template, parse_template
from .logic import ground_samples, query

__version__ = "0.1.0"

__all__ = [
    "GroundingError", "NeuralogicError", "NeuralogicWarning", "ParseError", "SourceError", "ValidationError",
    "ground_samples", "load_examples", "load_queries", "load_template", "parse_examples", "parse_queries",
    "parse_template", "query", "__version__",
]
