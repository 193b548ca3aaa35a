"""The fused engine against the op table: outputs, errors, gradients and whole trainings.

The numpy engine (plans of taped ops, ``engine/ops.py``) is the specification; the fused
engine (``neural/program.py`` + ``engine/fused.py``) must agree with it within 1e-12 on
every conformance case, on random programs, for every loss and optimizer setting, and
fall back to it, saying why, on what it does not cover.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED, require_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lifting import programs, small

from neuralogic_py.engine import jit
from neuralogic_py.errors import NeuralogicError
from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import load_template
from neuralogic_py.learn import losses
from neuralogic_py.learn.model import Model
from neuralogic_py.learn.optimizers import SGD, Adam
from neuralogic_py.neural import build
from neuralogic_py.neural.program import FusedTrainer, Program, unsupported

pytestmark = pytest.mark.skipif(not jit.available(), reason="numba is not installed")

CASES = sorted(p.name for p in (SHARED / "conformance").glob("c*") if p.is_dir()) or ["c01_scalar_avg"]
TOLERANCE = 1e-12
LOSSES = {"mse": losses.MSE(), "bce_logits": losses.BinaryCrossEntropyLogits(),
          "softmax_crossentropy": losses.SoftmaxCrossEntropyLogits(), "crossentropy": losses.CrossEntropy()}


def _case(name: str):
    root = require_shared("conformance", name)
    compiled = build(load_template(root / "template.txt"), load_examples(root / "examples.txt"),
                     load_queries(root / "queries.txt"))
    compiled.store.load_json(root / "weights.json")
    return compiled


def assert_engines_agree(compiled, samples, loss_name="mse", weights=None, seed=0):
    """Outputs, batch error and every gradient of ``samples``: fused == numpy within TOLERANCE."""
    assert unsupported(compiled.schedule) is None
    program = Program(compiled.schedule, compiled.store)
    values = compiled.values()
    want_out = compiled.forward(None, samples)
    np.testing.assert_allclose(program.forward(values, samples), want_out, rtol=0, atol=TOLERANCE)
    rng = np.random.default_rng(seed)
    targets = rng.random(want_out.shape)
    if loss_name == "crossentropy" and want_out.shape[1:] == (1, 1):
        targets = (targets > 0.5).astype(float)
    want_error, want = compiled.value_and_grad(compiled.store.learnable(), LOSSES[loss_name], targets, samples,
                                               weights)
    error, got = program.value_and_grad(values, loss_name, targets, samples, weights)
    assert error == pytest.approx(want_error, abs=TOLERANCE, rel=TOLERANCE)
    got = {n: g for n, g in got.items() if not compiled.store.parameters[n].fixed}
    assert set(got) == set(want)  # exactly the parameters the batch touches
    for name, g in want.items():
        np.testing.assert_allclose(got[name], g, rtol=0, atol=TOLERANCE * max(1.0, np.abs(g).max()), err_msg=name)


@pytest.mark.parametrize("name", CASES)
def test_every_conformance_case_gives_the_outputs_and_gradients_of_the_op_table(name):
    compiled = _case(name)
    n = len(compiled.samples)
    assert_engines_agree(compiled, np.arange(n) if n <= 60 else np.arange(0, n, n // 40))
    assert_engines_agree(compiled, np.array([n - 1]))  # one sample: the rows it needs, nothing else


@pytest.mark.parametrize("loss_name", list(LOSSES))
def test_every_loss_and_importance_weights(loss_name):
    compiled = _case("c11_mutagenesis_gnn")
    samples = np.arange(0, 40, 3)
    importance = np.linspace(0.5, 2.0, len(samples))
    assert_engines_agree(compiled, samples, loss_name)
    assert_engines_agree(compiled, samples, loss_name, weights=importance)


def test_vector_outputs_with_the_softmax_loss():
    compiled = _case("c02_vectors")
    assert_engines_agree(compiled, np.arange(len(compiled.samples)), "softmax_crossentropy")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 3), st.sampled_from(["none", "structural"]))
def test_random_programs_agree_or_fall_back_with_a_reason(program, seed, lifting):
    template, examples, queries = program
    try:
        compiled = small(template, examples, queries, lifting, seed=seed)
        compiled.forward()
    except NeuralogicError:  # shapes that do not fit, outputs of several shapes: not this test's subject
        return
    if not compiled.samples:
        return
    reason = unsupported(compiled.schedule)
    if reason is not None:
        expected = ("crosssum", "leakyrelu(", "softmax(agg_terms", "several functions on the inputs")
        assert any(word in reason for word in expected), reason
        return
    assert_engines_agree(compiled, np.arange(len(compiled.samples)), seed=seed)


PRODUCTS = [
    # GCN's degree normalisation: two scalars, then a vector (the zoo's GCNConv)
    ("h(X) :- n(X), n(Y), v(Y), e(Y, X). [combination=product, aggregation=sum]\nn(X) :- {1} f0(X).\n"
     "out :- {1,2} h(X). [aggregation=avg]"),
    # a vector first, scalars after, an offset and a soft negation
    ("h(X) :- {2,2} v(X), ~f0(Y), f1(X), e(X, Y), {1}. [combination=product, aggregation=avg]\n"
     "out :- {1,2} h(X). [aggregation=max]"),
    # a column x a row: an outer product, larger than any value or weight, then x a column
    ("h(X) :- v(X), {1,2} f0(Y), v(Y), e(X, Y). [combination=product, aggregation=sum]\n"
     "out :- {1,2} h(X). [aggregation=sum]"),
    # a dot product (row weight x column), a scalar x a matrix, the matrix x a column
    ("g(X) :- {1,2} v(X), {2,2} f0(X), v(X). [combination=product, activation=tanh]\n"
     "out :- {1,2} g(X), {1} f1(X). [aggregation=avg]"),
]


@pytest.mark.parametrize("template", PRODUCTS)
def test_products_of_scalars_vectors_and_matrices_agree_with_the_op_table(template):
    """The product combination: the left fold of ``times`` over the items (ops.combine_product)."""
    examples = "\n".join(
        ", ".join(f"<{0.3 + 0.2 * i + 0.1 * k}> f0({c}), <{1.1 + 0.3 * k}> f1({c}), <[{0.5 - i}, {k + 0.7}]> v({c})"
                  for k, c in enumerate("abc")) + f", e(a, b), e(b, c), e(c, {'ab'[i % 2]}), e(a, a)."
        for i in range(4))
    for seed in range(3):
        compiled = small(template, examples, "\n".join(["out."] * 4), "none", seed=seed)
        assert all(layout.combination != "product" or len(layout.inputs) >= 2 for layout in compiled.schedule.steps)
        assert any(layout.combination == "product" for layout in compiled.schedule.steps)
        assert_engines_agree(compiled, np.arange(4), seed=seed)
        assert_engines_agree(compiled, np.array([2]), "bce_logits", seed=seed)


def _graphs(count: int, seed: int = 0) -> str:
    """Random graphs with 3-vector node features, one example per graph."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        n = int(rng.integers(3, 8))
        facts = [f"<[{', '.join(f'{v:.3f}' for v in rng.normal(size=3))}]> x(n{i})" for i in range(n)]
        facts += [f"e(n{i}, n{j})" for i in range(n) for j in range(n) if i != j and rng.random() < 0.4]
        facts += [f"<{rng.random():.3f}> s(n{i})" for i in range(n)]
        lines.append(", ".join(facts) + ".")
    return "\n".join(lines)


