"""Pictures: templates and networks as drawings, training curves, and one HTML report of a run.

* :func:`draw_template`: predicates and rules (:mod:`.template`);
* :func:`draw_ground`, :func:`draw_lifted`: one example's network, ground or after pruning
  and lifting, with how many neurons each lifted neuron stands for (:mod:`.network`);
* :class:`Drawing`: DOT text (no dependency), SVG and PNG through Graphviz's ``dot`` program,
  ``_repr_svg_`` for Jupyter (:mod:`.dot`);
* :mod:`.plots`: loss, metric, ROC and PR curves of a run folder (matplotlib, the ``plot`` extra);
* :mod:`.report`: ``report.html`` of a run folder, self-contained.
"""

from .dot import Drawing, GraphvizMissing, graphviz_installed
from .network import draw_ground, draw_lifted
from .template import draw_template

__all__ = ["Drawing", "GraphvizMissing", "draw_ground", "draw_lifted", "draw_template", "graphviz_installed"]
