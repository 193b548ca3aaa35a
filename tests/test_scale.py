"""Training on Ray workers (neuralogic_py.scale) gives the model of one process.

On a local Ray runtime with 2 CPUs: outputs and gradients of 1, 2 and 3 workers equal
the in-process engine's (within 1e-12) on the conformance cases (c11 is a molecule
set, c09 and c12 knowledge bases) and on a molecule set with importance weights;
3 epochs at batch size 32 on 2 workers give the one-process model (within 1e-9); a
worker killed during training is restarted and the run ends with the uninterrupted
run's model; ``nlp train --workers 2`` writes the one-process model.

About 1 minute on 2 cores (Ray's start, ~5 s, once per session).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, SHARED, require_shared

from neuralogic_py.cli import main
from neuralogic_py.errors import NeuralogicError
from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import load_template
from neuralogic_py.language.sources import Split
from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.losses import make_loss
from neuralogic_py.learn.model import Model
from neuralogic_py.neural import REFERENCE, ParameterStore, build
from neuralogic_py.neural.parameters import template_weights

ray = pytest.importorskip("ray", reason="the scale-out tests need Ray: pip install 'neuralogic_py[ray]'")

from neuralogic_py.scale import BuildSpec, Cluster  # noqa: E402  (after the skip: it is for Ray runs)

CASES = sorted(p.name for p in (SHARED / "conformance").glob("c*") if p.is_dir()) or ["c01_scalar_avg"]
MOLECULES = "c11_mutagenesis_gnn"


@pytest.fixture(scope="session")
def runtime():
    """A local Ray runtime of 2 CPUs for the whole session (the clusters below join it)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda n: f"{n}workers")
def cluster(request, runtime):
    with Cluster(request.param) as c:
        yield c