# two convolutions whose sums feed matrix head weights (BLAS tiles), an element-wise product of a scalar
# fact, a learnable scalar, a vector and a constant edge (the plain product path), a mean and a max
TILED = """$w1={4,3} h(X) :- x(Y), e(Y, X). [aggregation=sum]
$w2={4,3} h(X) :- x(Y), e(X, Y). [aggregation=sum]
$w4={4,3} h(X) :- x(X). [aggregation=avg]
h/1 [activation=relu]
g(X) :- s(X), $k={1} k, h(Y), e(X, Y). [combination=elproduct, aggregation=avg]
k :- {1} s(n0). [activation=tanh]
$w3={4,4} m(X) :- g(X). [aggregation=sum]
m/1 [activation=tanh]
out :- {1,4} m(X). [aggregation=max]"""


def test_matrix_products_batched_into_tiles_agree_with_the_op_table():
    """Aggregation rows with a matrix head weight run as BLAS products of up to TILE rows sharing the
    weight: over more rows than a tile, with two weights in one step, and for single samples."""
    from neuralogic_py.engine import fused

    compiled = small(TILED, _graphs(120), "\n".join(["out."] * 120), "structural")
    heads = [layout for layout in compiled.schedule.steps if layout.kind == "aggregation"
             and layout.head_weight is not None and compiled.store.parameters[layout.head_weight.names[0]].shape[1] > 1]
    assert max(len(layout.rows) for layout in heads) > fused.TILE  # more rows than one tile holds
    assert any(len(layout.head_weight.names) > 1 for layout in heads)  # rows of two weights in one step
    n = len(compiled.samples)
    for loss_name, samples in (("mse", np.arange(n)), ("bce_logits", np.arange(0, n, 7)), ("mse", np.array([5]))):
        assert_engines_agree(compiled, samples, loss_name)


