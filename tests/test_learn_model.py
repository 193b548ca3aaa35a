"""The Model API end to end: training XOR, saving and loading, cross-validation, non-finite values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py.errors import NeuralogicError, ValidationError
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.learn.dataset import Dataset, items_dataset
from neuralogic_py.learn.model import Model
from neuralogic_py.learn.model_file import is_model_file
from neuralogic_py.learn.trainer import TrainingError

XOR = REPO / "datasets" / "xor" / "examples.txt"
XOR_VECTOR = REPO / "datasets" / "xor_vector"


def epochs_to_full_accuracy(model: Model, data, **options) -> int | None:
    """Train, evaluating after every epoch; the first epoch after which all samples are right."""
    reached: list[int] = []

    def check(done, history):
        if not reached and model.evaluate(data).accuracy == 1.0:
            reached.append(done)

    model.fit(data, on_epoch=check, **options)
    return reached[0] if reached else None


@pytest.mark.parametrize("seed", range(5))
def test_scalar_xor_reaches_full_accuracy(seed):
    model = Model(REPO / "templates" / "xor.rules", seed=seed)
    data = Dataset.load(XOR)
    reached = epochs_to_full_accuracy(model, data, epochs=400, lr=0.05)
    assert reached is not None and reached <= 400
    assert model.evaluate(data).accuracy == 1.0


@pytest.mark.parametrize("loss", ["mse", "auto"])
@pytest.mark.parametrize("seed", range(3))
def test_vector_xor_reaches_full_accuracy(seed, loss):
    model = Model(REPO / "templates" / "xor_vector.rules", seed=seed, loss=loss)
    data = Dataset.load(XOR_VECTOR)
    assert epochs_to_full_accuracy(model, data, epochs=200, lr=0.05) is not None
    result = model.evaluate(data)
    assert result.accuracy == 1.0 and result.auc_roc == 1.0


def test_training_is_deterministic_given_the_seed():
    runs = []
    for _ in range(2):
        model = Model(REPO / "templates" / "xor.rules", seed=7)
        model.fit(XOR, epochs=20, lr=0.05)
        runs.append(model.parameters())
    assert runs[0].keys() == runs[1].keys()
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    other = Model(REPO / "templates" / "xor.rules", seed=8).parameters()
    assert not all(np.array_equal(runs[0][k], other[k]) for k in other)


def test_save_and_load_give_identical_predictions(tmp_path):
    model = Model(REPO / "templates" / "xor_vector.rules", seed=1, loss="auto")
    model.fit(XOR_VECTOR, epochs=50, lr=0.05)
    path = model.save(tmp_path / "m.json")
    assert is_model_file(path) and not is_model_file(REPO / "templates" / "xor.rules")
    loaded = Model.load(path)
    assert loaded.settings == model.settings and loaded.settings.output_activation == "identity"
    assert loaded.loss.name == "bce_logits"
    before, after = model.predict(XOR_VECTOR), loaded.predict(XOR_VECTOR)
    assert np.array_equal(before.outputs, after.outputs) and np.array_equal(before.scores, after.scores)
    assert model.evaluate(XOR_VECTOR).as_dict() == loaded.evaluate(XOR_VECTOR).as_dict()
    params = loaded.parameters()
    assert params.keys() == model.parameters().keys()
    assert all(np.array_equal(params[k], v) for k, v in model.parameters().items())
    saved = json.loads(path.read_text())
    assert saved["template"].startswith("{1,8} xor :- {8,2} xy.")
    assert saved["parameters"]["rule1.body1"]["shape"] == [8, 2]


def test_saved_molecule_model_keeps_fixed_and_learned_weights(tmp_path):
    model = Model(REPO / "templates" / "gnn.rules", seed=0)
    model.fit(REPO / "datasets" / "molecules", epochs=3, lr=0.01)
    loaded = Model.load(model.save(tmp_path / "gnn.json"))
    data = Dataset.load(REPO / "datasets" / "molecules" / "testExamples.txt",
                        REPO / "datasets" / "molecules" / "testQueries.txt")
    assert np.array_equal(model.predict(data).outputs, loaded.predict(data).outputs)


def test_load_rejects_other_files(tmp_path):
    (tmp_path / "w.json").write_text('{"w": 1.0}')
    with pytest.raises(ValidationError, match="not a saved model"):
        Model.load(tmp_path / "w.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValidationError, match="not JSON"):
        Model.load(tmp_path / "bad.json")


def test_parameters_are_named_and_loadable_by_name():
    model = Model.from_text("$w={2} h :- <[1.0, 2.0]> a, {1}.\n")
    assert list(model.parameters()) == ["w", "rule1.body1", "rule1.offset"]  # fixed ones too
    model.load_parameters({"w": [0.5, -0.5]})
    assert model.parameters()["w"].tolist() == [[0.5], [-0.5]]
    with pytest.raises(ValidationError, match="no parameter named 'v'"):
        model.load_parameters({"v": 1.0})


def test_validation_fraction_selects_on_held_out_samples():
    model = Model(REPO / "templates" / "gnn.rules", seed=0)
    result = model.fit(REPO / "datasets" / "molecules", epochs=5, lr=0.01, val_fraction=0.34, patience=2)
    assert result.history.selection_set == "validation"
    assert result.val is not None and result.val.samples == 2 and result.train.samples == 4


def test_cross_validation_tests_every_sample_once_and_stratifies():
    text = "".join(f"{t} out :- <{x}> a.\n" for t, x in [(1.0, 0.9), (0.0, -0.8)] * 6)
    model = Model.from_text("out :- {1} a, {1}.\nout/0 [activation=sigmoid]\n", seed=0)
    cv = model.cross_validate(Dataset(parse_examples(text)), 3, epochs=30, lr=0.1, keep_predictions=True)
    ids = [i for fold in cv.folds for i in fold.test_predictions.ids]
    assert sorted(ids) == sorted(f"s_{i}" for i in range(12))
    for fold in cv.folds:
        assert sorted(fold.test_predictions.targets.ravel().tolist()) == [0.0, 0.0, 1.0, 1.0]
    mean, _ = cv.summary("accuracy")["test"]
    assert mean == 1.0


def test_a_nan_names_the_neuron_and_the_rule():
    model = Model.from_text("h(X) :- {1} a(X). [activation=log]\nout :- {1} h(X).\nout/0 [activation=sigmoid]\n")
    data = Dataset(parse_examples("1.0 out :- <1.0> a(x), <2.0> a(y).\n0.0 out :- <-1.0> a(x).\n"))
    model.store.values["rule1.body1"][...] = 1.0
    with pytest.raises(TrainingError) as e:
        model.fit(data, epochs=1, shuffle="none")
    message = str(e.value)
    assert "epoch 1, batch 2" in message
    assert "the rule neuron of h(x) :- a(x), example 2" in message
    assert "h(X) :- {1} a(X). [activation=log]" in message


def test_an_infinite_gradient_names_the_parameter():
    model = Model.from_text("h(X) :- {1} a(X). [activation=sqrt]\nout :- {1} h(X).\n")
    data = Dataset(parse_examples("0.0 out :- <0.0> a(x).\n"))
    model.store.values["rule1.body1"][...] = 1.0
    with pytest.raises(TrainingError, match="the gradient of rule1.body1 is not finite"):
        model.fit(data, epochs=1)


def test_training_needs_targets():
    model = Model.from_text("out :- {1} a.\n")
    data = Dataset(parse_examples("<1.0> a.\n"), parse_queries("out.\n"))
    with pytest.raises(ValidationError, match="no target value"):
        model.fit(data, epochs=1)
    with pytest.raises(NeuralogicError, match="no loss yet"):
        _ = Model.from_text("out :- {1} a.\n").loss


def test_importance_weights_the_error():
    """``importance id :- query.`` lines weight their sample's error in the mean."""
    model = Model.from_text("out :- <1.0> a. [activation=identity]\nout/0 [activation=identity]\n")
    examples = parse_examples("e1 :- <1.0> a.\ne2 :- <1.0> a.\n")
    plain = Dataset(examples, parse_queries("e1 :- 0.0 out.\ne2 :- 3.0 out.\n"))
    weighted = Dataset(examples, parse_queries("3.0 e1 :- 0.0 out.\n1.0 e2 :- 3.0 out.\n"))
    assert model.evaluate(plain).error == pytest.approx((1.0 + 4.0) / 2)
    assert model.evaluate(weighted).error == pytest.approx((3 * 1.0 + 1 * 4.0) / 4)


