"""One exception family for everything a user can get wrong, each with a position.

Every error the user can cause derives from :class:`NeuralogicError`. When the error
has a place in a source file, ``span`` names it and ``str(error)`` renders the
familiar compiler layout::

    template.rules:3:14: error: missing '.' at the end of the rule
        h(X) :- a(X) b(X).
                     ^
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """A place in a source text: 1-based line and column, end exclusive.

    ``text`` is the source line(s) the span lies on, kept so an error can show
    the line without re-reading the file.
    """

    file: str | None
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    text: str | None = field(default=None, repr=False)

    def location(self) -> str:
        return f"{self.file or '<string>'}:{self.line}:{self.column}"


def span_in(text: str, offset: int, file: str | None, end: int | None = None) -> Span:
    """The span of ``text[offset:end]``, with the line it starts on."""
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    if line_end < 0:
        line_end = len(text)
    source_line = text[line_start:line_end]
    column = offset - line_start + 1
    if end is None or end <= offset:
        return Span(file, line, column, line, column + 1, source_line)
    end_line = line + text.count("\n", offset, end)
    end_column = end - (text.rfind("\n", 0, end) + 1) + 1
    return Span(file, line, column, end_line, end_column, source_line)


CONTEXT = 100  # characters of a long source line an error shows around its place


def render(severity: str, message: str, span: Span | None, hint: str | None = None) -> str:
    """Compiler-style text for a diagnostic: location, message, source line, caret."""
    head = f"{span.location()}: {severity}: {message}" if span else f"{severity}: {message}"
    lines = [head]
    if span is not None and span.text is not None:
        source = span.text.expandtabs(1).rstrip()
        column = span.column
        width = 1
        if span.end_line == span.line and span.end_column and span.end_column > span.column:
            width = span.end_column - span.column
        shown = len(source)  # where the caret may reach
        if len(source) > CONTEXT:  # a long line: the part around the place, marked where it is cut
            start = max(0, min(column - 1 - CONTEXT // 4, len(source) - CONTEXT))
            head = "..." if start else ""
            column = column - start + len(head)
            shown = len(head) + CONTEXT
            source = head + source[start:start + CONTEXT] + ("..." if start + CONTEXT < len(source) else "")
        width = max(1, min(width, shown - column + 1))
        lines.append(f"    {source}")
        lines.append("    " + " " * (column - 1) + "^" * width)
    if hint:
        lines.append(f"    hint: {hint}")
    return "\n".join(lines)


class _Positioned:
    """A message with an optional place and hint, rendered compiler-style."""

    severity = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None,
                 cli_hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.cli_hint = cli_hint  # the hint as the `nlp` command line words it (options, not Python names)

    def __str__(self) -> str:
        return render(self.severity, self.message, self.span, self.hint)


class NeuralogicError(_Positioned, Exception):
    """Base of every error caused by the user's templates, data or settings."""


class ParseError(NeuralogicError):
    """The text is not in the NeuraLogic language."""


class ValidationError(NeuralogicError):
    """The text parses but does not make sense (unsafe rule, wrong shape, ...)."""


class SourceError(NeuralogicError):
    """A file or directory cannot be found or read."""


class GroundingError(NeuralogicError):
    """Grounding cannot give what was asked (a query that no rule or fact derives, ...)."""


class NeuralogicWarning(_Positioned, UserWarning):
    """A questionable input that still has a well-defined meaning."""

    severity = "warning"


def warn(message: str, span: Span | None = None, hint: str | None = None) -> None:
    """Issue a positioned :class:`NeuralogicWarning` (shown once per place)."""
    warnings.warn(NeuralogicWarning(message, span, hint), stacklevel=3)


def display_path(path: str | Path) -> str:
    """A path as the user would like to read it: relative to the cwd when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