def test_the_rows_each_sample_needs_lie_together_in_its_order():
    """The program lays a step's rows out sample after sample (the order they are first needed):
    unlifted examples share no rows, so each sample's rows in a step form one stretch, in sample order."""
    from neuralogic_py.engine import fused

    compiled = small(TILED, _graphs(30, seed=1), "\n".join(["out."] * 30), "none")
    program = Program(compiled.schedule, compiled.store)
    S = len(program.steps)
    ends = np.full(S, -1)
    for sample in range(len(compiled.samples)):
        fused.reach(program.steps, program.ints_array, program.marks, program.output_rows([sample]), program.bucket,
                    program.bstart, program.cnt)
        for s in range(S):
            ids = np.sort(program.bucket[program.bstart[s]:program.bstart[s] + program.cnt[s]])
            if len(ids):
                assert np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids)))  # one stretch
                assert ids[0] > ends[s]  # after the previous sample's
                ends[s] = ids[-1]
        fused.release(program.marks, program.bucket, program.bstart, program.cnt)
    assert_engines_agree(compiled, np.arange(len(compiled.samples)))


# --------------------------------------------------------------------------- training


def _train(engine: str, optimizer, batch_size: int, epochs: int = 3, **options):
    root = require_shared("conformance", "c11_mutagenesis_gnn")
    model = Model(root / "template.txt", engine=engine, seed=3)
    result = model.fit(root / "examples.txt", queries=root / "queries.txt", epochs=epochs, batch_size=batch_size,
                       optimizer=optimizer, **options)
    return model, result


@pytest.mark.parametrize("optimizer, batch_size", [
    (Adam(lr=0.01), 1),
    (Adam(lr=0.01, weight_decay=0.01, decoupled=True, clip_norm=0.5), 7),
    (Adam(lr=0.01, weight_decay=0.001), 0),
    (SGD(lr=0.05, momentum=0.9, clip_norm=1.0), 5),
    (SGD(lr=0.1), 1),
])
def test_training_gives_the_weights_and_history_of_the_numpy_engine(optimizer, batch_size, monkeypatch):
    state = {}
    for engine in ("numpy", "fused"):
        fresh = type(optimizer)(**{k: getattr(optimizer, a) for k, a in (
            ("lr", "base_lr"), ("weight_decay", "weight_decay"), ("clip_norm", "clip_norm"))},
            **({"momentum": optimizer.momentum} if isinstance(optimizer, SGD) else
               {"decoupled": optimizer._decoupled_decay}))
        model, result = _train(engine, fresh, batch_size, patience=None)
        state[engine] = (model.store.values, result.history.train_error, fresh)
    (w_numpy, e_numpy, o_numpy), (w_fused, e_fused, o_fused) = state["numpy"], state["fused"]
    np.testing.assert_allclose(e_fused, e_numpy, rtol=TOLERANCE)
    for name, value in w_numpy.items():
        np.testing.assert_allclose(w_fused[name], value, rtol=0, atol=TOLERANCE, err_msg=name)
    assert o_fused.steps == o_numpy.steps
    for fused_moments, numpy_moments in zip(o_fused.moments(), o_numpy.moments()):
        for name, m in numpy_moments.items():
            np.testing.assert_allclose(fused_moments[name], m, rtol=0, atol=TOLERANCE, err_msg=name)


def test_reshuffled_batches_train_as_on_the_numpy_engine():
    (m1, r1), (m2, r2) = (_train(e, Adam(lr=0.01), 16, shuffle="samples") for e in ("numpy", "fused"))
    np.testing.assert_allclose(r2.history.train_error, r1.history.train_error, rtol=TOLERANCE)


def test_a_fused_step_changes_only_the_parameters_its_batch_reads():
    compiled = _case("c09_knowledge_base")
    params = {n: v.copy() for n, v in compiled.store.learnable().items()}
    before = {n: v.copy() for n, v in params.items()}
    trainer = FusedTrainer(Program(compiled.schedule, compiled.store), params, Adam(lr=0.1), "mse",
                           np.zeros((len(compiled.samples), 1, 1)), None)
    _, grads = compiled.value_and_grad(params, losses.MSE(), np.zeros((1, 1, 1)), np.array([0]))
    assert trainer.step(np.array([0])) is not None
    trainer.sync()
    moved = {n for n in params if not np.array_equal(params[n], before[n])}
    assert moved and moved <= set(grads)


