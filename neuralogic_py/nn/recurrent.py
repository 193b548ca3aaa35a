r"""Recurrent layers over sequences: :class:`RNN`, :class:`GRU`, :class:`LSTM` (torch's cells, step by step).

A sequence is ``<input>(X0, ..., T)``: ``arity`` leading terms name the sequence (none by
default: one sequence per example), ``T`` is the step, an integer; steps are consecutive
(``@next(Z, T)``: ``T = Z + 1``). The layer writes the hidden state
``<output>(X0, ..., T)`` of every step. The state before the first step is zero, as
torch's default: the recurrent rules of step ``T`` join the state of step ``T - 1``, so
the first step has none of them (nothing in the data marks it).

Every gate is an atom ``<output>__<gate>(..., T)`` computing
:math:`\mathrm{act}(\mathbf{W}_{i} \mathbf{x}_t + \mathbf{W}_{h} \mathbf{h}_{t-1} + \mathbf{b})`
from two rules (weights ``$<output>__<gate>__weight_ih``, ``__weight_hh``) and a bias
(torch's ``b_ih + b_hh`` in one).
"""

from __future__ import annotations

from typing import Any

from ..language.dsl import R, Relation, Transformation, V, W
from .module import Activation, Module, atom, bias, declare, functions, learnable, variables

T, Z = V.T, V.Z  # a step and the step before it


class _Recurrent(Module):
    def __init__(self, input_size: int, hidden_size: int, output_name: str, input_name: str, *,
                 bias: bool, arity: int) -> None:
        self.input_size, self.hidden_size = input_size, hidden_size
        self.output_name, self.input_name = output_name, input_name
        self.bias, self.arity = bias, arity
        self.sequence = variables(arity)

    def at(self, name: str, step: Any = T) -> Relation:
        return atom(name, *self.sequence, step)

    def step(self) -> Relation:
        """``*<input>(..., T)``: binds the step ``T`` to a step of the sequence, adding no input."""
        return R.hidden.get(self.input_name)(*self.sequence, T)

    def previous(self, name: str) -> tuple[Relation, Relation, Relation]:
        """``name(..., Z), *<input>(..., T), @next(Z, T)``: ``name`` one step back."""
        return self.at(name, Z), self.step(), R.special.next(Z, T)

    def gate(self, name: str, activation: Activation) -> list[Any]:
        r"""``name(T) = act(W_ih x_T + W_hh h_{T-1} + b)``."""
        gate = f"{self.output_name}__{name}" if name else self.output_name
        size = (self.hidden_size,)
        rules: list[Any] = [
            (self.at(gate)[learnable(f"{gate}__weight_ih", *size, self.input_size)] <= self.at(self.input_name))
            | functions(),
            (self.at(gate)[learnable(f"{gate}__weight_hh", *size, self.hidden_size)] <= self.previous(self.output_name))
            | functions()]
        if self.bias:
            rules.append(bias(gate, self.arity + 1, self.hidden_size))
        return [*rules, declare(gate, self.arity + 1, activation)]

    def product(self, head: str, *body: Relation) -> Any:
        """``head(T) :- a, b, ...`` multiplying its inputs element-wise."""
        return (self.at(head) <= body) | functions(combination="elproduct")


class RNN(_Recurrent):
    r"""The Elman recurrent layer, torch's ``RNN`` (one layer), step by step.

    .. math::
        \mathbf{h}_t = \tanh(\mathbf{W}_{ih} \mathbf{x}_t + \mathbf{W}_{hh} \mathbf{h}_{t-1} + \mathbf{b}),
        \qquad \mathbf{h}_0 = \mathbf{0}

    ``nonlinearity`` replaces tanh (``relu``). Weights ``$<output>__weight_ih``,
    ``$<output>__weight_hh``, ``$<output>__bias`` (torch's ``bias_ih + bias_hh``).

    PyNeuraLogic: ``RNN(input_size, hidden_size, output_name, input_name,
    hidden_0_name, activation, arity=1)``, which reads the first state from a predicate.
    """

    def __init__(self, input_size: int, hidden_size: int, output_name: str, input_name: str, *,
                 nonlinearity: Activation = "tanh", bias: bool = True, arity: int = 0) -> None:
        super().__init__(input_size, hidden_size, output_name, input_name, bias=bias, arity=arity)
        self.nonlinearity = nonlinearity

    def rules(self) -> list[Any]:
        return self.gate("", self.nonlinearity)


