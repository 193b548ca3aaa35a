"""Chunked grounding: chunk by chunk, the same lifted network, samples, outputs and training as all at once.

The oracle is the whole-set build (:func:`neuralogic_py.neural.build`): the chunked network
must reach the same number of neurons and edges after lifting, and give every output and
every weight gradient within 1e-12, for chunks of 1, 2, 5 and more examples than the set
has. The file reader is checked against the whole-file parser (same IR, same positions),
its parts against reading everything, and training with chunks against training without.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SHARED, require_shared

from neuralogic_py.engine import ops
from neuralogic_py.errors import ValidationError
from neuralogic_py.language.chunks import FileRange, chunks_of, read_chunks, split_parts, statements
from neuralogic_py.language.data import load_examples, load_queries, parse_examples
from neuralogic_py.language.pairing import PairingMode, infer_pairing
from neuralogic_py.language.parser import load_template, parse_template
from neuralogic_py.language.sources import Split
from neuralogic_py.learn.dataset import DataFiles, Dataset
from neuralogic_py.learn.model import Model
from neuralogic_py.neural import LiftingSettings, build
from neuralogic_py.neural.chunked import build_chunked

CASES = sorted(p.name for p in (SHARED / "conformance").glob("c*") if p.is_dir()) or ["c01_scalar_avg"]
SIZES = (1, 2, 5, 10_000)
TOLERANCE = 1e-12


def outputs_and_gradients(compiled):
    out = compiled.forward()
    _, grads = compiled.value_and_grad(compiled.store.learnable(), lambda o, t: ops.sum_all(ops.mse(o, t)),
                                       np.full_like(out, 0.3))
    return out, grads


def assert_same_network(chunked, whole):
    assert chunked.compression.final == whole.compression.final
    assert [s.id for s in chunked.samples] == [s.id for s in whole.samples]
    assert [str(s.ground) for s in chunked.samples] == [str(s.ground) for s in whole.samples]
    np.testing.assert_array_equal(chunked.targets(), whole.targets())
    out, grads = outputs_and_gradients(chunked)
    want_out, want_grads = outputs_and_gradients(whole)
    np.testing.assert_allclose(out, want_out, rtol=0, atol=TOLERANCE)
    assert grads.keys() == want_grads.keys()
    for name, want in want_grads.items():
        np.testing.assert_allclose(grads[name], want, rtol=0, atol=TOLERANCE, err_msg=name)


def check_chunked(template, examples, queries, sizes=SIZES):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = build(template, examples, queries, allow_underivable=True, seed=3)
        pairing = infer_pairing(examples, queries)
        for size in sizes:
            chunked = build_chunked(template, chunks_of(examples, queries, pairing, size), store=whole.store,
                                    allow_underivable=True)
            assert_same_network(chunked, whole)


def conformance(case):
    root = require_shared("conformance", case)
    return load_template(root / "template.txt"), load_examples(root / "examples.txt"), \
        load_queries(root / "queries.txt")


@pytest.mark.parametrize("case", CASES)
def test_conformance_cases_chunked_equal_whole(case):
    template, examples, queries = conformance(case)
    many = max(len(examples), len(queries)) > 100  # one chunk per sample relifts the network hundreds of times
    check_chunked(template, examples, queries, sizes=(37, 10_000) if many else SIZES)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["c11_mutagenesis_gnn", "c12_nations_triples"])
def test_large_conformance_cases_in_chunks_of_one(case):
    check_chunked(*conformance(case), sizes=(1,))


def test_molecules_chunked_equal_whole():
    root = REPO / "datasets" / "carbonyl"
    check_chunked(load_template(REPO / "templates" / "gnn.rules"), load_examples(root / "trainExamples.txt"),
                  load_queries(root / "trainQueries.txt"), sizes=(7, 64))


def test_nci_molecules_chunked_equal_whole():
    examples = load_examples(require_shared("datasets", "nci_gi50", "786_0", "examples.txt"))[:120]
    queries = load_queries(SHARED / "datasets" / "nci_gi50" / "786_0" / "queries.txt")[:120]
    # the bundled GNN derives 14 of these (the mutagenesis template's atom types are not NCI's: none)
    check_chunked(load_template(REPO / "templates" / "gnn.rules"), examples, queries, sizes=(1, 50))


@pytest.mark.parametrize("lifting", [LiftingSettings("structural", scope="example"),
                                     LiftingSettings("value", iso_check=True), LiftingSettings("none")],
                         ids=["within-examples", "value-checked", "none"])
def test_other_lifting_settings_chunked_equal_whole(lifting):
    template, examples, queries = conformance("c11_mutagenesis_gnn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = build(template, examples[:40], queries[:40], lifting=lifting, seed=2)
        chunks = chunks_of(examples[:40], queries[:40], infer_pairing(examples[:40], queries[:40]), 7)
        assert_same_network(build_chunked(template, chunks, store=whole.store, lifting=lifting), whole)


def test_id_pairing_and_labelled_examples_keep_the_whole_sets_sample_order():
    template = parse_template("h(X) :- f(X, Y). q :- h(X).\n", "t.rules")
    examples = parse_examples("e1 :- f(a, b). e2 :- f(a, b), f(b, c). e3 :- f(c, c).", "e.txt")
    from neuralogic_py.language.data import parse_queries

    queries = parse_queries("e3 :- 1.0 q. e1 :- 0.0 q. e2 :- 1.0 q. e1 :- 0.5 h(a).", "q.txt")
    check_chunked(template, examples, queries, sizes=(1, 2))
    labelled = parse_examples("1.0 q :- f(a, b). 0.0 q, 1.0 h(a) :- f(a, a). 1.0 q :- f(b, c).", "e.txt")
    check_chunked(template, labelled, (), sizes=(1, 2))


def test_a_known_class_met_at_a_lower_level_joins_and_lifts_again(monkeypatch):
    """Example 1 reaches tanh(w * 2.0) through an identity chain (level 3), example 2 directly (level 1): the
    second chunk lowers a known class's level, which the builder handles by lifting the two together."""
    from neuralogic_py.neural.incremental import LiftedBuilder

    template = parse_template("g(X) :- f(X). [activation=identity]\nh(X) :- g(X). [activation=identity]\n"
                              "g/1 [activation=identity]\nh/1 [activation=identity]\n"
                              "p :- $w={1} h(X). [activation=tanh]\np :- $w={1} f2(X). [activation=tanh]\n", "t.rules")
    examples = parse_examples("<2.0> f(a). <2.0> f2(b). <2.0> f(a), <3.0> f2(c).", "e.txt")
    from neuralogic_py.language.data import parse_queries

    queries = parse_queries("1.0 p. 0.0 p. 1.0 p.", "q.txt")
    rejoined = []
    finish = LiftedBuilder.finish
    monkeypatch.setattr(LiftedBuilder, "finish", lambda self: rejoined.append(self.rejoined) or finish(self))
    check_chunked(template, examples, queries, sizes=(1, 2))
    assert rejoined == [1, 0]  # chunks of 2: examples 1 and 2 are lifted together