def test_nonfinite_values_stop_fused_training_with_the_neuron_named(tmp_path):
    (tmp_path / "t.rules").write_text("h(X) :- <1.0> a(X). [activation=log]\nout :- {1} h(X).\n")
    (tmp_path / "e.txt").write_text("1.0 out :- <-1.0> a(x).\n")
    model = Model(tmp_path / "t.rules", engine="fused")
    with pytest.raises(NeuralogicError, match=r"training stopped in epoch 1, batch 1.*the rule neuron of h\(x\)"):
        model.fit(tmp_path / "e.txt", epochs=2)


# --------------------------------------------------------------------------- choosing the engine


def test_what_the_fused_engine_does_not_cover_falls_back_to_numpy_saying_why(tmp_path):
    (tmp_path / "t.rules").write_text("h(X) :- {2,1} a(X). [activation=softmax]\nout :- {1,2} h(X).\n")
    (tmp_path / "e.txt").write_text("1.0 out :- a(x).\n")
    compiled = Model(tmp_path / "t.rules").build(tmp_path / "e.txt")[1]
    assert unsupported(compiled.schedule).startswith(
        "the activation softmax of rule 'h(X) :- {2,1} a(X). [activation=softmax]' (")
    model = Model(tmp_path / "t.rules", engine="auto")
    model.fit(tmp_path / "e.txt", epochs=2)  # trains on numpy
    with pytest.raises(NeuralogicError, match="the fused engine cannot run this network: the activation softmax"):
        Model(tmp_path / "t.rules", engine="fused").fit(tmp_path / "e.txt", epochs=2)


def test_auto_takes_the_fused_engine_when_the_training_repays_compiling_or_loading_it(monkeypatch):
    compiled = _case("c01_scalar_avg")
    monkeypatch.setattr(jit, "compiled_before", lambda: False)  # compiling: about half a minute
    assert not compiled.wants_fused(steps=10 ** 4, epochs=100)
    assert compiled.wants_fused(steps=10 ** 6, epochs=100)
    monkeypatch.setattr(jit, "compiled_before", lambda: True)  # loading: about a second
    assert not compiled.wants_fused(steps=100, epochs=10)
    assert compiled.wants_fused(steps=10 ** 4, epochs=100)
    compiled.engine = "fused"
    assert compiled.wants_fused(steps=1, epochs=1)
    compiled.engine = "numpy"
    assert not compiled.wants_fused(steps=10 ** 6, epochs=100)


def test_auto_chooses_by_the_step_costs_measured_on_the_training_batches(monkeypatch):
    compiled = _case("c11_mutagenesis_gnn")
    monkeypatch.setattr(jit, "compiled_before", lambda: True)
    params, loss = compiled.store.learnable(), LOSSES["mse"]
    targets = compiled.targets()
    batches = [np.arange(i, i + 4) for i in range(0, 12, 4)]
    for seconds in (compiled.numpy_step_seconds(params, loss, targets, None, batches, 1.0),
                    *compiled.step_seconds(params, loss, targets, None, batches, 1.0)):
        assert 0 < seconds < 10
    measured = {}
    monkeypatch.setattr(compiled, "numpy_step_seconds", lambda *args: measured["numpy"] * (1 + 19 * args[-1]))
    monkeypatch.setattr(compiled, "step_seconds", lambda *args: (compiled.numpy_step_seconds(*args),
                                                                 measured["fused"]))

    def trainer(fused, numpy, new_batches, steps=10 ** 5):
        measured.update(fused=fused, numpy=numpy)  # a plan per step: 20x the step
        return compiled.fused_trainer(params, Adam(0.01), loss, targets, None, steps, 100, batches, new_batches)

    assert trainer(1e-4, 1e-3, False) is not None  # fused faster
    assert trainer(1e-3, 1e-4, False) is None  # numpy's batched steps faster
    assert trainer(1e-3, 1e-4, True) is not None  # but not with a plan made per new batch
    assert trainer(1e-5, 1e-5, True, steps=1000) is None  # numpy's whole training is quicker than loading
    compiled.engine = "fused"
    assert trainer(1e-3, 1e-4, False) is not None  # insisting measures nothing


def test_the_kernel_cache_is_per_user_and_outside_the_package(monkeypatch, tmp_path):
    import neuralogic_py

    monkeypatch.setenv("NLP_CACHE_DIR", str(tmp_path))
    assert jit.cache_dir() == tmp_path / "numba"
    monkeypatch.delenv("NLP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jit.cache_dir() == tmp_path / "xdg" / "neuralogic_py" / "numba"
    package = neuralogic_py.__file__.rsplit("/", 1)[0]
    assert not str(jit.numba().config.CACHE_DIR).startswith(package)


def test_unknown_engines_are_refused():
    with pytest.raises(NeuralogicError, match="unknown engine 'gpu'"):
        Model(SHARED / "conformance" / "c01_scalar_avg" / "template.txt", engine="gpu")
