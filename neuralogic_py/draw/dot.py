"""A drawing as a graph: DOT text with no dependency; SVG and PNG through Graphviz's ``dot`` program.

:class:`Drawing` holds nodes (each of a *kind*, which decides its shape and colour, see
:data:`KINDS`), edges and a caption (title and notes, such as what a depth limit cut).
:meth:`Drawing.dot` writes it in the DOT language; :meth:`Drawing.svg` and
:meth:`Drawing.png` run ``dot`` (the Debian package ``graphviz``), and say so in one line when
it is not installed. In Jupyter a drawing shows itself as SVG (``_repr_svg_``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NeuralogicError

FORMATS = ("dot", "svg", "png")

KINDS: dict[str, dict[str, str]] = {
    # template
    "predicate": {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe2f3"},
    "input": {"shape": "box", "style": "filled", "fillcolor": "#e6e6e6"},
    "template rule": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff2cc"},
    # networks
    "fact": {"shape": "box", "style": "filled", "fillcolor": "#e6e6e6"},
    "atom": {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe2f3"},
    "rule": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff2cc"},
    "aggregation": {"shape": "hexagon", "style": "filled", "fillcolor": "#d9ead3"},
    "negation": {"shape": "circle", "style": "filled", "fillcolor": "#f4cccc"},
    "cut": {"shape": "plaintext", "style": "", "fillcolor": "", "fontcolor": "#666666"},
}
"""Node kinds and their Graphviz attributes: fact grey box, atom blue ellipse, rule yellow rounded box,
aggregation green hexagon, negation red circle (templates: predicate blue, input predicate grey, rule yellow)."""


class GraphvizMissing(NeuralogicError):
    """SVG or PNG was asked for and Graphviz's ``dot`` program is not installed."""


@dataclass
class Node:
    """One node: its kind (:data:`KINDS`), label, tooltip, extra attributes (``style=dashed``, ...) and, in a
    lifted network, how many neurons it stands for (shown beside it as ``×N`` when more than one)."""

    kind: str
    label: str
    tooltip: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    count: int | None = None


@dataclass
class Edge:
    """An edge from ``tail`` (an input) to ``head`` (what reads it), with a label and extra attributes."""

    tail: str
    head: str
    label: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Drawing:
    """A graph to draw: ``nodes`` by id, ``edges``, a ``title`` and ``notes`` shown under it."""

    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rankdir: str = "BT"  # inputs at the bottom, outputs at the top

    def dot(self) -> str:
        """The drawing in the DOT language."""
        caption = "\\n".join(_escape(line) for line in [self.title, *self.notes])
        lines = ["digraph neuralogic {",
                 f'  graph [rankdir={self.rankdir}, label="{caption}", labelloc=t, fontname="Helvetica", '
                 'fontsize=14, nodesep=0.25, ranksep=0.35];',
                 '  node [fontname="Helvetica", fontsize=11, margin="0.06,0.03", height=0.3];',
                 '  edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.6];']
        for name, node in self.nodes.items():
            attributes = {**KINDS[node.kind], "label": node.label, **node.attributes}
            if node.count is not None and node.count > 1:
                attributes["xlabel"] = f"×{node.count}"
            if node.tooltip:
                attributes["tooltip"] = node.tooltip
            lines.append(f"  {_quote(name)} [{_attributes(attributes)}];")
        for edge in self.edges:
            attributes = {**({"label": edge.label} if edge.label else {}), **edge.attributes}
            lines.append(f"  {_quote(edge.tail)} -> {_quote(edge.head)}"
                         + (f" [{_attributes(attributes)}]" if attributes else "") + ";")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def svg(self) -> str:
        """The drawing as SVG text, laid out by ``dot`` (:class:`GraphvizMissing` without it)."""
        return render(self.dot(), "svg").decode("utf-8")

    def png(self) -> bytes:
        """The drawing as a PNG image, laid out by ``dot`` (:class:`GraphvizMissing` without it)."""
        return render(self.dot(), "png")

    def as_format(self, format: str) -> str | bytes:
        """The drawing as ``dot`` text, ``svg`` text or ``png`` bytes."""
        return {"dot": self.dot, "svg": self.svg, "png": self.png}[format]()

    def _repr_svg_(self) -> str | None:
        """Jupyter's rich display: the SVG, or None (plain text) when Graphviz is not installed."""
        return self.svg() if graphviz_installed() else None


def graphviz_installed() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def require_graphviz(format: str) -> str:
    """The path of Graphviz's ``dot`` program, or :class:`GraphvizMissing` naming the package that provides it."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(f"drawing {format.upper()} needs Graphviz's dot program: install the Debian package "
                              "graphviz (apt-get install graphviz), or write DOT text (--format dot)")
    return program


def render(dot: str, format: str) -> bytes:
    """DOT text laid out by Graphviz's ``dot`` program as ``svg`` or ``png``."""
    program = require_graphviz(format)
    done = subprocess.run([program, f"-T{format}"], input=dot.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NeuralogicError(f"Graphviz's dot failed: {reason[0] if reason else f'exit status {done.returncode}'}")
    return done.stdout


def format_of(path: str | Path, format: str | None) -> str:
    """The format to write ``path`` in: ``format`` when given, else its suffix (.dot or .gv, .svg, .png)."""
    if format is not None:
        return format
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
    if suffix not in FORMATS:
        raise NeuralogicError(f"cannot tell the format of {path} from its suffix",
                              hint="name it .dot, .gv, .svg or .png, or give --format")
    return suffix


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _quote(text: str) -> str:
    return f'"{_escape(text)}"'


def _attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f"{key}={_quote(value)}" for key, value in attributes.items() if value != "")