# --------------------------------------------------------------------------- reading files in chunks


def span_key(span):
    return span and (span.file, span.line, span.column, span.end_line, span.end_column)


def assert_read_as_whole(split: Split, chunks):
    examples = load_examples(split.examples) if split.examples else ()
    queries = load_queries(split.queries) if split.queries else ()
    kb = len(examples) == 1 and len(queries) > 0
    got_examples = chunks[0].examples if kb else tuple(e for c in chunks for e in c.examples)
    got_lines = tuple(q for c in chunks for q in c.query_lines)
    assert got_examples == examples and got_lines == queries
    assert [span_key(e.span) for e in got_examples] == [span_key(e.span) for e in examples]
    assert [span_key(q.span) for q in got_lines] == [span_key(q.span) for q in queries]
    np.testing.assert_array_equal(np.concatenate([c.lines for c in chunks]), np.arange(len(queries)))


def test_read_chunks_equal_parsing_the_whole_files():
    root = REPO / "datasets" / "molecules"
    split = Split(root / "trainExamples.txt", root / "trainQueries.txt")
    for size in (1, 3, 1000):
        chunks = list(read_chunks(split, size))
        assert max(len(c.examples) for c in chunks) == min(size, len(load_examples(split.examples)))
        assert_read_as_whole(split, chunks)
    by_bytes = list(read_chunks(split, 1000, max_bytes=200))
    assert len(by_bytes) > 1 and all(len(c.examples) == 1 or
                                     sum(len(str(e)) for e in c.examples) < 400 for c in by_bytes)
    assert_read_as_whole(split, by_bytes)


