"""Optimizers, schedules, initializers and losses against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralogic_py.engine import backward, variable
from neuralogic_py.errors import NeuralogicError
from neuralogic_py.learn import initializers as init
from neuralogic_py.learn import losses
from neuralogic_py.learn.optimizers import SGD, Adam, ArithmeticDecay, GeometricDecay, make_optimizer

# -- optimizers -----------------------------------------------------------------------------------

def adam_step(w, g, lr=0.001, m=0.0, v=0.0, t=1):
    opt = Adam(lr=lr)
    params = {"w": np.array([[w]])}
    opt._m["w"], opt._v["w"] = np.array([[m]]), np.array([[v]])
    opt.steps = t - 1
    opt.step(params, {"w": np.array([[g]])})
    return params["w"][0, 0]


def test_adam_matches_the_reference_unit_test():
    """language.md §8.1 AdamOptimizerTest; the reference's g is the descent direction, our gradient is -g."""
    assert adam_step(-0.88, -0.4) == pytest.approx(-0.879000000025, abs=1e-15)
    assert adam_step(-0.88, -0.4, m=0.017, v=0.01, t=2) == pytest.approx(-0.8799423078496942, abs=1e-15)


def test_adam_first_steps_by_hand():
    opt = Adam(lr=0.1)
    w = np.array([[1.0, -2.0]])
    params = {"w": w}
    opt.step(params, {"w": np.array([[0.5, -4.0]])})
    # step 1: m_hat = g, v_hat = g^2 -> w -= lr * sign(g) (up to eps)
    np.testing.assert_allclose(w, [[0.9, -1.9]], atol=1e-8)
    opt.step(params, {"w": np.array([[1.0, 0.0]])})
    m = 0.9 * 0.1 * 0.5 + 0.1 * 1.0, 0.9 * 0.1 * -4.0
    v = 0.999 * 0.001 * 0.25 + 0.001 * 1.0, 0.999 * 0.001 * 16.0
    w1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 4.0 / (4.0 + 1e-8)
    expect = [w1[0] - 0.1 * (m[0] / 0.19) / (math.sqrt(v[0] / (1 - 0.999 ** 2)) + 1e-8),
              w1[1] - 0.1 * (m[1] / 0.19) / (math.sqrt(v[1] / (1 - 0.999 ** 2)) + 1e-8)]
    np.testing.assert_allclose(w, [expect], rtol=1e-12)
    assert params["w"] is w  # updated in place


def test_sgd_momentum_and_weight_decay_by_hand():
    w = np.array([[1.0]])
    SGD(lr=0.1).step({"w": w}, {"w": np.array([[2.0]])})
    assert w[0, 0] == pytest.approx(0.8)
    opt = SGD(lr=0.1, momentum=0.5, weight_decay=0.1)
    w = np.array([[1.0]])
    opt.step({"w": w}, {"w": np.array([[2.0]])})  # g = 2 + 0.1 = 2.1, v = 2.1
    assert w[0, 0] == pytest.approx(1.0 - 0.21)
    opt.step({"w": w}, {"w": np.array([[0.0]])})  # g = 0.079, v = 1.05 + 0.079
    assert w[0, 0] == pytest.approx(0.79 - 0.1 * (1.05 + 0.079))


def test_decoupled_weight_decay_and_clipping():
    w = np.array([[2.0]])
    Adam(lr=0.1, weight_decay=0.5, decoupled=True).step({"w": w}, {"w": np.array([[3.0]])})
    assert w[0, 0] == pytest.approx(2.0 - 0.1 * 0.5 * 2.0 - 0.1, abs=1e-7)
    w1, w2 = np.array([[0.0]]), np.array([[0.0]])
    SGD(lr=1.0, clip_norm=1.0).step({"a": w1, "b": w2}, {"a": np.array([[3.0]]), "b": np.array([[4.0]])})
    assert (w1[0, 0], w2[0, 0]) == pytest.approx((-0.6, -0.8))


def test_parameters_without_gradient_are_untouched():
    fixed, free = np.array([[1.0]]), np.array([[1.0]])
    opt = Adam(lr=0.5)
    opt.step({"fixed": fixed, "free": free}, {"free": np.array([[1.0]])})
    assert fixed[0, 0] == 1.0 and free[0, 0] == pytest.approx(0.5)


