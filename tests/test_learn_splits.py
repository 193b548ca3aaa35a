"""Stratified cross-validation folds and validation hold-outs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralogic_py.errors import NeuralogicError
from neuralogic_py.learn.splits import sample_classes, stratified_folds, stratified_holdout


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2]), min_size=6, max_size=80), st.integers(2, 6), st.integers(0, 9))
def test_folds_partition_and_stratify(classes, k, seed):
    classes = np.array(classes)
    if k > len(classes):
        return
    folds = stratified_folds(classes, k, np.random.default_rng(seed))
    assert len(folds) == k
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(len(classes)))  # disjoint and covering
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for c in np.unique(classes):
        per_fold = [int((classes[f] == c).sum()) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1  # each class spread evenly


def test_mutagenesis_like_folds_keep_the_class_ratio():
    classes = np.array([1] * 125 + [0] * 63)
    folds = stratified_folds(classes, 10, np.random.default_rng(0))
    positives = [int(classes[f].sum()) for f in folds]
    assert set(positives) <= {12, 13} and sum(positives) == 125
    again = stratified_folds(classes, 10, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))  # seeded


def test_holdout_is_stratified_and_disjoint():
    classes = np.array([1] * 30 + [0] * 10)
    train, val = stratified_holdout(classes, 0.2, np.random.default_rng(1))
    assert len(val) == 8 and classes[val].sum() == 6
    assert not set(train) & set(val) and len(train) + len(val) == 40


def test_classes_of_targets_and_errors():
    assert sample_classes([[1.0], [0.0], [1.0]]).tolist() == [1, 0, 1]
    assert sample_classes(np.eye(3)[[2, 0]]).tolist() == [2, 0]
    with pytest.raises(NeuralogicError, match="at least 3 samples"):
        stratified_folds(np.array([0, 1]), 3, np.random.default_rng())
    with pytest.raises(NeuralogicError, match="strictly between"):
        stratified_holdout(np.array([0, 1]), 1.5, np.random.default_rng())
