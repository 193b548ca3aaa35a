"""The tape: recording, reverse accumulation, constants, and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from neuralogic_py.engine import OPS, Tensor, backward, constant, grad, ops, value_and_grad, variable
from neuralogic_py.engine.tape import defop


def test_a_variable_used_twice_accumulates_both_paths():
    x = np.array([[3.0]])
    assert grad(lambda v: ops.sum_all(ops.multiply(v, v)))(x).item() == 6.0


def test_diamond_graph_gradient():
    # f = sum(tanh(x) * exp(x)): both branches meet again, backward must finish one node before its parents
    x = np.array([[0.3], [-0.7]])
    expected = (1 - np.tanh(x) ** 2) * np.exp(x) + np.tanh(x) * np.exp(x)
    assert grad(lambda v: ops.sum_all(ops.multiply(ops.tanh(v), ops.exp(v))))(x) == pytest.approx(expected, rel=1e-14)


def test_constants_are_not_recorded():
    result = ops.tanh(np.ones((2, 1, 1)))
    assert isinstance(result, Tensor) and not result.requires_grad and result.parents == ()
    assert ops.tanh(constant(np.ones((2, 1, 1)))).parents == ()


def test_only_differentiable_arguments_become_parents():
    w, x = variable(np.ones((2, 3))), np.ones((4, 3, 1))
    y = ops.matmul(w, x)
    assert [argnum for argnum, _ in y.parents] == [0] and y.primitive is OPS["matmul"]


def test_unreached_variables_get_zero_gradients():
    used, unused = variable(np.ones((1, 1))), variable(np.full((2, 2), 5.0))
    g_used, g_unused = backward(ops.sum_all(ops.exp(used)), [used, unused])
    assert g_used.item() == pytest.approx(np.e) and g_unused.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_zero_derivative_ops_cut_the_tape():
    x = variable(np.full((3, 1, 1), 0.5))
    stepped = ops.signum(x)
    assert not stepped.requires_grad
    assert backward(ops.sum_all(ops.add(stepped, x)), [x])[0].ravel().tolist() == [1.0, 1.0, 1.0]


def test_gradients_of_intermediate_tensors_can_be_read():
    x = variable(np.array([[2.0]]))
    hidden = ops.multiply(x, x)
    g_hidden, g_x = backward(ops.sum_all(ops.exp(hidden)), [hidden, x])
    assert g_hidden.item() == pytest.approx(np.exp(4.0)) and g_x.item() == pytest.approx(4 * np.exp(4.0))


def test_non_scalar_output_needs_a_seed():
    x = variable(np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="seed"):
        backward(ops.tanh(x), [x])
    seeded = backward(ops.multiply(x, np.array([[3.0]])), [x], seed=np.array([[[1.0]], [[2.0]]]))
    assert seeded[0].ravel().tolist() == [3.0, 6.0]


def test_a_target_has_no_gradient():
    o, t = variable(np.ones((2, 1, 1))), variable(np.zeros((2, 1, 1)))
    with pytest.raises(TypeError, match="mse has no gradient with respect to argument 1"):
        ops.mse(o, t)


def test_value_and_grad_with_several_arguments():
    value, (ga, gb) = value_and_grad(lambda a, b: ops.sum_all(ops.multiply(a, b)), argnums=(0, 1))(
        np.array([[2.0]]), np.array([[5.0]]))
    assert value.item() == 10.0 and ga.item() == 5.0 and gb.item() == 2.0


def test_a_function_that_ignores_its_variables_has_zero_gradient():
    assert grad(lambda v: ops.sum_all(np.ones((1, 1))))(np.array([[4.0]])).item() == 0.0


def test_primitive_names_are_unique():
    with pytest.raises(ValueError, match="registered twice"):
        defop("tanh", np.tanh)