def test_schedules_and_reset():
    geo = GeometricDecay(0.5, every=10)
    assert [geo(1.0, e) for e in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert ArithmeticDecay(4)(1.0, 3) == pytest.approx(0.25)
    opt = make_optimizer("sgd", lr=0.2, schedule=geo)
    opt.start_epoch(10)
    assert opt.lr == pytest.approx(0.1)
    opt.reset()
    assert opt.lr == 0.2 and opt.steps == 0
    assert make_optimizer("adam").lr == 0.001 and make_optimizer("sgd").lr == 0.1
    with pytest.raises(NeuralogicError, match="unknown optimizer"):
        make_optimizer("rmsprop")
    with pytest.raises(NeuralogicError, match="positive"):
        Adam(lr=-1)


# -- initializers -------------------------------------------------------------------------------

def test_initializers_are_seeded_and_bounded():
    for name in init.INITIALIZERS:
        a = init.make_initializer(name)((4, 3), np.random.default_rng(7))
        b = init.make_initializer(name)((4, 3), np.random.default_rng(7))
        assert a.shape == (4, 3) and np.array_equal(a, b)
    draws = init.Uniform()((1000, 10), np.random.default_rng(0))
    assert draws.min() >= -1 and draws.max() < 1 and abs(draws.mean()) < 0.02
    assert np.all(init.Constant()((2, 2), None) == 0.1)


@pytest.mark.parametrize("shape, glorot, he", [
    ((1, 1), math.sqrt(3), math.sqrt(6)),
    ((5, 1), math.sqrt(1), math.sqrt(6)),  # column vector: sqrt(6/(n+1)), he sqrt(6)
    ((1, 5), math.sqrt(1), math.sqrt(6 / 5)),  # row vector: he sqrt(6/n)
    ((8, 2), math.sqrt(0.6), math.sqrt(3)),
])
def test_glorot_and_he_limits_follow_the_reference(shape, glorot, he):
    rng = np.random.default_rng(1)
    g = init.Glorot()((200, *shape), rng)
    h = init.He()((200, *shape), rng)
    assert np.abs(g).max() <= glorot and np.abs(g).max() > 0.9 * glorot
    assert np.abs(h).max() <= he and np.abs(h).max() > 0.9 * he


# -- losses -----------------------------------------------------------------------------------

def test_losses_by_hand_and_their_gradients():
    o = np.array([[[0.5]], [[2.0]]])
    t = np.array([[[1.0]], [[0.0]]])
    mse = losses.MSE()
    assert mse.per_sample(o, t).value.tolist() == [0.25, 4.0]
    z = variable(o)
    value = losses.BinaryCrossEntropyLogits().mean(z, t)
    sig = 1 / (1 + np.exp(-o[:, 0, 0]))
    assert value.value == pytest.approx(np.mean([-math.log(sig[0]), -math.log(1 - sig[1])]))
    (g,) = backward(value, [z])
    np.testing.assert_allclose(g[:, 0, 0], (sig - t[:, 0, 0]) / 2)
    np.testing.assert_allclose(losses.BinaryCrossEntropyLogits().predictions(o)[:, 0, 0], sig)
    weighted = mse.mean(o, t, weights=np.array([3.0, 1.0]))
    assert weighted.value == pytest.approx((3 * 0.25 + 4.0) / 4)


def test_softmax_cross_entropy_on_vectors():
    z = np.array([[[1.0], [2.0], [0.5]]])
    t = np.array([[[0.0], [1.0], [0.0]]])
    p = np.exp(z[0, :, 0]) / np.exp(z[0, :, 0]).sum()
    loss = losses.SoftmaxCrossEntropyLogits()
    assert loss.per_sample(z, t).value[0] == pytest.approx(-math.log(p[1]))
    np.testing.assert_allclose(loss.predictions(z)[0, :, 0], p)


def test_output_inference_follows_the_reference():
    binary = [np.array([[1.0]]), np.array([[0.0]])]
    onehot = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])]
    real = [np.array([[0.3]]), np.array([[2.0]])]
    s = losses.infer_output(binary, "sigmoid")
    assert (s.task, s.loss.name, s.output_activation) == ("classification", "bce_logits", "identity")
    s = losses.infer_output(onehot, None)
    assert (s.loss.name, s.output_activation) == ("softmax_crossentropy", "identity")
    s = losses.infer_output(binary, "tanh", squish=False)
    assert (s.loss.name, s.output_activation) == ("crossentropy", "sigmoid")
    assert losses.infer_output(binary, "sigmoid", squish=False).output_activation is None
    s = losses.infer_output(real, "tanh")
    assert (s.task, s.loss.name, s.output_activation) == ("regression", "mse", "identity")
    assert losses.infer_output(real, "relu").output_activation is None
    assert losses.resolve_loss("mse", binary, "sigmoid").output_activation is None
    with pytest.raises(NeuralogicError, match="unknown loss"):
        losses.make_loss("hinge")
