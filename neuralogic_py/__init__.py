"""neuralogic_py: differentiable Datalog (Lifted Relational Neural Networks) in pure Python.

The pipeline is text -> IR (:mod:`.language`) -> ground program (:mod:`.logic`) -> neuron
DAG (:mod:`.neural`) -> batched autodiff (:mod:`.engine`) -> learning (:mod:`.learn`).
The names below are the everyday entry points.

Threads: the engine's matrix products are tall and thin (a small weight times many
neuron values), which multithreaded OpenBLAS runs 10-100x slower on a few shared
cores. Unless numpy is already loaded or you set ``OPENBLAS_NUM_THREADS`` yourself,
importing this package sets it to 1.
"""

import os as _os
import sys as _sys

if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
