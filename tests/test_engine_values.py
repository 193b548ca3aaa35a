"""Forward values of every activation, combination, aggregation and loss, computed by hand
or taken from the reference engine's unit tests (language.md §8.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralogic_py.engine import Segments, grad, ops


def col(*values: float) -> np.ndarray:
    """One column-vector value as a batch of one: shape (1, k, 1)."""
    return np.array(values, dtype=float).reshape(1, -1, 1)


def scalars(*values: float) -> np.ndarray:
    """A batch of scalar values: shape (n, 1, 1)."""
    return np.array(values, dtype=float).reshape(-1, 1, 1)


def out(tensor) -> np.ndarray:
    return tensor.value.ravel()


# -- activations ------------------------------------------------------------------------------

def test_sigmoid_is_clamped_beyond_100_like_the_reference():
    x = scalars(0.0, 2.0, 100.0, 100.5, -100.0, -100.5, -800.0)
    assert out(ops.sigmoid(x)).tolist() == pytest.approx(
        [0.5, 1 / (1 + math.exp(-2)), 1.0, 1.0, 1 / (1 + math.exp(100)), 0.0, 0.0], rel=1e-15, abs=0)
    assert out(ops.sigmoid(x))[5] == 0.0  # exactly 0, not 1/(1+e^100.5)
    assert grad(lambda v: ops.sum_all(ops.sigmoid(v)))(scalars(100.5, -100.5, 0.0)).ravel().tolist() == [0, 0, 0.25]


def test_elementwise_activations():
    x = scalars(-2.0, 0.0, 0.5, 3.0)
    assert out(ops.tanh(x)) == pytest.approx([math.tanh(-2), 0.0, 0.46211715726000974, math.tanh(3)], rel=1e-15)
    assert out(ops.relu(x)).tolist() == [0.0, 0.0, 0.5, 3.0]
    assert out(ops.leakyrelu(x)).tolist() == [-0.02, 0.0, 0.5, 3.0]
    assert out(ops.signum(x)).tolist() == [0.0, 0.0, 1.0, 1.0]  # a step, not sign: signum(-2) = 0
    assert ops.identity(x) is x
    assert out(ops.reverse(scalars(0.2))) == pytest.approx([0.8])
    positive = scalars(0.25, 1.0, 4.0)
    assert out(ops.exp(positive)) == pytest.approx([math.exp(0.25), math.e, math.exp(4)], rel=1e-15)
    assert out(ops.log(positive)) == pytest.approx([math.log(0.25), 0.0, math.log(4)], rel=1e-15)
    assert out(ops.sqrt(positive)).tolist() == [0.5, 1.0, 2.0]
    assert out(ops.inverse(positive)).tolist() == [4.0, 1.0, 0.25]


def test_lukasiewicz_is_a_steep_shifted_sigmoid_clamped_on_its_input():
    x = scalars(0.0, 1.0, 101.0, -101.0)
    assert out(ops.lukasiewicz(x)) == pytest.approx(
        [1 / (1 + math.exp(-0.5)), 1 / (1 + math.exp(-6.5)), 1.0, 0.0], rel=1e-15, abs=0)
    slope = grad(lambda v: ops.sum_all(ops.lukasiewicz(v)))(scalars(0.0)).item()
    y = 1 / (1 + math.exp(-0.5))
    assert slope == pytest.approx(6 * y * (1 - y), rel=1e-15)


REFERENCE_INPUT = col(0.1, 0.5, 0.7, -0.1, 0.2, 0.0, 0.35, -2.0)


def test_softmax_matches_the_reference_unit_test():
    expected = [0.1169705, 0.17449947, 0.21313414, 0.09576734, 0.12927239, 0.10583928, 0.15019309, 0.01432379]
    assert out(ops.softmax(REFERENCE_INPUT)) == pytest.approx(expected, abs=1e-7)
    assert out(ops.softmax(col(1000.0, 1000.0))).tolist() == [0.5, 0.5]  # stabilised by the max


def test_sparsemax_matches_the_reference_unit_test():
    assert out(ops.sparsemax(REFERENCE_INPUT)) == pytest.approx(
        [0, 0.3125, 0.5125, 0, 0.0125, 0, 0.1625, 0], abs=1e-10)
    assert out(ops.sparsemax(col(0.0, 0.0, 0.0))) == pytest.approx([1 / 3] * 3, abs=1e-15)


def test_norm_standardises_each_value_with_epsilon_inside_the_root():
    expected = np.array([-1.0, 0.0, 1.0]) / math.sqrt(2 / 3 + 1e-10)
    assert out(ops.norm(col(1.0, 2.0, 3.0))) == pytest.approx(expected, rel=1e-15)
    assert out(ops.norm(col(5.0, 5.0))).tolist() == [0.0, 0.0]  # constant value: no division by zero


def test_transpose_switches_orientation():
    row = np.array([[[1.0, 2.0, 3.0]]])
    assert ops.transpose(row).value.shape == (1, 3, 1)
    assert ops.transpose(np.arange(6.0).reshape(1, 2, 3)).value[0].tolist() == [[0, 3], [1, 4], [2, 5]]


# -- combinations -----------------------------------------------------------------------------

def test_soft_negation_worked_example():
    """debug/negation_soft: h = 0.1 + (1 - 0.2) with identity activations."""
    assert out(ops.combine_sum(scalars(0.1), ops.reverse(scalars(0.2)))) == pytest.approx([0.9], rel=1e-15)


def test_sum_avg_broadcast_a_scalar_offset_over_vectors():
    offset = np.array([[1.0]])
    assert out(ops.combine_sum(offset, col(1.0, 2.0), col(10.0, 20.0))).tolist() == [12.0, 23.0]
    assert out(ops.combine_avg(offset, col(1.0, 2.0), col(10.0, 20.0))).tolist() == [4.0, 23 / 3]


def test_max_min_are_elementwise():
    a, b = col(1.0, 5.0), col(3.0, 2.0)
    assert out(ops.combine_max(a, b)).tolist() == [3.0, 5.0]
    assert out(ops.combine_min(a, b)).tolist() == [1.0, 2.0]


def test_max_ties_send_the_gradient_to_the_first_input():
    ga, gb = grad(lambda x, y: ops.sum_all(ops.combine_max(x, y)), argnums=(0, 1))(col(2.0, 1.0), col(2.0, 1.0))
    assert ga.ravel().tolist() == [1.0, 1.0] and gb.ravel().tolist() == [0.0, 0.0]


def test_count_elproduct_crosssum_concat_cossim():
    assert out(ops.combine_count(scalars(4.0), scalars(5.0), scalars(6.0))).tolist() == [3.0]
    assert out(ops.combine_elproduct(scalars(2.0), col(1.0, 3.0), col(4.0, 5.0))).tolist() == [8.0, 30.0]
    # first input varies slowest; a scalar offset counts as length 1 and is added everywhere
    assert out(ops.combine_crosssum(col(1.0, 2.0), col(10.0, 20.0, 30.0))).tolist() == [11, 21, 31, 12, 22, 32]
    assert out(ops.combine_crosssum(np.array([[0.5]]), col(1.0, 2.0))).tolist() == [1.5, 2.5]
    concatenated = ops.combine_concat(col(1.0, 2.0), np.array([[[3.0, 4.0, 5.0]]]), scalars(6.0))
    assert concatenated.value.shape == (1, 6, 1) and out(concatenated).tolist() == [1, 2, 3, 4, 5, 6]
    assert out(ops.combine_cossim(col(1.0, 0.0), col(1.0, 1.0))) == pytest.approx([1 / math.sqrt(2)], rel=1e-15)


def test_product_follows_the_reference_times_rules():
    row, column = np.array([[[1.0, 2.0, 3.0]]]), col(4.0, 5.0, 6.0)
    assert out(ops.combine_product(row, column)).tolist() == [32.0]  # row x column = dot
    assert ops.combine_product(column, row).value[0].tolist() == [[4, 8, 12], [5, 10, 15], [6, 12, 18]]
    matrix = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    assert out(ops.combine_product(matrix, column)).tolist() == [10.0, 10.0]  # matrix x column
    assert ops.combine_product(row, matrix.T).value[0].tolist() == [[4.0, 4.0]]  # row x matrix = row
    assert out(ops.combine_product(scalars(2.0), column, scalars(0.5))).tolist() == [4.0, 5.0, 6.0]
    with pytest.raises(ValueError, match=r"no matrix product of values shaped \(3, 1\) and \(3, 1\)"):
        ops.combine_product(column, col(1.0, 2.0, 3.0))  # column x column has no product


def test_softmax_and_sparsemax_combinations_over_scalar_inputs():
    xs = [scalars(v) for v in (0.1, 0.5, 0.7, -0.1, 0.2, 0.0, 0.35, -2.0)]
    assert out(ops.combine_sparsemax(*xs)) == pytest.approx([0, 0.3125, 0.5125, 0, 0.0125, 0, 0.1625, 0], abs=1e-10)
    assert out(ops.combine_softmax(*xs)) == pytest.approx(out(ops.softmax(REFERENCE_INPUT)), rel=1e-15)
    assert out(ops.combine_softmax(scalars(7.0))).tolist() == [1.0]  # one input gives 1


# -- aggregations -----------------------------------------------------------------------------

HEADS = Segments.from_offsets(np.array([0, 2, 5]))  # members 0-1 -> head 0, members 2-4 -> head 1


def test_aggregations_over_scalars():
    x = scalars(-10.0, -3.0, 1.0, 2.0, 6.0)
    assert out(ops.segment_min(x, HEADS)).tolist() == [-10.0, 1.0]  # Debug.minAgg: -10
    assert out(ops.segment_max(x, HEADS)).tolist() == [-3.0, 6.0]
    assert out(ops.segment_sum(x, HEADS)).tolist() == [-13.0, 9.0]
    assert out(ops.segment_mean(x, HEADS)).tolist() == [-6.5, 3.0]
    assert out(ops.segment_count(x, HEADS)).tolist() == [2.0, 3.0]
    assert ops.segment_concat(scalars(1, 2, 3, 4), Segments.from_offsets(np.array([0, 2, 4]))).value.tolist() == \
        [[[1.0], [2.0]], [[3.0], [4.0]]]


def test_vector_max_is_elementwise_and_ties_pick_the_first_member():
    x = np.array([[[1.0], [9.0]], [[4.0], [9.0]], [[0.0], [0.0]]])
    segments = Segments.from_offsets(np.array([0, 3]))
    assert out(ops.segment_max(x, segments)).tolist() == [4.0, 9.0]
    g = grad(lambda v: ops.sum_all(ops.segment_max(v, segments)))(x)
    assert g[:, :, 0].tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]


def test_softmax_aggregation():
    x = scalars(0.0, math.log(3.0), 5.0, 5.0)
    segments = Segments.from_offsets(np.array([0, 2, 4]))
    assert out(ops.segment_softmax(x, segments)) == pytest.approx([0.25, 0.75, 0.5, 0.5], rel=1e-15)
    assert ops.aggregate_softmax(x, segments).value.shape == (2, 2, 1)


def test_gather_copies_segment_rows_to_members():
    x = np.array([[[1.0]], [[2.0]], [[3.0]]])
    assert out(ops.gather(x, Segments(np.array([2, 0, 2, 1]), 3))).tolist() == [3.0, 1.0, 3.0, 2.0]


# -- losses -----------------------------------------------------------------------------------

def test_losses():
    assert out(ops.mse(col(1.0, 2.0), col(0.0, 0.0))).tolist() == [2.5]  # mean over elements
    assert out(ops.bce_logits(scalars(0.0, 800.0, -800.0), scalars(1.0, 1.0, 1.0))) == pytest.approx(
        [math.log(2), 0.0, 800.0], rel=1e-15)
    assert out(ops.softmax_ce_logits(col(0.0, 0.0), col(1.0, 0.0))) == pytest.approx([math.log(2)], rel=1e-15)
    assert out(ops.softmax_ce_logits(col(1000.0, 0.0), col(0.0, 1.0))) == pytest.approx([1000.0], rel=1e-15)
    assert out(ops.crossentropy(scalars(0.8, 0.8, 0.0), scalars(1.0, 0.0, 1.0))) == pytest.approx(
        [-math.log(0.8), -math.log(0.2), 100.0], rel=1e-14)
    assert out(ops.crossentropy(col(0.25, 0.75), col(0.0, 1.0))) == pytest.approx([-math.log(0.75)], rel=1e-15)


def test_binary_cross_entropy_gradient_is_sigmoid_minus_target():
    z = scalars(-1.0, 0.5)
    g = grad(lambda v: ops.sum_all(ops.bce_logits(v, scalars(1.0, 0.0))))(z)
    assert g.ravel() == pytest.approx([1 / (1 + math.e) - 1, 1 / (1 + math.exp(-0.5))], rel=1e-15)
