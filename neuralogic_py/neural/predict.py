"""From a template and its data to outputs: ground, neuralize, compile, run.

``build(template, examples, query_lines)`` returns the :class:`~.plan.CompiledNetwork`
(its ``store`` holds the parameters, ``network.samples`` the samples in query order);
``predict_outputs`` also loads weights by name and returns each query's output in
query order, in the weights.json value conventions (a number for a scalar, a flat
list for a column vector, ``[[...]]`` for a row, rows for a matrix) - the shape of
the conformance cases' ``expected.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..language import ir
from ..logic.samples import ground_samples
from ..progress import done, sized, stage
from .compiled import CompiledNetwork, compile_network
from .compression import LiftingSettings, compress
from .network import neuralize
from .parameters import Initializer, ParameterStore, block_to_json, template_weights
from .plan import NumericalError
from .settings import REFERENCE, NeuralSettings


def build(template: ir.Template, examples: Sequence[ir.Example] = (), query_lines: Sequence[ir.QueryLine] = (), *,
          settings: NeuralSettings = REFERENCE, store: ParameterStore | None = None, init: Initializer | None = None,
          seed: int = 0, allow_underivable: bool = False, examples_file: str | None = None,
          queries_file: str | None = None, lifting: str | LiftingSettings = "structural") -> CompiledNetwork:
    """Ground ``template`` on the data, lift and compile its network (parameters drawn with ``init``/``seed``).

    ``lifting`` is a method name (``structural``, the exact default; ``value``; ``none``)
    or :class:`~.compression.LiftingSettings`; the compiled network's ``compression``
    reports what it did.
    """
    stage("grounding", f"{sized(len(examples), 'example')}, {sized(len(query_lines), 'query line')}")
    grounding = ground_samples(template, examples, query_lines, allow_underivable=allow_underivable,
                               examples_file=examples_file, queries_file=queries_file)
    done(f"{sized(len(grounding.program.atoms), 'ground atom')}, {sized(len(grounding.samples), 'sample')}")
    if store is None:
        store = ParameterStore(template_weights(template).parameters.values(), init, seed)
    stage("neuralizing", sized(len(grounding.samples), "sample"))
    network = neuralize(template, grounding, store, settings)
    done(f"{sized(len(network.kind), 'atom neuron')}, {sized(len(network.layers), 'rule layer')}")
    method = LiftingSettings.of(lifting).method
    stage("lifting" if method != "none" else "pruning", f"({method})" if method != "none" else "")
    network, report = compress(network, lifting)
    done(f"{report.ground.neurons:,} -> {sized(report.final.neurons, 'neuron')}, {sized(report.final.edges, 'edge')}")
    compiled = compile_network(network)
    compiled.compression = report
    return compiled


def predict_outputs(template: ir.Template, examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine],
                    weights: Mapping[str, Any] | str | Path | None = None, *,
                    settings: NeuralSettings = REFERENCE, lifting: str | LiftingSettings = "structural") -> list[Any]:
    """Each query's output, in query order, with the weights set by name (a mapping or a weights.json path)."""
    compiled = build(template, examples, query_lines, settings=settings, lifting=lifting)
    if isinstance(weights, (str, Path)):
        compiled.store.load_json(weights)
    elif weights is not None:
        compiled.store.load(weights)
    return [block_to_json(block) for block in finite_outputs(compiled, compiled.forward())]


def finite_outputs(compiled: CompiledNetwork, outputs: np.ndarray, params: Mapping[str, Any] | None = None,
                   samples: np.ndarray | None = None) -> np.ndarray:
    """``outputs`` (of ``samples``, default all) when every one is finite, else a :class:`NumericalError`.

    The error names the first sample whose output is NaN or infinite and, as the
    network explains it, the first neuron on its way that stops being finite.
    """
    bad = np.flatnonzero(~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1))
    if not len(bad):
        return outputs
    index = int(bad[0]) if samples is None else int(np.asarray(samples)[bad[0]])
    sample = compiled.samples[index]
    where = compiled.explain_nonfinite(params, np.array([index]))
    others = f" (and {len(bad) - 1} other output{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
    raise NumericalError(f"the output of {sample.ground} is not finite{others}: {where}", sample.request.query.span,
                         "check activations such as log, sqrt and inverse on inputs outside their domain, "
                         "and the weights")
