"""Metrics against hand-computed values, brute-force definitions and (when installed) scikit-learn."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralogic_py.learn import metrics as m

TARGETS = [1, 0, 1, 1, 0]
SCORES = [0.8, 0.6, 0.7, 0.4, 0.9]


# -- hand-computed ----------------------------------------------------------------------------

def test_reference_auc_example():
    """language.md §8.1: the empirical AUC of this example is 1/3 (2 of 6 positive-negative pairs ordered)."""
    assert m.auc_roc(TARGETS, SCORES) == pytest.approx(1 / 3)


def test_hand_computed_binary_metrics():
    # predicted positive (> 0.5): .8 .6 .7 .9 -> correct: 1 (0.8), 0.7; wrong: 0.6, 0.4, 0.9
    assert m.accuracy(TARGETS, SCORES) == pytest.approx(2 / 5)
    assert m.majority(TARGETS) == pytest.approx(3 / 5)
    assert m.dispersion(TARGETS, SCORES) == pytest.approx((0.8 + 0.7 + 0.4) / 3 - (0.6 + 0.9) / 2)
    # ranked high to low: .9(-) .8(+) .7(+) .6(-) .4(+); precision at the positives: 1/2, 2/3, 3/5
    assert m.auc_pr(TARGETS, SCORES) == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 3)
    # best: everything positive (3/5) or nothing... or cut at .95 -> 2/5; cut below .4 -> 3/5
    best, threshold = m.best_threshold_accuracy(TARGETS, SCORES)
    assert best == pytest.approx(3 / 5)
    assert m.accuracy(TARGETS, SCORES, threshold) == pytest.approx(best)
    assert m.mse([[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [0.0, 1.0]]) == pytest.approx(0.125)


def test_best_threshold_separates_perfectly_ranked_scores():
    best, threshold = m.best_threshold_accuracy([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.35])
    assert best == 1.0 and 0.2 < threshold < 0.3


def test_minus_one_plus_one_labels_use_threshold_zero():
    assert m.decision_threshold([-1, 1, 1]) == 0.0
    assert m.accuracy([-1, 1, 1, -1], [-0.3, 0.2, 0.9, 0.1]) == pytest.approx(3 / 4)


def test_multiclass_accuracy_and_majority():
    t = np.eye(3)[[0, 1, 2, 2]]
    s = np.array([[.5, .3, .2], [.1, .1, .8], [.2, .2, .6], [.0, .1, .9]])
    assert m.accuracy(t, s) == pytest.approx(3 / 4)
    assert m.majority(t) == pytest.approx(2 / 4)
    e = m.evaluate(t, s, error=0.3)
    assert e.kind == "multiclass" and math.isnan(e.auc_roc)


def test_single_class_gives_nan_aucs():
    assert math.isnan(m.auc_roc([1, 1], [0.2, 0.3]))
    assert math.isnan(m.auc_pr([0, 0], [0.2, 0.3]))
    assert m.majority([1, 1]) == 1.0


def test_evaluation_line_reads_like_the_reference():
    line = m.evaluate(TARGETS, SCORES, error=0.617).line()
    assert line.startswith("accuracy: 40%, disp: ")
    assert "error: 0.617" in line and "(best thresh acc: 60%)" in line and "(maj. 60%)" in line
    assert "(AUC-ROC: 0.3333)" in line and "(AUC-PR: 0.5889)" in line


# -- brute-force definitions --------------------------------------------------------------------

def brute_auc_roc(y, s):
    pairs = [(a, b) for a, b in itertools.product(range(len(y)), repeat=2) if y[a] and not y[b]]
    return sum(1.0 if s[a] > s[b] else 0.5 if s[a] == s[b] else 0.0 for a, b in pairs) / len(pairs)


def brute_average_precision(y, s):
    total, prev_recall = 0.0, 0.0
    for cut in sorted(set(s), reverse=True):
        retrieved = [i for i in range(len(s)) if s[i] >= cut]
        tp = sum(y[i] for i in retrieved)
        recall = tp / sum(y)
        total += (recall - prev_recall) * tp / len(retrieved)
        prev_recall = recall
    return total


def brute_best_accuracy(y, s):
    cuts = [c - 1e-9 for c in s] + [max(s) + 1.0]
    return max(np.mean([(si > c) == yi for si, yi in zip(s, y)]) for c in cuts)


labels_and_scores = st.integers(2, 30).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
    st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n)))


@settings(max_examples=150, deadline=None)
@given(labels_and_scores)
def test_aucs_and_best_accuracy_equal_their_definitions(data):
    y, s = data
    t = [1.0 if v else 0.0 for v in y]
    assert m.auc_roc(t, s) == pytest.approx(brute_auc_roc(y, s))
    assert m.auc_pr(t, s) == pytest.approx(brute_average_precision(y, s))
    assert m.best_threshold_accuracy(t, s)[0] == pytest.approx(brute_best_accuracy(y, s))


def test_against_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        y[0], y[1] = 0, 1
        s = np.round(rng.random(40), 1)  # ties
        assert m.auc_roc(y, s) == pytest.approx(sk.roc_auc_score(y, s))
        assert m.auc_pr(y, s) == pytest.approx(sk.average_precision_score(y, s))
        assert m.accuracy(y, s) == pytest.approx(sk.accuracy_score(y, s > 0.5))
        assert m.mse(y, s) == pytest.approx(sk.mean_squared_error(y, s))


# -- ranking --------------------------------------------------------------------------------------

def brute_ranks(queries, scores, labels, corrupt=None):
    out = []
    for i, q in enumerate(queries):
        if not labels[i]:
            continue
        candidates = []
        for j, r in enumerate(queries):
            if labels[j] or len(r) != len(q) or r[0] != q[0]:
                continue
            differ = [p for p in range(len(q) - 1) if q[p + 1] != r[p + 1]]
            if len(differ) == 1 and (corrupt is None or differ[0] in corrupt):
                candidates.append(scores[j])
        if candidates:
            out.append(1 + sum(c > scores[i] for c in candidates) + sum(c == scores[i] for c in candidates) / 2)
    return out


def test_ranks_hand_computed():
    queries = [("r", "a", "likes", "b"), ("r", "a", "likes", "c"), ("r", "a", "likes", "d"),
               ("r", "x", "likes", "b"), ("r", "a", "hates", "b"), ("r", "z", "hates", "y")]
    labels = [1, 0, 0, 0, 0, 0]
    scores = [0.5, 0.7, 0.5, 0.1, 0.9, 0.99]
    r = m.ranks(queries, scores, labels)
    # corruptions of r(a,likes,b): c (0.7 above), d (tie), x (below), hates (above); z.. differs twice
    assert r.ranks.tolist() == [1 + 2 + 0.5]
    assert r.mrr == pytest.approx(1 / 3.5)
    assert r.hits(3) == 0.0 and r.hits(4) == 1.0
    objects_only = m.ranks(queries, scores, labels, corrupt=(2,))
    assert objects_only.ranks.tolist() == [1 + 1 + 0.5]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("pq"), st.sampled_from("abc"), st.sampled_from("xy"),
                          st.sampled_from("abc"), st.booleans(), st.sampled_from([0.1, 0.4, 0.8])),
                min_size=1, max_size=25),
       st.sampled_from([None, (0,), (2,), (0, 2)]))
def test_ranks_equal_brute_force(rows, corrupt):
    queries = [r[:4] for r in rows]
    labels = [r[4] for r in rows]
    scores = [r[5] for r in rows]
    got = m.ranks(queries, scores, labels, corrupt)
    want = brute_ranks(queries, scores, labels, corrupt)
    assert sorted(got.ranks.tolist()) == pytest.approx(sorted(want))


def test_rank_values_equal_scipys_average_and_dense_ranks():
    from scipy.stats import rankdata

    from neuralogic_py.learn.metrics import rank_values

    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.integers(0, 5, rng.integers(0, 30)).astype(float)
        assert np.array_equal(rank_values(x), rankdata(x))
        assert np.array_equal(rank_values(x, "dense"), rankdata(x, method="dense"))
