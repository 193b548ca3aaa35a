"""Shards of a split (neuralogic_py.scale.shards), without Ray: the workers' shards, one after another, hold
the samples of the whole split in the same order, in every pairing mode; and --workers without Ray installed
is a clear error."""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py.cli import main
from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.pairing import PairingMode
from neuralogic_py.language.parser import load_template
from neuralogic_py.language.sources import Split
from neuralogic_py.neural import REFERENCE, ParameterStore, build
from neuralogic_py.neural.parameters import template_weights
from neuralogic_py.scale import BuildSpec, ShardWorker
from neuralogic_py.scale.shards import global_order


def _id_paired(tmp_path):
    """xor_vector with ids, the query lines in another order than the examples."""
    examples = [line for line in (REPO / "datasets/xor_vector/examples.txt").read_text().splitlines()
                if line and not line.startswith("%")]
    queries = [line for line in (REPO / "datasets/xor_vector/queries.txt").read_text().splitlines() if line]
    (tmp_path / "e.txt").write_text("".join(f"x{i} :- {e}\n" for i, e in enumerate(examples)))
    (tmp_path / "q.txt").write_text("".join(f"x{i} :- {queries[i]}\n" for i in (2, 0, 3, 1)))
    return Split(tmp_path / "e.txt", tmp_path / "q.txt")


DATA = {  # pairing -> (template, split)
    PairingMode.LABELLED: ("templates/xor.rules", lambda _: Split(REPO / "datasets/xor/examples.txt")),
    PairingMode.ORDER: ("templates/xor_vector.rules", lambda _: Split(REPO / "datasets/xor_vector/examples.txt",
                                                                       REPO / "datasets/xor_vector/queries.txt")),
    PairingMode.ID: ("templates/xor_vector.rules", _id_paired),
    PairingMode.KNOWLEDGE_BASE: ("datasets/family/template.txt",
                                 lambda _: Split(REPO / "datasets/family/examples.txt",
                                                 REPO / "datasets/family/queries.txt")),
}


@pytest.mark.parametrize("mode", list(DATA), ids=lambda m: m.value)
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_in_order_are_the_whole_split(mode, count, tmp_path):
    template_file, make = DATA[mode]
    split = make(tmp_path)
    template = load_template(REPO / template_file)
    whole = build(template, load_examples(split.examples),
                  load_queries(split.queries) if split.queries else ())
    layout = ShardWorker(0, count).survey(split)
    assert layout.mode is mode
    assert (layout.facts is not None) == (mode is PairingMode.KNOWLEDGE_BASE)
    shards, outputs, units = [], [], 0
    for k in range(count):
        worker = ShardWorker(k, count)
        units += worker.read("train", split, layout).units
        store = ParameterStore(template_weights(template).parameters.values())
        store.load(whole.store.values)
        built = worker.build("train", BuildSpec(template, REFERENCE, store, "structural", "numpy", chunk_size=2))
        shards.append((built.samples, built.counted))
        outputs.append(worker.forward("train", whole.store.learnable(), np.arange(len(built.samples)))
                       if built.samples else np.zeros((0, 1, 1)))
    samples, shard_of, local_of = global_order(shards)
    assert units == (len(whole.samples) if mode is PairingMode.KNOWLEDGE_BASE else len(load_examples(split.examples)))
    assert [(s.example, str(s.ground), s.id) for s in samples] == \
        [(s.example, str(s.ground), s.id) for s in whole.samples]
    got = np.stack([outputs[k][i] for k, i in zip(shard_of.tolist(), local_of.tolist())])
    assert np.allclose(got, whole.forward(), rtol=1e-12, atol=1e-12)


def test_workers_without_ray_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    code = main(["train", str(REPO / "templates/xor_vector.rules"), str(REPO / "datasets/xor_vector"),
                 "--epochs", "1", "--workers", "2", "--out", "out"])
    err = capsys.readouterr().err
    assert code == 2
    assert "needs Ray" in err and "pip install 'neuralogic_py[ray]'" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "model.json").exists()


def test_an_address_nothing_answers_at_is_a_clear_error(monkeypatch, tmp_path, capsys):
    pytest.importorskip("ray", reason="the address is checked once Ray is there")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["train", str(REPO / "templates/xor_vector.rules"), str(REPO / "datasets/xor_vector"),
                 "--epochs", "1", "--ray-address", f"127.0.0.1:{port}", "--out", "out"])
    err = capsys.readouterr().err
    assert code == 2 and f"no Ray cluster answers at 127.0.0.1:{port}" in err and "Traceback" not in err
