"""Text-level preprocessing: comments and the ``import`` line.

Both keep every remaining character at its original line and column, so parse
errors point into the file the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParseError, SourceError, display_path, span_in

_COMMENT_START = re.compile(r"%|/\*")


def strip_comments(text: str, file: str | None = None) -> str:
    """Blank out ``% ...`` line comments and (nested) ``/* ... */`` block comments."""
    if "%" not in text and "/*" not in text:
        return text
    out = []
    pos = 0
    while True:
        m = _COMMENT_START.search(text, pos)
        if m is None:
            out.append(text[pos:])
            break
        out.append(text[pos:m.start()])
        if m.group() == "%":
            end = text.find("\n", m.start())
            end = len(text) if end < 0 else end
        else:
            end = _block_comment_end(text, m.start(), file)
        out.append(re.sub(r"[^\n]", " ", text[m.start():end]))
        pos = end
    return "".join(out)


def _block_comment_end(text: str, start: int, file: str | None) -> int:
    depth = 0
    pos = start
    tokens = re.compile(r"/\*|\*/")
    while True:
        m = tokens.search(text, pos)
        if m is None:
            raise ParseError("unterminated comment: '/*' has no matching '*/'",
                             span_in(text, start, file, start + 2))
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
        if depth == 0:
            return pos


_IMPORT = re.compile(r"^import[ \t]+(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class SourceText:
    """One file's text with comments and import lines blanked, and its imports in order."""

    path: str | None
    text: str
    imports: tuple[tuple[int, Path], ...]  # (line of the import, resolved file)


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"file not found: {display_path(p)}", hint=bundled_hint(p)) from None
    except IsADirectoryError:
        raise SourceError(f"expected a file but got a directory: {display_path(p)}") from None
    except UnicodeDecodeError as e:
        raise SourceError(f"{display_path(p)} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def bundled_hint(path: str | Path) -> str | None:
    """For a path that does not exist: where the bundled template or dataset it names is, or the closest name."""
    from ..datasets import find, nearest

    found = find(path)
    if found is not None:
        return f"{found} is at {found.path} (see neuralogic_py.datasets)"
    near = nearest(path)
    return None if near is None else f"did you mean the bundled {near}? (nlp datasets lists them)"


def split_imports(text: str, path: str | None, base: Path) -> SourceText:
    """Blank comments and ``import`` lines; resolve each imported path against ``base``.

    ``import ./a.txt, b.txt`` imports several files; a bare or ``./`` path is relative
    to the importing file, ``/x`` is absolute.
    """
    text = strip_comments(text, path)
    imports = []
    for m in _IMPORT.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for name in m.group(1).replace(" ", "").replace("\t", "").split(","):
            if not name:
                continue
            target = Path(name).expanduser()
            resolved = target if target.is_absolute() else base / target
            if not resolved.exists() and resolved.with_name(resolved.name + ".txt").exists():
                resolved = resolved.with_name(resolved.name + ".txt")  # as the reference does
            if not resolved.is_file():
                raise SourceError(f"imported file not found: {name}",
                                  span_in(text, m.start(), path, m.end()))
            imports.append((line, resolved))
    blanked = _IMPORT.sub(lambda m: " " * len(m.group()), text)
    return SourceText(path, blanked, tuple(imports))
