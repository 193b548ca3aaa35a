"""Segments: construction, unsorted members, empty segments, and the kernels' agreement."""

from __future__ import annotations

import numpy as np
import pytest

from neuralogic_py.engine import Segments

rng = np.random.default_rng(3)


def test_offsets_and_ids_describe_the_same_segments():
    by_offsets = Segments.from_offsets(np.array([0, 2, 2, 5]))
    assert by_offsets.ids.tolist() == [0, 0, 2, 2, 2]
    assert by_offsets.counts.tolist() == [2, 0, 3] and by_offsets.n_segments == 3


@pytest.mark.parametrize("value_shape", [(1, 1), (3, 1), (2, 2)])
def test_unsorted_members_reduce_like_a_per_segment_loop(value_shape):
    ids = rng.integers(0, 6, size=40)
    ids[:6] = np.arange(6)  # every segment non-empty
    seg = Segments(ids, 6)
    x = rng.normal(size=(40, *value_shape))
    members = [x[ids == s] for s in range(6)]
    assert seg.sum(x) == pytest.approx(np.stack([m.sum(0) for m in members]), rel=1e-13)
    assert seg.mean(x) == pytest.approx(np.stack([m.mean(0) for m in members]), rel=1e-13)
    assert seg.reduce(np.maximum, x).tolist() == np.stack([m.max(0) for m in members]).tolist()
    assert seg.reduce(np.minimum, x).tolist() == np.stack([m.min(0) for m in members]).tolist()
    softmax = seg.softmax(x)
    for s in range(6):
        e = np.exp(members[s] - members[s].max(0))
        assert softmax[ids == s] == pytest.approx(e / e.sum(0), rel=1e-13)


def test_concat_keeps_member_order_inside_each_segment_even_when_unsorted():
    seg = Segments(np.array([1, 0, 1, 0]), 2)
    x = np.arange(4.0).reshape(4, 1, 1)
    assert seg.concat(x)[:, :, 0].tolist() == [[1.0, 3.0], [0.0, 2.0]]
    assert seg.split(seg.concat(x), (1, 1)).tolist() == x.tolist()


def test_sum_of_an_empty_segment_is_zero_but_other_reductions_refuse_it():
    seg = Segments.from_offsets(np.array([0, 2, 2, 3]))
    x = np.ones((3, 2, 1))
    assert seg.sum(x)[:, :, 0].tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
    assert seg.sum(np.ones((3, 1, 1))).ravel().tolist() == [2.0, 0.0, 1.0]
    for reduce in (seg.mean, lambda v: seg.reduce(np.maximum, v), seg.softmax):
        with pytest.raises(ValueError, match="empty segment"):
            reduce(x)


def test_concat_needs_equal_segment_sizes():
    with pytest.raises(ValueError, match="same non-zero number of members"):
        Segments.from_offsets(np.array([0, 1, 3])).concat(np.ones((3, 1, 1)))


def test_route_to_extreme_gives_each_element_to_exactly_one_member():
    ids = np.array([1, 0, 1, 1, 0])
    x = np.array([[5.0, 1.0], [2.0, 2.0], [5.0, 7.0], [3.0, 7.0], [2.0, 0.0]])[:, :, None]
    seg = Segments(ids, 2)
    g = np.array([[10.0, 20.0], [30.0, 40.0]])[:, :, None]
    routed = seg.route_to_extreme(g, x, seg.reduce(np.maximum, x))[:, :, 0]
    # segment 1 = members 0, 2, 3: max (5, 7) attained first by member 0 and member 2;
    # segment 0 = members 1, 4: max (2, 2) attained first by member 1 in both elements
    assert routed.tolist() == [[30, 0], [10, 20], [0, 40], [0, 0], [0, 0]]


def test_bad_ids_are_rejected():
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        Segments(np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="never decrease"):
        Segments.from_offsets(np.array([0, 3, 2]))


def test_arrays_must_have_one_row_per_member_or_segment():
    seg = Segments.from_offsets(np.array([0, 2, 3]))
    with pytest.raises(ValueError, match="gather from an array of 3 rows where the segments expect 2"):
        seg.gather(np.ones((3, 1, 1)))
    with pytest.raises(ValueError, match="sum an array of 2 rows where the segments expect 3"):
        seg.sum(np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="reduce an array of 4 rows"):
        seg.reduce(np.maximum, np.ones((4, 1, 1)))


@pytest.mark.parametrize("members", [12, 400])
def test_sum_kernels_add_each_segment_in_member_order(members):
    ids = rng.integers(0, 7, size=members)
    ids[:7] = rng.permutation(7)  # every segment non-empty, members unsorted
    seg = Segments(ids, 7)
    x = rng.normal(size=(members, 3, 1))
    expected = np.zeros((7, 3, 1))
    for j in range(members):  # the same additions in the same order, so equal to the last bit
        expected[ids[j]] += x[j]
    assert seg.sum(x).tolist() == expected.tolist()
    dense = np.zeros((7, members))
    dense[ids, np.arange(members)] = 1.0
    assert seg.matrix.toarray().tolist() == dense.tolist()
    assert seg.matrix.has_canonical_format
