"""neuralogic_py: differentiable Datalog (Lifted Relational Neural Networks) in pure Python.

The pipeline is text -> IR (:mod:`.language`) -> ground program (:mod:`.logic`) -> neuron
DAG (:mod:`.neural`) -> batched autodiff (:mod:`.engine`) -> learning (:mod:`.learn`).
The names below are the everyday entry points, imported on first use:
``from neuralogic_py import Model, Dataset, R, V, C`` (``nlp --help`` imports none of them).

Threads: the engine's matrix products are tall and thin (a small weight times many
neuron values), which multithreaded OpenBLAS runs 10-100x slower on a few shared
cores. Unless numpy is already loaded or you set ``OPENBLAS_NUM_THREADS`` yourself,
importing this package sets it to 1.
"""

import os as _os
import sys as _sys

if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

_EXPORTS = {
    "GroundingError": "errors", "NeuralogicError": "errors", "NeuralogicWarning": "errors", "ParseError": "errors",
    "SourceError": "errors", "ValidationError": "errors",
    "load_examples": "language.data", "load_queries": "language.data", "parse_examples": "language.data",
    "parse_queries": "language.data", "load_template": "language.parser", "parse_template": "language.parser",
    "ground_samples": "logic", "query": "logic",
    "Model": "learn.model", "Dataset": "learn.dataset",
    **{name: "language.dsl" for name in ("R", "V", "C", "W", "T", "A", "Cb", "Metadata", "TemplateBuilder",
                                         "Example", "Query", "QueryLine")},
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> object:
    """The everyday names, imported on first use (so ``nlp --help`` does not pay for them)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neuralogic_py' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
