"""Dense layers on every atom of a predicate: :class:`Linear` and :class:`MLP`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .module import Activation, Module, atom, bias, declare, functions, invalid, learnable, variables


class Linear(Module):
    r"""A dense layer applied to every atom of the input predicate.

    .. math::
        \mathbf{x}' = \sigma(\mathbf{W} \mathbf{x} + \mathbf{b})

    for each ``input_name(X0, ...)``, written to ``output_name(X0, ...)``; ``arity`` is
    the number of terms. Weights ``$<output>__weight`` (``{out,in}``, PyG's
    ``Linear.weight``) and ``$<output>__bias``.

    Rules (out=3, in=2, ``Linear(2, 3, "h", "x")``)::

        $h__weight={3,2} h(X0) :- x(X0). [activation=identity]
        h/1 $h__bias={3,1}
        h/1 [activation=identity]

    PyNeuraLogic: ``Linear(in_channels, out_channels, output_name, input_name,
    activation, arity)``, without a bias.
    """

    def __init__(self, in_channels: int, out_channels: int, output_name: str, input_name: str, *,
                 bias: bool = True, activation: Activation = "identity", arity: int = 1) -> None:
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_name, self.input_name = output_name, input_name
        self.bias, self.activation, self.arity = bias, activation, arity

    def rules(self) -> list[Any]:
        out, terms = self.output_name, variables(self.arity)
        rules: list[Any] = [
            (atom(out, *terms)[learnable(f"{out}__weight", self.out_channels, self.in_channels)]
             <= atom(self.input_name, *terms)) | functions()]
        if self.bias:
            rules.append(bias(out, self.arity, self.out_channels))
        rules.append(declare(out, self.arity, self.activation))
        return rules

    @property
    def pyg_names(self) -> dict[str, str]:
        names = {"weight": f"{self.output_name}__weight"}
        if self.bias:
            names["bias"] = f"{self.output_name}__bias"
        return names


class MLP(Module):
    r"""A stack of :class:`Linear` layers, ``channel_list = [in, hidden..., out]``.

    .. math::
        \mathbf{x}^{(0)} = \mathbf{x}, \qquad
        \mathbf{x}^{(k)} = \sigma(\mathbf{W}_k \mathbf{x}^{(k-1)} + \mathbf{b}_k), \qquad
        \mathbf{x}' = \mathbf{x}^{(L)}

    with ``act`` as :math:`\sigma`, the identity on the last layer when ``plain_last``: PyG's
    ``MLP`` with ``norm=None`` and no dropout. Layer ``k``
    (0-based) writes ``<output>__mlp<k>``, the last one ``output_name``; its weights are
    those of a :class:`Linear` on that predicate (PyG's ``lins.<k>.weight``/``bias``).

    PyNeuraLogic: ``MLP(units, output_name, input_name, activation, arity)``; it writes
    two layers per rule and has no biases.
    """

    def __init__(self, channel_list: Sequence[int], output_name: str, input_name: str, *,
                 act: Activation = "relu", bias: bool = True, plain_last: bool = True, arity: int = 1) -> None:
        if len(channel_list) < 2:
            raise invalid(f"an MLP needs at least an input and an output size, got {list(channel_list)}")
        self.channel_list = list(channel_list)
        self.output_name, self.input_name = output_name, input_name
        self.in_channels, self.out_channels = self.channel_list[0], self.channel_list[-1]
        self.layers: list[Linear] = []
        source = input_name
        depth = len(self.channel_list) - 1
        for k, (n_in, n_out) in enumerate(zip(self.channel_list, self.channel_list[1:])):
            last = k == depth - 1
            target = output_name if last else f"{output_name}__mlp{k}"
            self.layers.append(Linear(n_in, n_out, target, source, bias=bias, arity=arity,
                                      activation="identity" if last and plain_last else act))
            source = target

    def rules(self) -> list[Any]:
        return [rule for layer in self.layers for rule in layer.rules()]

    @property
    def pyg_names(self) -> dict[str, str]:
        return {f"lins.{k}.{key}": name for k, layer in enumerate(self.layers) for key, name in layer.pyg_names.items()}