def _compare(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference relative to max(1, |want|)."""
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)), initial=0.0))


def _check_network(cluster, root, examples, queries, weights) -> None:
    """Outputs, and the error and gradient of all samples and of a batch, on ``cluster`` and in process."""
    template = load_template(root / "template.txt")
    local = build(template, load_examples(examples), load_queries(queries))
    local.store.load_json(weights)
    store = ParameterStore(template_weights(template).parameters.values())
    store.load_json(weights)
    data = cluster.load(Split(examples, queries))
    sharded = cluster.build(data, BuildSpec(template, REFERENCE, store, "structural", "numpy"))
    assert [str(s.ground) for s in sharded.samples] == [str(s.ground) for s in local.samples]
    params = local.store.learnable()
    assert _compare(sharded.forward(params), local.forward(params)) <= 1e-12
    loss, targets = make_loss("mse"), local.targets()
    n = len(local.samples)
    batch = np.random.default_rng(0).permutation(n)[:max(1, n // 2)]
    weights_batch = np.linspace(0.5, 2.0, len(batch))
    for samples, w in ((np.arange(n), None), (batch, None), (batch, weights_batch)):
        error, grads = sharded.value_and_grad(params, loss, targets[samples], samples, w)
        want_error, want = local.value_and_grad(params, loss, targets[samples], samples, w)
        assert abs(error - want_error) <= 1e-12 * max(1.0, abs(want_error))
        assert sorted(grads) == sorted(want) and want
        for name in want:
            assert _compare(grads[name], want[name]) <= 1e-12, name


@pytest.mark.parametrize("name", CASES)
def test_outputs_and_gradients_equal_one_process(cluster, name):
    root = require_shared("conformance", name)
    _check_network(cluster, root, root / "examples.txt", root / "queries.txt", root / "weights.json")


def _molecules_by_id(tmp_path, importance: bool):
    """The conformance molecule set with ids on examples and query lines (paired by id, in reverse order),
    each line with an importance when asked."""
    root = require_shared("conformance", MOLECULES)
    examples = [line for line in (root / "examples.txt").read_text().splitlines() if line.strip()]
    queries = [line for line in (root / "queries.txt").read_text().splitlines() if line.strip()]
    (tmp_path / "examples.txt").write_text("".join(f"m{i} :- {e}\n" for i, e in enumerate(examples)))
    lines = [f"{0.5 + (i % 4) / 2 if importance else ''} m{i} :- {q}".strip() for i, q in enumerate(queries)]
    (tmp_path / "queries.txt").write_text("\n".join(reversed(lines)) + "\n")
    return root, tmp_path / "examples.txt", tmp_path / "queries.txt"


def test_molecules_paired_by_id_equal_one_process(cluster, tmp_path):
    root, examples, queries = _molecules_by_id(tmp_path, importance=False)
    _check_network(cluster, root, examples, queries, root / "weights.json")


def _fit(cluster, data, **options):
    root = require_shared("conformance", MOLECULES)
    model = Model(root / "template.txt", seed=3)
    if cluster is None:
        data = Dataset.from_split(data)
    result = model.fit(data, cluster=cluster, epochs=3, batch_size=32, optimizer="adam", lr=0.01, **options)
    return model, result


def test_three_epochs_on_two_workers_give_the_one_process_model(runtime, tmp_path):
    _, examples, queries = _molecules_by_id(tmp_path, importance=True)
    data = Split(examples, queries)
    one, one_result = _fit(None, data)
    with Cluster(2) as cluster:
        two, two_result = _fit(cluster, data)
    assert two_result.history.epochs == 3
    for name, value in one.parameters().items():
        assert _compare(two.parameters()[name], value) <= 1e-9, name
    assert np.allclose(two_result.history.train_error, one_result.history.train_error, rtol=1e-9, atol=0)
    assert abs(two_result.train.error - one_result.train.error) <= 1e-9


def test_a_killed_worker_is_restarted_and_the_model_is_the_same(runtime, tmp_path, capsys):
    root = require_shared("conformance", MOLECULES)
    data = Split(root / "examples.txt", root / "queries.txt")
    with Cluster(2) as cluster:
        whole, _ = _fit(cluster, data)
    with Cluster(2) as cluster:
        killed = []

        def kill(epoch, history):
            if epoch == 1:
                killed.append(cluster.actors[1])
                ray.kill(cluster.actors[1])

        model, result = _fit(cluster, data, on_epoch=kill)
        assert killed and cluster.actors[1] is not killed[0] and cluster.restarts == [0, 1]
    assert "worker 1 died" in capsys.readouterr().err
    assert result.history.epochs == 3
    for name, value in whole.parameters().items():
        assert _compare(model.parameters()[name], value) <= 1e-12, name


def test_nlp_train_on_workers_writes_the_one_process_model(runtime, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = [str(REPO / "templates" / "xor_vector.rules"), str(REPO / "datasets" / "xor_vector"), "--epochs", "5",
            "--batch-size", "2", "--no-progress"]
    assert main(["train", *args, "--out", "one"]) == 0
    assert main(["train", *args, "--out", "two", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    one, two = (json.loads((tmp_path / d / "model.json").read_text())["parameters"] for d in ("one", "two"))
    for name, entry in one.items():
        assert np.allclose(two[name]["value"], entry["value"], rtol=1e-9, atol=1e-12), name
    rows = [[line.split("\t") for line in (tmp_path / d / "predictions" / "train.tsv").read_text().splitlines()]
            for d in ("one", "two")]
    assert [r[:2] for r in rows[1]] == [r[:2] for r in rows[0]]  # the same sample ids and queries, in order
    assert (tmp_path / "two" / "checkpoint.json").is_file()  # a run on workers checkpoints every epoch
    assert "4 training samples" in out


def test_the_checkpoint_of_a_run_on_workers_resumes_in_one_process(runtime, tmp_path, monkeypatch):
    """What a lost driver leaves: the last epoch's checkpoint, from which the run goes on (here without workers)."""
    monkeypatch.chdir(tmp_path)
    args = [str(REPO / "templates" / "xor_vector.rules"), str(REPO / "datasets" / "xor_vector"), "--batch-size", "2",
            "--no-progress"]
    assert main(["train", *args, "--epochs", "4", "--out", "whole"]) == 0
    assert main(["train", *args, "--epochs", "2", "--out", "cut", "--workers", "2"]) == 0
    checkpoint = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())
    assert checkpoint["run"]["epochs"] == 2
    assert main(["train", *args, "--epochs", "4", "--out", "cut", "--resume", "cut"]) == 0
    whole, resumed = (json.loads((tmp_path / d / "model.json").read_text())["parameters"] for d in ("whole", "cut"))
    for name, entry in whole.items():
        assert np.allclose(resumed[name]["value"], entry["value"], rtol=1e-9, atol=1e-12), name


def test_fit_with_a_number_of_workers(runtime):
    xor = REPO / "datasets" / "xor_vector"
    one, two = Model(REPO / "templates" / "xor_vector.rules"), Model(REPO / "templates" / "xor_vector.rules")
    one.fit(Dataset.load(xor), epochs=5, batch_size=2, lr=0.05)
    result = two.fit(xor, epochs=5, batch_size=2, lr=0.05, workers=2)
    assert result.history.engine == "Ray (2 workers)"
    for name, value in one.parameters().items():
        assert _compare(two.parameters()[name], value) <= 1e-12, name
    with pytest.raises(NeuralogicError, match="given by its files"):
        two.fit(Dataset.load(xor), epochs=1, workers=2)


def test_a_worker_killed_before_grounding_reads_its_shard_again(runtime, capsys):
    root = require_shared("conformance", MOLECULES)
    template = load_template(root / "template.txt")
    local = build(template, load_examples(root / "examples.txt"), load_queries(root / "queries.txt"))
    local.store.load_json(root / "weights.json")
    with Cluster(2) as cluster:
        data = cluster.load(Split(root / "examples.txt", root / "queries.txt"))
        ray.kill(cluster.actors[0])
        sharded = cluster.build(data, BuildSpec(template, REFERENCE, local.store, "structural", "numpy"))
        assert cluster.restarts == [1, 0]
        assert _compare(sharded.forward(local.store.learnable()), local.forward()) <= 1e-12
    assert "worker 0 died" in capsys.readouterr().err
