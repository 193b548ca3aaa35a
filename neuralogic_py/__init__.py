"""neuralogic_py: differentiable Datalog (Lifted Relational Neural Networks) in pure Python."""

from .errors import NeuralogicError, NeuralogicWarning, ParseError, SourceError, ValidationError

__version__ = "0.1.0"

__all__ = ["NeuralogicError", "NeuralogicWarning", "ParseError", "SourceError", "ValidationError", "__version__"]
