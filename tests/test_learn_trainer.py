"""The training loop on a small differentiable network built from engine ops (no template needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralogic_py.engine import backward, ops, variable
from neuralogic_py.learn.losses import MSE, BinaryCrossEntropyLogits
from neuralogic_py.learn.optimizers import SGD, Adam
from neuralogic_py.learn.trainer import Scorer, TrainingConfig, TrainingError, train


class LogisticNet:
    """outputs = x_i . w + b for the requested samples: the protocol the trainer needs."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x[:, None, :]  # (n, 1, features): one row-vector value per sample
        self.calls: list[np.ndarray] = []

    def _out(self, w, b, samples):
        return ops.add(ops.matmul(self.x[samples], w), b)

    def forward(self, params, samples):
        return self._out(params["w"], params["b"], samples).value

    def value_and_grad(self, params, loss, targets, samples, weights):
        self.calls.append(np.array(samples))
        w, b = variable(params["w"]), variable(params["b"])
        value = loss.mean(self._out(w, b, samples), targets, weights)
        gw, gb = backward(value, [w, b])
        return float(value.value), {"w": gw, "b": gb}

    def explain_nonfinite(self, params, samples, loss, targets):
        return "neuron out(0) of rule `out :- x.`"


def separable(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    return x, y.reshape(n, 1, 1)


def setup(loss=None, n=40):
    x, y = separable(n)
    net = LogisticNet(x)
    params = {"w": np.zeros((2, 1)), "b": np.zeros((1, 1))}
    scorer = Scorer(net, loss or BinaryCrossEntropyLogits(), y, classification=True)
    return net, params, scorer


def test_full_batch_gradient_descent_learns_and_errors_fall():
    net, params, scorer = setup()
    history = train(scorer, params, SGD(lr=1.0), np.arange(40), TrainingConfig(epochs=60, batch_size=0),
                    np.random.default_rng(0))
    assert history.epochs == 60 and history.selection_set == "train"
    assert history.train_error[-1] < 0.5 * history.train_error[0]
    evaluation, _ = scorer.evaluate(params, np.arange(40))
    assert evaluation.accuracy >= 0.95
    assert all(len(c) == 40 for c in net.calls)


def test_online_updates_visit_every_sample_once_per_epoch_in_a_seeded_order():
    net, params, scorer = setup()
    train(scorer, params, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=2, batch_size=1),
          np.random.default_rng(5))
    order = [int(c[0]) for c in net.calls]
    assert len(order) == 80 and sorted(order[:40]) == list(range(40)) and sorted(order[40:]) == list(range(40))
    assert order[:40] != list(range(40)) and order[:40] != order[40:]  # shuffled, differently each epoch
    net2, params2, scorer2 = setup()
    train(scorer2, params2, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=2, batch_size=1),
          np.random.default_rng(5))
    assert [int(c[0]) for c in net2.calls] == order and np.array_equal(params["w"], params2["w"])
    net3, params3, scorer3 = setup()
    train(scorer3, params3, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=1, batch_size=16, shuffle="none"),
          np.random.default_rng(5))
    assert [c.tolist() for c in net3.calls] == [list(range(16)), list(range(16, 32)), list(range(32, 40))]


def test_fixed_batches_are_dealt_once_and_visited_in_new_orders():
    net, params, scorer = setup()
    train(scorer, params, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=3, batch_size=16),
          np.random.default_rng(2))
    batches = [tuple(sorted(c.tolist())) for c in net.calls]
    assert len(set(batches)) == 3 and sorted(len(b) for b in set(batches)) == [8, 16, 16]
    assert sorted(i for b in set(batches) for i in b) == list(range(40))
    net, params, scorer = setup()
    train(scorer, params, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=3, batch_size=16, shuffle="samples"),
          np.random.default_rng(2))
    assert len({tuple(sorted(c.tolist())) for c in net.calls}) > 3


def test_best_weights_are_restored_and_early_stopping_stops():
    _, params, scorer = setup()
    # a learning rate this large oscillates: the kept weights are those of the best evaluation
    history = train(scorer, params, SGD(lr=50.0), np.arange(30), TrainingConfig(epochs=40, batch_size=0, patience=3),
                    np.random.default_rng(0), validation=(scorer, np.arange(30, 40)))
    assert history.selection_set == "validation"
    errors = dict(history.selection_error)
    assert history.best_error == min(errors.values()) == errors[history.best_epoch]
    assert scorer.error(params, np.arange(30, 40)) == pytest.approx(history.best_error)
    assert history.stopped_early and history.epochs == history.best_epoch + 3


def test_selection_by_accuracy():
    _, params, scorer = setup()
    history = train(scorer, params, Adam(lr=0.1), np.arange(40), TrainingConfig(epochs=30, batch_size=8, select="accuracy"),
                    np.random.default_rng(0))
    assert history.best_epoch > 0
    assert scorer.evaluate(params, np.arange(40))[0].accuracy >= 0.95


def test_a_nan_stops_training_naming_where():
    _, params, scorer = setup(loss=MSE())
    scorer.targets = scorer.targets.copy()
    scorer.targets[7] = math.nan
    with pytest.raises(TrainingError) as e:
        train(scorer, params, SGD(lr=0.1), np.arange(40), TrainingConfig(epochs=1, batch_size=1, shuffle="none"),
              np.random.default_rng(0))
    message = str(e.value)
    assert "epoch 1, batch 8" in message and "the error is nan" in message and "out(0)" in message


def test_the_bar_advances_per_batch_with_the_running_loss_a_few_times_a_second(monkeypatch):
    import io

    from neuralogic_py.learn import trainer

    clock = [0.0]
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: clock[0])
    shown = trainer._Progress(TrainingConfig(progress=True), 0, 1, 400, 0.0)
    shown.bar.fp = io.StringIO()  # (tqdm's output is not what is tested here)
    redraws = []
    original = shown.bar.update
    monkeypatch.setattr(shown.bar, "update", lambda n: (redraws.append(n), original(n)))
    total = 0.0
    for b in range(400):  # a batch of 2 samples every 1/64 s: 6.25 s
        clock[0] += 1 / 64
        total += 2 * (1.0 / (b + 1))
        shown.batch(total, 2 * (b + 1))
    # redrawn every 0.25 s (16 batches): 25 times, each taking the batches since the last redraw
    assert redraws == [16] * 25 and shown.bar.n == 400 and shown.pending == 0
    assert shown.bar.postfix == f"loss {total / 800:.4g}"
    shown.close()


def test_the_bar_names_the_epoch_under_way(monkeypatch):
    import io

    from neuralogic_py.learn import trainer
    from neuralogic_py.learn.trainer import History

    clock = [0.0]
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: clock[0])
    shown = trainer._Progress(TrainingConfig(progress=True), 0, 40, 4, 0.0)
    shown.bar.fp = io.StringIO()
    history = History()
    descriptions = []
    for epoch in range(40):  # 4 batches of 1/64 s per epoch: a redraw every 4 epochs
        for b in range(4):
            clock[0] += 1 / 64
            shown.batch(1.0 * (b + 1), b + 1)
            descriptions.append(shown.bar.desc)
        history.train_error.append(0.5)
        shown.epoch(epoch + 1, history, 0.25)
    assert descriptions[15] == "epoch 4/40" and descriptions[19] == "epoch 4/40"  # redrawn at batch 16, 32, ...
    assert descriptions[31] == "epoch 8/40" and descriptions[-1] == "epoch 40/40"
    assert shown.bar.desc == "epoch 40/40" and shown.bar.postfix == "error 0.5, selected 0.25"
    assert shown.bar.n == 160
    shown.close()
