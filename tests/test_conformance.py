"""The shared conformance cases: outputs and gradients of the reference engine's semantics.

Each case (``../shared/conformance/<case>``) is a template, data, weights by name and the
reference engine's outputs; ours must agree within 1e-6 (absolute or relative: the
reference reads data scalars as 32-bit floats). Gradients of every case's outputs
with respect to every learnable weight must agree with central finite differences
(relative error below 1e-6).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED, require_shared

from neuralogic_py.engine.gradcheck import gradient_errors
from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import load_template
from neuralogic_py.neural import build, predict_outputs

CASES = sorted(p.name for p in (SHARED / "conformance").glob("c*") if p.is_dir()) or ["c01_scalar_avg"]


def _case(name: str):
    root = require_shared("conformance", name)
    return (load_template(root / "template.txt"), load_examples(root / "examples.txt"),
            load_queries(root / "queries.txt"), root)


def test_all_twelve_cases_are_present():
    require_shared("conformance")
    assert len(CASES) == 12


@pytest.mark.parametrize("name", CASES)
def test_outputs_reproduce_the_reference(name):
    template, examples, queries, root = _case(name)
    expected = json.loads((root / "expected.json").read_text())["outputs"]
    outputs = predict_outputs(template, examples, queries, root / "weights.json")
    assert len(outputs) == len(expected)
    got, want = np.asarray(outputs, dtype=float), np.asarray(expected, dtype=float)
    close = np.abs(got - want) <= 1e-6 * np.maximum(1.0, np.abs(want))
    assert close.all(), f"query {int(np.flatnonzero(~close)[0]) + 1}: {got[~close][0]} != {want[~close][0]}"


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences(name):
    template, examples, queries, root = _case(name)
    compiled = build(template, examples, queries)
    compiled.store.load_json(root / "weights.json")
    n = len(compiled.samples)
    plan = compiled.plan(None if n <= 60 else np.arange(0, n, n // 40))  # a spread of samples for big cases
    values = compiled.values()
    names = [p for p in plan.parameter_names if compiled.store.parameters[p].learnable]
    assert names, "every case has learnable weights"

    def outputs(*arrays):
        return plan.outputs({**values, **dict(zip(names, arrays))})

    errors = gradient_errors(outputs, *[values[p] for p in names], argnums=range(len(names)))
    worst = int(np.argmax(errors))
    assert errors[worst] < 1e-6, f"{names[worst]}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("name", ["c08_recursion", "c11_mutagenesis_gnn", "c12_nations_triples"])
def test_batches_give_the_outputs_of_the_whole(name):
    """A plan for some samples computes only what they need, and exactly their outputs in the full plan.

    c08 recurses (reads across levels), c11 has one molecule per sample, c12 is one knowledge
    base whose samples share context neurons.
    """
    template, examples, queries, root = _case(name)
    compiled = build(template, examples, queries)
    compiled.store.load_json(root / "weights.json")
    whole = compiled.forward()
    rng = np.random.default_rng(0)
    for size in (1, 2, 32):
        batch = rng.permutation(len(compiled.samples))[:size]
        if size < len(compiled.samples):
            assert compiled.plan(batch).rows < compiled.plan().rows
        np.testing.assert_allclose(compiled.forward(samples=batch), whole[batch], rtol=0, atol=1e-15)


def test_batch_gradients_sum_to_the_full_gradient():
    """Per-sample gradients of a summed loss add up to the gradient over all samples (c09: shared neurons)."""
    from neuralogic_py.engine import ops

    template, examples, queries, root = _case("c09_knowledge_base")
    compiled = build(template, examples, queries)
    compiled.store.load_json(root / "weights.json")
    params = compiled.store.learnable()
    targets = compiled.targets()
    total = lambda out, t: ops.sum_all(ops.mse(out, t))  # noqa: E731
    _, full = compiled.value_and_grad(params, total, targets)
    summed = {name: np.zeros_like(g) for name, g in full.items()}
    for s in range(len(compiled.samples)):
        _, grads = compiled.value_and_grad(params, total, targets[[s]], np.array([s]))
        for name, g in grads.items():
            summed[name] += g
    for name in full:
        np.testing.assert_allclose(summed[name], full[name], rtol=1e-12, atol=1e-14)
