"""Reverse-mode automatic differentiation over numpy arrays: the tape.

A :class:`Tensor` is a value on the tape: a float64 array plus, when it was computed
from inputs that need gradients, the :class:`Primitive` that made it, the raw
argument values, and its differentiable parents. Calling a primitive on tensors
records one node; nothing else is recorded, so the tape *is* the call sequence of
the forward pass.

Backward (:func:`backward`) walks the nodes reachable from the output in reverse
creation order (creation order is a topological order: a node is made after its
parents) and accumulates vector-Jacobian products into each parent::

    grad[parent_i] += vjp_i(grad[node], node.value, *node.args)

The maths of every primitive lives in :mod:`neuralogic_py.engine.ops`, one entry per
op; this module knows none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import count
from typing import Any

import numpy as np

_clock = count()

Vjp = Callable[..., np.ndarray]


class Tensor:
    """A value on the tape. ``requires_grad`` marks leaves to differentiate and
    every node computed from them; other tensors are constants."""

    __slots__ = ("value", "requires_grad", "primitive", "args", "kwargs", "parents", "order")

    def __init__(self, value: Any, requires_grad: bool = False, primitive: Primitive | None = None,
                 args: tuple = (), kwargs: dict | None = None, parents: tuple = ()) -> None:
        self.value = value
        self.requires_grad = requires_grad
        self.primitive = primitive
        self.args = args
        self.kwargs = kwargs or {}
        self.parents = parents  # ((argnum, Tensor), ...) of the arguments that need gradients
        self.order = next(_clock)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def __repr__(self) -> str:
        made_by = self.primitive.name if self.primitive else ("variable" if self.requires_grad else "constant")
        return f"Tensor({made_by}, shape={self.value.shape})"


def variable(value: Any) -> Tensor:
    """A leaf whose gradient :func:`backward` can return (a parameter, or an input under test)."""
    return Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def constant(value: Any) -> Tensor:
    """A tensor that gradients never flow into."""
    return Tensor(np.asarray(value, dtype=np.float64))


def value_of(x: Any) -> Any:
    return x.value if isinstance(x, Tensor) else x


class Primitive:
    """A numpy function that records itself on the tape when an argument needs gradients.

    ``vjps`` is either a tuple with one vector-Jacobian product per positional argument,
    ``vjp_i(g, ans, *args, **kwargs)`` (``None`` where the argument is not
    differentiable, like a target or an index), or one callable
    ``vjp(argnum, g, ans, *args, **kwargs)`` for ops with any number of arguments.
    An empty tuple marks a function whose derivative is zero wherever it exists:
    its outputs are constants.
    """

    __slots__ = ("name", "forward", "vjps")

    def __init__(self, name: str, forward: Callable[..., np.ndarray], vjps: tuple | Vjp) -> None:
        self.name = name
        self.forward = forward
        self.vjps = vjps

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        values = tuple(value_of(a) for a in args)
        out = self.forward(*values, **kwargs)
        parents = tuple((i, a) for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad)
        if not parents or self.vjps == ():
            return Tensor(out)
        if not callable(self.vjps):
            for i, _ in parents:
                if i >= len(self.vjps) or self.vjps[i] is None:
                    raise TypeError(f"{self.name} has no gradient with respect to argument {i}")
        return Tensor(out, True, self, values, kwargs, parents)

    def vjp(self, argnum: int, g: np.ndarray, ans: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        if callable(self.vjps):
            return self.vjps(argnum, g, ans, *args, **kwargs)
        return self.vjps[argnum](g, ans, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


OPS: dict[str, Primitive] = {}
"""Every registered primitive by name (the op table, for introspection and systematic tests)."""


def defop(name: str, forward: Callable[..., np.ndarray], *vjps: Vjp | None) -> Primitive:
    """Register a primitive with one VJP per positional argument; none at all = zero derivative."""
    return _register(Primitive(name, forward, vjps))


def defop_argnum(name: str, forward: Callable[..., np.ndarray], vjp: Vjp) -> Primitive:
    """Register a primitive of any arity whose VJP takes the argument number first."""
    return _register(Primitive(name, forward, vjp))


def _register(op: Primitive) -> Primitive:
    if op.name in OPS:
        raise ValueError(f"primitive {op.name!r} is registered twice")
    OPS[op.name] = op
    return op


def backward(output: Tensor, wrt: Sequence[Tensor], seed: np.ndarray | None = None) -> list[np.ndarray]:
    """Gradients of ``output`` with respect to each tensor in ``wrt`` (zeros where unreached).

    ``seed`` is the gradient of the final objective with respect to ``output``; it may
    be omitted when ``output`` holds a single number (then it is 1).
    """
    if seed is None:
        if output.value.size != 1:
            raise ValueError(f"backward from a non-scalar output of shape {output.value.shape} needs a seed")
        seed = np.ones_like(output.value)
    keep = {id(t) for t in wrt}
    grads: dict[int, np.ndarray] = {id(output): seed}
    for node in _reverse_topological(output):
        g = grads.get(id(node))
        if g is None or not node.parents:
            continue
        for argnum, parent in node.parents:
            contribution = node.primitive.vjp(argnum, g, node.value, *node.args, **node.kwargs)
            previous = grads.get(id(parent))
            grads[id(parent)] = contribution if previous is None else previous + contribution
        if id(node) not in keep:
            del grads[id(node)]  # free intermediate gradients as soon as they are spent
    return [grads[id(t)] if id(t) in grads else np.zeros_like(t.value) for t in wrt]


def _reverse_topological(output: Tensor) -> list[Tensor]:
    seen = {id(output): output}
    stack = [output]
    while stack:
        for _, parent in stack.pop().parents:
            if id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    return sorted(seen.values(), key=lambda t: t.order, reverse=True)


def value_and_grad(fun: Callable[..., Tensor], argnums: int | Sequence[int] = 0) -> Callable[..., tuple]:
    """``fun``'s value and its gradient with respect to the positional arguments ``argnums``.

    ``fun`` receives those arguments as variables and must return a single-number tensor.
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def wrapped(*args: Any) -> tuple:
        boxed = [variable(a) if i in nums else a for i, a in enumerate(args)]
        out = fun(*boxed)
        if not isinstance(out, Tensor):
            out = constant(out)
        grads = backward(out, [boxed[i] for i in nums])
        return out.value, (grads[0] if single else tuple(grads))

    return wrapped


def grad(fun: Callable[..., Tensor], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The gradient of a single-number function, as in :func:`value_and_grad`."""
    vg = value_and_grad(fun, argnums)
    return lambda *args: vg(*args)[1]