def test_knowledge_bases_get_mrr_and_hits():
    model = Model(REPO / "datasets" / "family" / "template.txt", seed=0)
    result = model.fit(REPO / "datasets" / "family", epochs=60, lr=0.05)
    extra = result.train.extra
    assert set(extra) == {"MRR", "hits@1", "hits@3", "hits@10"}
    assert 0 < extra["MRR"] <= 1 and extra["hits@1"] <= extra["hits@3"] <= extra["hits@10"] == 1.0
    assert "MRR: " in result.train.line()
    xor = Model(REPO / "templates" / "xor.rules").fit(XOR, epochs=1)
    assert xor.train.extra == {}  # four examples: not a knowledge base


def test_fit_options_reach_the_optimizer():
    model = Model(REPO / "templates" / "xor.rules", seed=0)
    result = model.fit(XOR, epochs=5, optimizer="sgd", lr=0.2, lr_decay=0.5, decay_every=2, weight_decay=0.01)
    assert result.history.learning_rate == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])
    assert model.training["optimizer"] == "sgd lr 0.2, weight decay 0.01, schedule GeometricDecay(rate=0.5, every=2)"
    with pytest.raises(TypeError):
        model.fit(XOR, epochs=1, learning_rate=0.1)


def xor_vector_in_python():
    """templates/xor_vector.rules and datasets/xor_vector, written with the DSL."""
    from neuralogic_py.language.dsl import Example, R, T, TemplateBuilder, W

    template = TemplateBuilder(R.xor[1, 8] <= R.xy[W[8, 2]], (R.xor / 0) | [T.SIGMOID])
    inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    return template, [Example(R.xy[x].fixed(), queries=R.xor[float(x[0] != x[1])]) for x in inputs]


