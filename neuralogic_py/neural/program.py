"""A schedule as flat integer arrays for the fused engine, and the runner that trains through it.

:class:`Program` lays a :class:`~.schedule.Schedule` out the way
:mod:`neuralogic_py.engine.fused` reads it: every parameter, constant fact and neuron
row gets a global row id and an offset in one float64 buffer; every step a header
(its kind, functions, shape, where its per-row references start) and per-row
references to the global rows it reads (inputs, weights, offsets, members, head
weights). A learnable fact row is not a row of its own: readers refer to the
parameter directly, so its gradient lands on the parameter. A step's rows are laid
out for batches (:meth:`Program._lay_out`): the rows many samples share first, then
the rest sample after sample.

The program covers the functions of the element-wise table (identity, sigmoid,
tanh, relu, leakyrelu, signum, lukasiewicz, exp, log, sqrt, inverse, reverse; one of them
on a rule step's inputs, as ``~b`` or ``sqrt(b)``), combinations
sum/avg/max/min/count/elproduct/product, aggregations sum/avg/max/min/count,
and the four losses; :func:`unsupported` names the first thing a network uses
beyond that (softmax, concat, crosssum, ... activations or combinations; functions with
parameters such as ``leakyrelu(0.2)``; the softmax over listed head variables; custom
losses), and such networks train on the numpy engine (:mod:`.plan`), which is
the specification this program is tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .network import INDEX
from .parameters import ParameterStore
from .schedule import FIRST, ONE, Pick, Schedule, StepLayout

ELEMENTWISE = ("identity", "sigmoid", "tanh", "relu", "leakyrelu", "signum", "lukasiewicz", "exp", "log", "sqrt",
               "inverse", "reverse")
COMBINATIONS = (FIRST, ONE, "sum", "avg", "max", "min", "count", "elproduct", "product")
REDUCTIONS = ("sum", "avg", "max", "min", "count")
LOSSES = ("mse", "bce_logits", "softmax_crossentropy", "crossentropy")


def _input_function(layout: StepLayout) -> str:
    """The one function a rule step applies to some of its inputs (``unsupported`` allows one), or identity."""
    return next((f for f in layout.functions if f is not None), "identity")


def unsupported(schedule: Schedule) -> str | None:
    """Why the fused engine cannot run this schedule, or None when it can."""
    for layout in schedule.steps:
        if layout.kind == "fact":
            continue
        what = layout.label
        if layout.kind in ("rule", "atom") and layout.activation not in ELEMENTWISE:
            return f"the activation {layout.activation} of {what}"
        if layout.kind == "rule":
            functions = {f for f in layout.functions if f is not None}
            if len(functions) > 1:
                return f"several functions on the inputs of {what}"
            if functions - set(ELEMENTWISE):
                return f"the input function {functions.pop()} of {what}"
            if layout.combination not in COMBINATIONS:
                return f"the combination {layout.combination} of {what}"
        elif layout.kind == "aggregation":
            if layout.reduce and layout.function not in REDUCTIONS:
                return f"the aggregation {layout.function} of {what}"
        elif not layout.reduce and layout.combination not in (FIRST, ONE):
            return f"the combination {layout.combination} of {what}"
    shapes = {schedule.bank_shapes[b] for b in np.unique(schedule.output_bank).tolist()}
    if len(shapes) > 1:
        return "outputs of several shapes"
    return None


class Program:
    """Flat arrays of a schedule for :mod:`neuralogic_py.engine.fused` (module docstring)."""

    def __init__(self, schedule: Schedule, store: ParameterStore) -> None:
        from ..engine import fused as f

        self.schedule = schedule
        self.names = list(store.parameters)
        self.param_id = {name: i for i, name in enumerate(self.names)}
        shapes = [store.parameters[n].shape for n in self.names]
        bank_base = np.concatenate([[len(self.names)], len(self.names) + np.cumsum(schedule.bank_sizes)]).astype(INDEX)
        self.n_rows = int(bank_base[-1])
        rows = np.zeros((self.n_rows, 4), INDEX)
        rows[:, f.RR:f.RC + 1] = np.concatenate([np.asarray(shapes, INDEX).reshape(-1, 2),
                                                 np.repeat(np.asarray(schedule.bank_shapes, INDEX).reshape(-1, 2),
                                                           schedule.bank_sizes, axis=0)])
        offsets = np.concatenate([[0], np.cumsum(rows[:, f.RR] * rows[:, f.RC])]).astype(INDEX)
        rows[:, f.OFF] = offsets[:-1]
        self.param_offsets = offsets[:len(self.names) + 1]
        self.size = int(offsets[-1])
        self.X = np.zeros(self.size)
        self.load(store.values)  # fixed parameters keep these values; learnable ones are loaded again to train
        # every bank row's global id; a learnable fact row is its parameter's id
        self.gmap = [bank_base[b] + np.arange(n, dtype=INDEX) for b, n in enumerate(schedule.bank_sizes)]
        computed = [layout for layout in schedule.steps if layout.kind != "fact"]
        n_steps = len(computed)
        rows[:len(self.names), f.STEP] = n_steps
        for layout in schedule.steps:
            if layout.kind != "fact":
                continue
            ids = self.gmap[layout.bank]
            if layout.constant is not None:
                rows[ids[layout.rows], f.STEP] = f.CONSTANT
                for g, value in zip(ids[layout.rows].tolist(), layout.constant):
                    self.X[offsets[g]:offsets[g] + value.size] = value.reshape(-1)
            else:
                ids[layout.rows] = self._pick(layout.params, len(layout.rows))
        self.steps = self._lay_out(f, computed, rows, None)
        self.rows = rows
        capacity = [len(layout.rows) for layout in computed] + [len(self.names)]
        self.bstart = np.concatenate([[0], np.cumsum(capacity)]).astype(INDEX)
        self.bucket = np.zeros(int(self.bstart[-1]), INDEX)
        self.cnt = np.zeros(n_steps + 1, INDEX)
        self.marks = rows[:, f.STEP].astype(np.int32)  # :func:`~neuralogic_py.engine.fused.reach`'s
        if n_steps:  # again, each step's rows laid out for the batches (:meth:`_lay_out`)
            first, uses = np.full(self.n_rows, -1, INDEX), np.zeros(self.n_rows, INDEX)
            f.first_needed(self.steps, self.ints_array, self.marks, self.outputs, self.bucket, self.bstart,
                           self.cnt, first, uses, np.zeros(n_steps, INDEX))
            # rows many samples share first (in tiers of 4x as many users), then by first use
            tier = np.floor(np.log2(np.maximum(uses, 1)) / 2).astype(INDEX)
            self.steps = self._lay_out(f, computed, rows, first - tier * self.n_rows)
        self.width = max([int((rows[:, f.RR] * rows[:, f.RC]).max(initial=1))]
                         + [self._product_width(layout, store) for layout in computed if layout.combination == "product"])
        self.PRE = np.zeros(self.size)
        self.GX = np.zeros(self.size)
        self.items = np.zeros((self.max_items, self.width))  # work space of the kernels
        self.gitems = np.zeros((self.max_items, self.width))
        self.scratch = np.zeros((6, self.width))
        largest = max([max(shape) for shape in shapes], default=1)
        self.tiles = np.zeros((3, f.TILE * largest))  # the matrix products of many rows at once
        self.tiled = np.zeros(f.TILE, INDEX)

    # -- building

    def _lay_out(self, f: Any, computed: list[StepLayout], rows: np.ndarray, key: np.ndarray | None) -> np.ndarray:
        """The step headers and the integer table, and the global id of each step row in ``gmap``.

        A step's rows keep their consecutive global ids, ordered by ``key`` (by global id; None:
        the schedule's order). The program's key puts the rows that many samples share first,
        where every batch finds them in the cache, in tiers of 4x as many users; within a tier
        the rows come sample after sample, in the order the samples first need them
        (:func:`~neuralogic_py.engine.fused.first_needed`), so the rows of few samples lie
        together: a new batch reads a dense head and a few stretches of each buffer, not rows
        scattered over the network. Lifting across examples makes this matter: on NCI1 1.9% of
        the rows serve 59% of what the samples need.
        """
        self.ints: list[np.ndarray] = []
        self._used = 0
        self.max_items = 1
        self._order: np.ndarray | None = None  # the schedule's row at each position of the step laid out
        self._position: np.ndarray | None = None  # and the position of each of the schedule's rows
        header = np.full((len(computed), f.FIELDS), -1, INDEX)
        for s, layout in enumerate(computed):
            ids = self.gmap[layout.bank]
            row0 = int(ids[layout.rows[0]])
            n = len(layout.rows)
            if key is not None:
                self._order = np.argsort(key[row0:row0 + n], kind="stable")
                self._position = np.empty(n, INDEX)
                self._position[self._order] = np.arange(n, dtype=INDEX)
                ids[layout.rows] = row0 + self._position
            rows[row0:row0 + n, f.STEP] = s
            header[s] = self._header(f, layout, row0)
        self.ints_array = np.concatenate(self.ints) if self.ints else np.zeros(0, INDEX)
        del self.ints
        self._order = self._position = None
        self.outputs = np.array([self.gmap[b][r] for b, r in zip(self.schedule.output_bank.tolist(),
                                                                   self.schedule.output_rows.tolist())], INDEX)
        return header

    def _per_row(self, values: np.ndarray) -> np.ndarray:
        """Values listed per row of the step being laid out, in its laid-out order."""
        return values if self._order is None else values[self._order]

    def _row_of(self, of: np.ndarray) -> np.ndarray:
        """The laid-out positions of step rows ``of`` (of members, in the schedule's order)."""
        return of if self._position is None else self._position[of]

    def _add(self, values: np.ndarray) -> int:
        """Append per-row references to the integer table; returns where they start."""
        start = self._used
        self.ints.append(np.asarray(values, INDEX))
        self._used += len(values)
        return start

    def _pick(self, pick: Pick | None, count: int) -> np.ndarray:
        """Global ids of the parameter each of ``count`` rows (or members) uses; -1s for no pick."""
        if pick is None:
            return np.full(count, -1, INDEX)
        ids = np.array([self.param_id[n] for n in pick.names], INDEX)
        return ids[pick.index] if pick.index is not None else np.full(count, ids[0], INDEX)

    def _members(self, parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> int:
        """CSR of members ``(global ids, step row of each)`` in part order within a row; returns the pointer base."""
        ids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, INDEX)
        of = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, INDEX)
        order = np.argsort(of, kind="stable")
        counts = np.bincount(of, minlength=n)
        self.max_items = max(self.max_items, int(counts.max(initial=0)))
        base = self._used + n + 1  # the members follow the pointers
        self._add(base + np.concatenate([[0], np.cumsum(counts)]))
        self._add(ids[order])
        return base - n - 1

    def _product_width(self, layout: StepLayout, store: ParameterStore) -> int:
        """A bound of the size of every prefix of a product's items (work space rows hold them):
        each product a.b has the rows of a or b and the columns of a or b."""
        shapes = [store.parameters[n].shape for n in layout.offset.names] if layout.offset is not None else []
        for inp, weight in zip(layout.inputs, layout.weights):
            x = self.schedule.bank_shapes[inp.bank]
            shapes += [x] + ([store.parameters[n].shape for n in weight.names] if weight is not None else [])
        return max(r for r, _ in shapes) * max(c for _, c in shapes)

    def _header(self, f: Any, layout: StepLayout, row0: int) -> np.ndarray:
        h = np.full(f.FIELDS, -1, INDEX)
        n = len(layout.rows)
        h[f.N], h[f.ROW0] = n, row0
        h[f.HR], h[f.HC] = layout.shape
        h[f.ACT] = f.ACTIVATIONS.get(layout.activation, 0)
        if layout.kind == "rule":
            p = len(layout.inputs)
            h[f.KIND], h[f.NPOS] = f.RULE, p
            h[f.COMB] = f.COMBINATIONS[layout.combination]
            h[f.NEG] = f.ACTIVATIONS.get(_input_function(layout), 0)
            h[f.B_IN] = self._add(np.concatenate([self._per_row(self.gmap[i.bank][i.rows]) for i in layout.inputs])) \
                if p else 0
            h[f.B_W] = self._add(np.concatenate([self._per_row(self._pick(w, n)) for w in layout.weights])) if p else 0
            h[f.B_SOFT] = self._add(np.array([fn is not None for fn in layout.functions], INDEX)) if p else 0
            if layout.offset is not None:
                h[f.B_OFF] = self._add(self._per_row(self._pick(layout.offset, n)))
            self.max_items = max(self.max_items, p + (layout.offset is not None))
        elif layout.kind == "aggregation":
            h[f.KIND] = f.AGGREGATION
            # members are listed for the constant ONE too: its batch touches what they read, as in a plan
            inp = layout.inputs[0]
            of = inp.of if inp.of is not None else np.arange(n, dtype=INDEX)
            h[f.COMB] = f.ONE if layout.function == ONE else \
                f.COMBINATIONS[layout.function] if layout.reduce else f.FIRST
            h[f.B_PTR] = self._members([(self.gmap[inp.bank][inp.rows], self._row_of(of))], n)
            if layout.head_weight is not None:
                h[f.B_HEAD] = self._add(self._per_row(self._pick(layout.head_weight, n)))
        elif layout.combination == FIRST:
            h[f.KIND] = f.ATOM_FIRST
            inp = layout.inputs[0]
            h[f.B_IN] = self._add(self._per_row(self.gmap[inp.bank][inp.rows]))
            if layout.head_weight is not None:
                h[f.B_HEAD] = self._add(self._per_row(self._pick(layout.head_weight, n)))
        elif layout.combination == ONE:
            h[f.KIND] = f.ATOM_ONE
        else:
            h[f.KIND], h[f.COMB] = f.ATOM_SEGMENT, f.COMBINATIONS[layout.combination]
            parts = [(self.gmap[i.bank][i.rows], self._row_of(i.of)) for i in layout.inputs]
            if layout.offset is not None:
                parts.append((self._pick(layout.offset, len(layout.offset.of)), self._row_of(layout.offset.of)))
            h[f.B_PTR] = self._members(parts, n)
        return h

    # -- parameters in the buffer

    def load(self, values: Mapping[str, np.ndarray]) -> None:
        """Copy parameter values (by name) into the buffer."""
        X, offsets = self.X, self.param_offsets
        for name, value in values.items():
            i = self.param_id.get(name)
            if i is not None:
                X[offsets[i]:offsets[i + 1]] = np.asarray(value, dtype=np.float64).reshape(-1)

    def store(self, values: Mapping[str, np.ndarray]) -> None:
        """Copy the buffer's parameter values back into the arrays of ``values`` (in place)."""
        X, offsets = self.X, self.param_offsets
        for name, value in values.items():
            i = self.param_id.get(name)
            if i is not None:
                value.reshape(-1)[...] = X[offsets[i]:offsets[i + 1]]

    def slot(self, name: str) -> slice:
        """Where a parameter lies in the buffer (and in every buffer laid out like it)."""
        i = self.param_id[name]
        return slice(int(self.param_offsets[i]), int(self.param_offsets[i + 1]))

    # -- running

    def output_rows(self, samples: np.ndarray) -> np.ndarray:
        return self.outputs[np.asarray(samples, dtype=INDEX)]

    def run(self, mode: int, outputs: np.ndarray, targets: np.ndarray | None = None, weights: np.ndarray | None = None,
            loss: int = 0, M: np.ndarray | None = None, V: np.ndarray | None = None,
            learnable: np.ndarray | None = None, kind: int = 0, hyper: np.ndarray | None = None,
            t: int = 0) -> tuple[float, bool, int]:
        """One call of :func:`neuralogic_py.engine.fused.run` on this program's buffers."""
        from ..engine import fused as f

        n = len(outputs)
        result = f.run(mode, self.steps, self.ints_array, self.rows, self.X, self.PRE, self.GX,
                     _EMPTY if M is None else M, _EMPTY if V is None else V, self.marks, self.bucket, self.bstart,
                     self.cnt, self.items, self.gitems, self.scratch, _blas(), self.tiles, self.tiled, outputs,
                     np.zeros((n, 1)) if targets is None else targets, np.ones(n) if weights is None else weights,
                     loss, _NO_FLAGS if learnable is None else learnable, kind,
                     _NO_HYPER if hyper is None else hyper, t)
        _compiled()
        return result

    def forward(self, values: Mapping[str, np.ndarray], samples: np.ndarray) -> np.ndarray:
        """Outputs ``(len(samples), r, c)`` under ``values`` (parameters by name)."""
        from ..engine import fused as f

        self.load(values)
        out = self.output_rows(samples)
        self.run(f.FORWARD, out)
        return self._gather(out)

    def _gather(self, out: np.ndarray) -> np.ndarray:
        if not len(out):
            return np.zeros((0, 1, 1))
        r, c = (int(v) for v in self.rows[out[0], 1:3])
        index = self.rows[out, 0][:, None] + np.arange(r * c)
        return self.X[index].reshape(len(out), r, c)

    def value_and_grad(self, values: Mapping[str, np.ndarray], loss: str, targets: np.ndarray,
                       samples: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """The batch error and the gradient of each parameter the batch touches (by name)."""
        from ..engine import fused as f

        self.load(values)
        out = self.output_rows(samples)
        error, _, touched = self.run(f.GRADIENTS, out, np.ascontiguousarray(targets.reshape(len(out), -1)),
                                     None if weights is None else np.asarray(weights, dtype=np.float64),
                                     f.LOSSES[loss])
        S = len(self.steps)
        grads = {}
        for p in np.sort(self.bucket[self.bstart[S]:self.bstart[S] + touched]).tolist():
            name = self.names[p]
            grads[name] = self.GX[self.slot(name)].reshape(self.rows[p, 1], self.rows[p, 2]).copy()
        return float(error), grads


_BLAS: list = []


def _blas() -> tuple:
    """The BLAS function the fused kernels call (made once per process)."""
    if not _BLAS:
        from ..engine import fused as f

        _BLAS.append(f.blas())
    return _BLAS[0]


_RAN: list[bool] = []  # whether a fused kernel ran in this process: they are compiled and cached then


def _compiled() -> None:
    """After the first fused call of the process: record that the kernels are in the cache."""
    if not _RAN:
        from ..engine import jit

        _RAN.append(True)
        jit.mark_compiled()


_EMPTY = np.zeros(0)
_NO_FLAGS = np.zeros(0, np.bool_)
_NO_HYPER = np.zeros(7)


class FusedTrainer:
    """Optimizer steps through a :class:`Program`: parameters and optimizer moments in flat buffers.

    ``params`` (the learnable arrays by name) are copied in once; :meth:`sync` copies
    the buffer back into them (and, when asked, the moments into the optimizer), which
    the training loop does after every epoch (moments before a checkpoint and at the end).
    """

    def __init__(self, program: Program, params: dict[str, np.ndarray], optimizer: Any, loss: str,
                 targets: np.ndarray, weights: np.ndarray | None) -> None:
        from ..engine import fused as f

        self.f = f
        self.program = program
        self.params = params
        self.optimizer = optimizer
        self.loss_code = f.LOSSES[loss]
        self.targets = np.ascontiguousarray(targets.reshape(len(targets), -1), dtype=np.float64)
        self.weights = np.ones(len(targets)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.learnable = np.zeros(program.n_rows, np.bool_)
        for name in params:
            if name in program.param_id:
                self.learnable[program.param_id[name]] = True
        rule, self._hyper = optimizer.fused_rule()
        self.kind = f.ADAM if rule == "adam" else f.SGD
        self._lr = optimizer.lr
        self.M = np.zeros(program.size)
        self.V = np.zeros(program.size)
        program.load(params)
        self._moments(load=True)

    def _moments(self, load: bool) -> None:
        """Move the optimizer's per-parameter moments into the flat buffers (or back)."""
        for buffer, state in zip((self.M, self.V), self.optimizer.moments()):
            for name in self.params:
                if name not in self.program.param_id:
                    continue
                where = self.program.slot(name)
                if load:
                    if name in state:
                        buffer[where] = state[name].reshape(-1)
                elif name in state or buffer[where].any():
                    state[name] = buffer[where].reshape(self.params[name].shape).copy()

    def step(self, batch: np.ndarray) -> float | None:
        """One update on ``batch``; returns the batch error, or None (no update made) when it is not finite."""
        p, opt = self.program, self.optimizer
        if opt.lr != self._lr:  # the hyper-parameters change with the learning rate's schedule only
            self._lr, (_, self._hyper) = opt.lr, opt.fused_rule()
        opt.steps += 1
        error, ok, _ = p.run(self.f.TRAIN, p.outputs[batch], self.targets[batch], self.weights[batch], self.loss_code,
                             self.M, self.V, self.learnable, self.kind, self._hyper, opt.steps)
        if not ok:
            opt.steps -= 1
            return None
        return error

    def reload(self) -> None:
        """Parameters and moments into the buffers again (after a step taken outside them)."""
        self.program.load(self.params)
        self._moments(load=True)

    def sync(self, moments: bool = False) -> None:
        """Parameters (and, with ``moments``, the optimizer's moments) back from the buffers."""
        self.program.store(self.params)
        if moments:
            self._moments(load=False)