class GRU(_Recurrent):
    r"""The gated recurrent unit, torch's ``GRU`` (one layer), step by step.

    .. math::
        \mathbf{r}_t &= \sigma(\mathbf{W}_{ir} \mathbf{x}_t + \mathbf{W}_{hr} \mathbf{h}_{t-1} + \mathbf{b}_r) \\
        \mathbf{z}_t &= \sigma(\mathbf{W}_{iz} \mathbf{x}_t + \mathbf{W}_{hz} \mathbf{h}_{t-1} + \mathbf{b}_z) \\
        \mathbf{n}_t &= \tanh(\mathbf{W}_{in} \mathbf{x}_t + \mathbf{b}_{in}
                        + \mathbf{r}_t \odot (\mathbf{W}_{hn} \mathbf{h}_{t-1} + \mathbf{b}_{hn})) \\
        \mathbf{h}_t &= (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1},
        \qquad \mathbf{h}_0 = \mathbf{0}

    Gates ``<output>__r``, ``__z`` (weights ``__weight_ih``, ``__weight_hh``, ``__bias``
    each), ``__n`` (``$<output>__n__weight_ih``, ``$<output>__n__bias`` = :math:`\mathbf{b}_{in}`)
    and ``__hn`` = :math:`\mathbf{W}_{hn} \mathbf{h}_{t-1} + \mathbf{b}_{hn}`
    (``$<output>__hn__weight_hh``, ``$<output>__hn__bias``).

    PyNeuraLogic: ``GRU(input_size, hidden_size, output_name, input_name,
    hidden_0_name, arity=1)``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_name: str, input_name: str, *,
                 bias: bool = True, arity: int = 0) -> None:
        super().__init__(input_size, hidden_size, output_name, input_name, bias=bias, arity=arity)

    def rules(self) -> list[Any]:
        out, x = self.output_name, self.at(self.input_name)
        r, z, n, hn = (f"{out}__{g}" for g in ("r", "z", "n", "hn"))
        arity, size = self.arity + 1, self.hidden_size
        # W_hn h_{t-1} + b_hn exists at every step (the first has the bias alone), so its rule carries the bias
        hn_bias = [learnable(f"{hn}__bias", size, 1)] if self.bias else [W[[0.0] * size].fixed()]
        rules = [*self.gate("r", "sigmoid"), *self.gate("z", "sigmoid"),
                 (self.at(hn) <= (self.step(), *hn_bias)) | functions(),
                 (self.at(hn)[learnable(f"{hn}__weight_hh", size, size)] <= self.previous(out)) | functions(),
                 declare(hn, arity),
                 (self.at(n)[learnable(f"{n}__weight_ih", size, self.input_size)] <= x) | functions(),
                 self.product(n, self.at(r), self.at(hn))]
        if self.bias:
            rules.append(bias(n, arity, size))
        return [*rules, declare(n, arity, "tanh"),
                self.product(out, -self.at(z), self.at(n)),
                self.product(out, self.at(z), *self.previous(out)),
                declare(out, arity)]


class LSTM(_Recurrent):
    r"""The long short-term memory, torch's ``LSTM`` (one layer), step by step.

    .. math::
        \mathbf{i}_t, \mathbf{f}_t, \mathbf{o}_t &= \sigma(\mathbf{W}_{i\cdot} \mathbf{x}_t
            + \mathbf{W}_{h\cdot} \mathbf{h}_{t-1} + \mathbf{b}_\cdot), \quad
        \mathbf{g}_t = \tanh(\mathbf{W}_{ig} \mathbf{x}_t + \mathbf{W}_{hg} \mathbf{h}_{t-1} + \mathbf{b}_g) \\
        \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t, \qquad
        \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t), \qquad \mathbf{h}_0 = \mathbf{c}_0 = \mathbf{0}

    Gates ``<output>__i``, ``__f``, ``__g``, ``__o`` (weights ``__weight_ih``,
    ``__weight_hh``, ``__bias`` each); the cell state is ``<output>__c``, read as
    ``tanh(<output>__c(T))`` in the output's rule.

    PyNeuraLogic: ``LSTM(input_size, hidden_size, output_name, input_name,
    hidden_0_name, cell_state_0_name, arity=1)``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_name: str, input_name: str, *,
                 bias: bool = True, arity: int = 0) -> None:
        super().__init__(input_size, hidden_size, output_name, input_name, bias=bias, arity=arity)

    def rules(self) -> list[Any]:
        out, arity = self.output_name, self.arity + 1
        i, f, g, o, c = (f"{out}__{name}" for name in ("i", "f", "g", "o", "c"))
        return [*self.gate("i", "sigmoid"), *self.gate("f", "sigmoid"), *self.gate("g", "tanh"),
                *self.gate("o", "sigmoid"),
                self.product(c, self.at(f), *self.previous(c)),
                self.product(c, self.at(i), self.at(g)),
                declare(c, arity),
                self.product(out, self.at(o), Transformation.TANH(self.at(c))),
                declare(out, arity)]