def test_statements_skip_comments_and_decimal_points(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("% a. comment\nf(a), <1.5> g(b). /* a block. /* nested. */ still. */ h(c).\n"
                    "  1.0 q :- f(x).  % trailing. comment\n", encoding="utf-8")
    found = list(statements(path, block=7))  # blocks smaller than a line: lines are kept whole
    assert [(s.line, s.column) for s in found] == [(1, 1), (2, 18), (2, 60)]
    chunks = list(read_chunks(Split(path), 1))
    assert [len(c.examples) for c in chunks] == [1, 1, 1]
    assert tuple(e for c in chunks for e in c.examples) == parse_examples(path.read_text(), str(path))


def test_unterminated_statement_is_a_positioned_error(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("f(a).\nf(b), g(c)\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        list(read_chunks(Split(path), 1))
    assert info.value.span is not None and info.value.span.line == 2


def test_parts_cover_the_files_once():
    root = require_shared("datasets", "mutagenesis")
    split = Split(root / "examples.txt", root / "queries.txt")
    whole = list(read_chunks(split, 10))
    for n in (1, 3):
        parts = split_parts(split, n)
        assert len(parts) == n and parts[0].examples.start == 0 and parts[-1].examples.stop is None
        assert_read_as_whole(split, [c for part in parts for c in read_chunks(split, 10, part)])
    assert whole[0].first_example == 0


def test_knowledge_base_parts_split_the_queries():
    root = require_shared("conformance", "c09_knowledge_base")
    split = Split(root / "examples.txt", root / "queries.txt")
    parts = split_parts(split, 2)
    assert {p.mode for p in parts} == {PairingMode.KNOWLEDGE_BASE}
    chunks = [c for part in parts for c in read_chunks(split, 1, part)]
    assert all(len(c.examples) == 1 for c in chunks)
    assert_read_as_whole(split, chunks)
    template = load_template(root / "template.txt")
    whole = build(template, load_examples(split.examples), load_queries(split.queries), seed=1)
    assert_same_network(build_chunked(template, chunks, store=whole.store), whole)


def test_order_pairing_with_unequal_counts_is_an_error(tmp_path):
    (tmp_path / "e.txt").write_text("f(a). f(b). f(c).\n")
    (tmp_path / "q.txt").write_text("1.0 q. 0.0 q.\n")
    with pytest.raises(ValidationError, match="3 examples but 2 query lines"):
        list(read_chunks(Split(tmp_path / "e.txt", tmp_path / "q.txt"), 2))


# --------------------------------------------------------------------------- training


def test_training_with_chunks_equals_training_without():
    data = REPO / "datasets" / "carbonyl"
    results = []
    for size in (0, 9):
        model = Model(REPO / "templates" / "gnn.rules", seed=4, chunk_size=size, engine="numpy")
        assert isinstance(model.data(data), DataFiles if size else Dataset)  # chunks are read from the files
        lines = []
        model.on_stage = lines.append
        fit = model.fit(data, epochs=3, batch_size=16, lr=0.02)
        results.append((model.parameters(), fit.train.error, model.predict(data).outputs, lines))
    (p0, e0, o0, lines0), (p1, e1, o1, lines1) = results
    done = "grounding 160 examples in chunks of 9: 100%"
    # a line as the stage starts, then one per chunk (18), for fit and then predict
    assert lines0 == [] and lines1[0] == "grounding 160 examples in chunks of 9: 0%"
    assert lines1[18] == done and lines1[-1] == done and len(lines1) == 38
    assert abs(e0 - e1) < 1e-9
    np.testing.assert_allclose(o1, o0, rtol=0, atol=1e-9)
    for name, value in p0.items():
        np.testing.assert_allclose(p1[name], value, rtol=0, atol=1e-9, err_msg=name)


def test_cli_train_chunk_size(tmp_path, monkeypatch, capsys):
    from neuralogic_py.cli import main

    monkeypatch.chdir(tmp_path)
    data, template = REPO / "datasets" / "carbonyl", REPO / "templates" / "gnn.rules"
    assert main(["train", str(template), str(data), "--epochs", "2", "--chunk-size", "50", "--out", "a"]) == 0
    captured = capsys.readouterr()
    assert "grounding 160 examples in chunks of 50: 100%" in captured.err
    assert "ground networks of 4 chunks" in captured.out
    assert main(["train", str(template), str(data), "--epochs", "2", "--out", "b"]) == 0
    assert Path("a/predictions/train.tsv").read_text() == Path("b/predictions/train.tsv").read_text()
    assert main(["train", str(template), str(data), "--chunk-size", "-1", "--out", "c"]) == 2


def test_errors_in_a_chunk_name_the_whole_sets_example_and_line(tmp_path):
    from neuralogic_py.errors import GroundingError

    molecules = [f"c(a{i}), o(b{i}), bond(a{i}, b{i}, x), bond(b{i}, a{i}, x), b_1(x)." for i in range(12)]
    (tmp_path / "e.txt").write_text("\n".join(molecules) + "\n")
    (tmp_path / "q.txt").write_text("".join("1.0 nothing.\n" if i == 9 else "1.0 predict.\n" for i in range(12)))
    model = Model(REPO / "templates" / "gnn.rules", chunk_size=4)
    with pytest.raises(GroundingError, match=r"nothing in example 10 \(no rule derives nothing/0\)\n"):
        model.build(tmp_path / "e.txt", queries=tmp_path / "q.txt")
    molecules[6] = "c(a1), bond(a1, b1 x)."
    (tmp_path / "e.txt").write_text("\n".join(molecules) + "\n")
    with pytest.raises(Exception) as info:
        model.build(tmp_path / "e.txt", queries=tmp_path / "q.txt")
    with pytest.raises(Exception) as whole:
        load_examples(tmp_path / "e.txt")
    assert str(info.value) == str(whole.value) and (info.value.span.line, info.value.span.column) == (7, 20)