def test_a_template_builder_and_a_list_of_examples_train_as_the_files_do():
    """Oracle: the same template and data read from files, trained with the same seed: the same weights."""
    template, examples = xor_vector_in_python()
    from_python = Model(template, seed=3)
    from_files = Model(REPO / "templates" / "xor_vector.rules", seed=3)
    assert from_python.parameters().keys() == from_files.parameters().keys()
    options = dict(epochs=30, lr=0.05, batch_size=2)
    python_result = from_python.fit(examples, **options)
    file_result = from_files.fit(XOR_VECTOR, **options)
    assert python_result.train.error == file_result.train.error
    for name, value in from_files.parameters().items():
        np.testing.assert_array_equal(from_python.parameters()[name], value)
    np.testing.assert_array_equal(from_python.predict(examples).outputs, from_files.predict(XOR_VECTOR).outputs)
    assert from_python.evaluate(examples[:2]).error == pytest.approx(
        np.mean((from_python.predict(examples[:2]).outputs.ravel() - [0.0, 1.0]) ** 2))


def test_data_given_as_a_list_holds_examples_and_query_lines():
    from neuralogic_py.language.dsl import Example, QueryLine, R

    data = items_dataset([Example([R.xy[[0.0, 1.0]].fixed()]), QueryLine(R.xor[1.0])])
    assert (len(data.examples), len(data.query_lines)) == (1, 1)
    with pytest.raises(NeuralogicError, match="examples and query lines, got int"):
        items_dataset([Example([R.xy[[0.0, 1.0]].fixed()]), 3])
    with pytest.raises(NeuralogicError, match="queries= names the queries file"):
        items_dataset([Example([R.a])], "queries.txt")


def test_a_model_of_something_else_is_an_error_not_a_type_error():
    with pytest.raises(NeuralogicError, match="TemplateBuilder, got int"):
        Model(3)


def test_stage_lines_only_when_asked_and_the_fused_compile_announced(capsys, monkeypatch):
    import io

    from neuralogic_py import progress
    from neuralogic_py.engine import jit

    data = Dataset.load(REPO / "datasets" / "xor")
    Model(REPO / "templates" / "xor.rules").fit(data, epochs=2)
    assert capsys.readouterr() == ("", "")  # the Python API is quiet
    monkeypatch.setattr(jit, "compiled_before", lambda: False)  # as on a fresh machine
    lines = io.StringIO()
    with progress.stage_lines(stream=lines):
        Model(REPO / "templates" / "xor.rules", engine="fused").fit(data, epochs=2, batch_size=1)
    starts = [line.split(" ...")[0] for line in lines.getvalue().splitlines() if not line.startswith(" ")]
    assert starts == ["grounding 4 examples, 0 query lines", "neuralizing 4 samples", "lifting (structural)",
                      "compiling the fused engine's kernels (numba, once per machine, about 30 s)",
                      "training 2 epochs of 4 samples in 4 batches of 1"]
    with progress.stage_lines(stream=lines, stages=False):  # notes only
        progress.stage("hidden")
        progress.note("shown")
    assert lines.getvalue().endswith("training 2 epochs of 4 samples in 4 batches of 1 ...\nshown\n")
