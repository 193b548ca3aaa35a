"""Compiled execution: a schedule's steps, for a set of samples, as batched engine ops.

:func:`materialize` turns the :class:`~.schedule.Schedule` into a :class:`Plan` for
some samples: one backward pass over the steps finds the rows those samples need,
then the kept rows are renumbered and each gather gets its index structure
(:class:`~neuralogic_py.engine.Segments`) - a few array operations per step, in time
proportional to the rows kept, not to the network.

Running a plan (:meth:`Plan.outputs`) executes each step as a handful of engine
ops: per input a gather from its bank (concatenating consecutive chunks when a
read spans levels, as recursion does), the soft negation, ``times`` with the
weight (one shared 2-D weight, or weights gathered per row when several rules
share the step), the combination with the offset first, a segment reduction for
aggregations and multi-input atoms, the head weight, the activation. Parameters
enter as tensors (:func:`~neuralogic_py.engine.variable` for those to
differentiate); the engine's tape records the ops and
:func:`~neuralogic_py.engine.backward` runs them reversed. No Python loop runs per
neuron or per sample, only per step and per body position.

Max and min combinations and aggregations of vectors are element-wise (the
reference picks the whole input with the largest element sum; an element-wise
extreme is the usual pooling and has a gradient per element). The ``softmax``
aggregation is the reference's: the members' probabilities as one column vector
(members are scalars in practice); with one member it is the constant 1. The softmax
over listed head variables, ``softmax(agg_terms=[J])``, normalises over all members of a
partition (heads equal but for J) and gives each aggregation its members' share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Segments, Tensor, backward, constant, ops, variable
from ..engine.functions import AGGREGATIONS, COMBINATIONS, activation, split_softmax
from ..engine.tape import value_of
from ..errors import NeuralogicError, ValidationError
from ..logic.keys import unique_sorted
from .network import INDEX, ground_rule_text
from .parameters import Shape
from .schedule import FIRST, ONE, Pick, Schedule, StepLayout


class NumericalError(NeuralogicError):
    """A value stopped being finite (NaN or infinity)."""


# --------------------------------------------------------------------------- compiled steps


@dataclass
class Read:
    """Rows of a bank: chunks ``first..last`` (concatenated), then ``gather`` (None: that whole chunk)."""

    bank: int
    first: int
    last: int
    gather: Segments | None


@dataclass
class WeightRef:
    """One shared 2-D weight (``pick`` None), or per row the weight ``names[pick.ids[row]]``."""

    names: tuple[str, ...]
    pick: Segments | None


@dataclass
class Step:
    """A step of a plan: its layout, and the rows of it this plan computes."""

    layout: StepLayout
    n: int
    neurons: np.ndarray
    inputs: list[Read]
    members: Segments | None = None  # the step row each input member belongs to, for reductions
    partition: Segments | None = None  # the softmax partition each input member belongs to (split softmax)
    weights: list[WeightRef | None] = None
    offset: WeightRef | None = None
    head_weight: WeightRef | None = None
    params: WeightRef | None = None
    constant: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return self.layout.kind

    @property
    def bank(self) -> int:
        return self.layout.bank


# --------------------------------------------------------------------------- materializing a plan


class _Banks:
    """The chunk layout of each bank in a plan: where each kept step's rows start."""

    def __init__(self, sizes: list[int]) -> None:
        self.starts: list[list[int]] = [[] for _ in sizes]
        self.sizes = [0] * len(sizes)

    def append(self, bank: int, n: int) -> int:
        start = self.sizes[bank]
        self.starts[bank].append(start)
        self.sizes[bank] = start + n
        return start

    def read(self, bank: int, rows: np.ndarray) -> Read:
        starts = np.asarray(self.starts[bank])
        ends = np.append(starts[1:], self.sizes[bank])
        first = int(np.searchsorted(starts, rows.min(), side="right") - 1)
        last = int(np.searchsorted(starts, rows.max(), side="right") - 1)
        base = int(starts[first])
        local = rows - base
        if first == last and len(local) == ends[first] - base and np.array_equal(local, np.arange(len(local))):
            return Read(bank, first, last, None)
        return Read(bank, first, last, Segments(local, int(ends[last]) - base))


def materialize(schedule: Schedule, samples: np.ndarray | None = None) -> Plan:
    """The plan computing the outputs of ``samples`` (indices into the network's samples; None: all).

    The work is proportional to the rows kept, not to the network: rows are found
    by :func:`needed_rows`, members by row, and bank rows are renumbered by binary
    search in the kept rows.
    """
    layouts = schedule.steps
    if samples is None:
        samples = np.arange(schedule.n_samples, dtype=INDEX)
        selected = [np.arange(len(layout.rows), dtype=INDEX) for layout in layouts]
    else:
        samples = np.asarray(samples, dtype=INDEX)
        selected = needed_rows(schedule, samples)
    banks = _Banks(schedule.bank_sizes)
    kept: list[list[np.ndarray]] = [[] for _ in schedule.bank_sizes]
    for layout, rows in zip(layouts, selected):
        if len(rows):
            banks.append(layout.bank, len(rows))
            kept[layout.bank].append(layout.rows[rows])
    old_rows = [np.concatenate(parts) if parts else np.zeros(0, INDEX) for parts in kept]  # ascending per bank

    def read(bank: int, rows: np.ndarray) -> Read:
        return banks.read(bank, np.searchsorted(old_rows[bank], rows))

    steps = []
    for layout, rows in zip(layouts, selected):
        n = len(rows)
        if not n:
            continue
        size = len(layout.rows)
        reads, member_of = [], []
        for inp in layout.inputs:
            if inp.of is None:
                reads.append(read(inp.bank, inp.rows[rows]))
                member_of.append(None)
            else:
                k, counts = inp.members(rows, size)
                reads.append(read(inp.bank, inp.rows[k]))
                member_of.append(np.repeat(np.arange(n, dtype=INDEX), counts))
        step = Step(layout, n, layout.neurons[rows], reads)
        step.weights = [_weight(p, rows, size, shared=True) for p in layout.weights]
        step.head_weight = _weight(layout.head_weight, rows, size, shared=True)
        step.offset = _weight(layout.offset, rows, size, shared=layout.kind == "rule")
        step.params = _weight(layout.params, rows, size, shared=False)
        if layout.constant is not None:
            step.constant = layout.constant[rows]
        if layout.reduce:
            if layout.offset is not None:  # the offsets of atoms are members too, after the inputs
                _, counts = layout.offset.members(rows, size)
                member_of.append(np.repeat(np.arange(n, dtype=INDEX), counts))
            step.members = Segments(np.concatenate(member_of), n)
            if layout.partition is not None:
                dense = np.unique(layout.partition[rows], return_inverse=True)[1].reshape(-1)
                step.partition = Segments(dense[step.members.ids], int(dense.max()) + 1)
        steps.append(step)
    outputs = schedule.output_rows[samples]
    out_banks = schedule.output_bank[samples]
    reads = []
    for b in np.unique(out_banks).tolist():
        where = np.flatnonzero(out_banks == b)
        reads.append((where, read(b, outputs[where])))
    return Plan(schedule, samples, steps, reads)


def needed_rows(schedule: Schedule, samples: np.ndarray) -> list[np.ndarray]:
    """Per step, the rows (ascending) that the outputs of ``samples`` depend on.

    Steps only read rows of earlier steps, so one pass from the last step back
    settles each step's rows before its inputs are marked.
    """
    wanted: list[list[np.ndarray]] = [[] for _ in schedule.bank_sizes]
    out_banks = schedule.output_bank[samples]
    out_rows = schedule.output_rows[samples]
    for b in np.unique(out_banks).tolist():
        wanted[b].append(out_rows[out_banks == b])
    selected: list[np.ndarray] = [np.zeros(0, INDEX)] * len(schedule.steps)
    for i in range(len(schedule.steps) - 1, -1, -1):
        layout = schedule.steps[i]
        pending = wanted[layout.bank]
        if not pending:
            continue
        rows = np.concatenate(pending) if len(pending) > 1 else pending[0]
        start, end = int(layout.rows[0]), int(layout.rows[-1]) + 1
        inside = (rows >= start) & (rows < end)
        wanted[layout.bank] = [rows[~inside]] if not inside.all() else []
        mine = unique_sorted(rows[inside]) - start
        if layout.partition is not None:  # a softmax needs every row of its partitions
            mine = np.flatnonzero(np.isin(layout.partition, layout.partition[mine])).astype(INDEX)
        selected[i] = mine
        if not len(mine):
            continue
        for inp in layout.inputs:
            at = mine if inp.of is None else inp.members(mine, len(layout.rows))[0]
            wanted[inp.bank].append(inp.rows[at])
    return selected


def _weight(pick: Pick | None, rows: np.ndarray, size: int, shared: bool) -> WeightRef | None:
    """The weights of step rows ``rows`` (or of their members): shared when allowed and single, else per row."""
    if pick is None:
        return None
    if pick.index is None and shared:
        return WeightRef(pick.names, None)
    at = rows if pick.of is None else pick.members(rows, size)[0]
    index = np.zeros(len(at), INDEX) if pick.index is None else pick.index[at]
    used = np.bincount(index, minlength=len(pick.names)) > 0
    names = tuple(name for name, u in zip(pick.names, used.tolist()) if u)
    if shared and len(names) == 1:
        return WeightRef(names, None)
    return WeightRef(names, Segments((np.cumsum(used) - 1)[index], len(names)))


# --------------------------------------------------------------------------- running a plan


class Plan:
    """A compiled network for one set of samples: outputs, values and gradients.

    ``steps`` run in order, each appending one chunk to the bank of its shape;
    ``output_reads`` gather the outputs from the banks, in sample order.
    """

    def __init__(self, schedule: Schedule, samples: np.ndarray, steps: list[Step],
                 outputs: list[tuple[np.ndarray, Read]]) -> None:
        self.schedule = schedule
        self.network = schedule.network
        self.samples = samples
        self.steps = steps
        self.bank_shapes = schedule.bank_shapes
        self.output_reads = outputs
        names: dict[str, None] = {}
        for step in steps:
            for ref in (*step.weights, step.offset, step.head_weight, step.params):
                if ref is not None:
                    names.update(dict.fromkeys(ref.names))
        self.parameter_names = list(names)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def rows(self) -> int:
        """Rows computed by all steps together (the plan's size)."""
        return sum(step.n for step in self.steps)

    @property
    def output_shape(self) -> Shape | None:
        """The shape of every output, or None when samples have outputs of several shapes."""
        shapes = {self.bank_shapes[read.bank] for _, read in self.output_reads}
        return shapes.pop() if len(shapes) == 1 else None

    def counts(self) -> dict[str, int]:
        """Steps, and the rows computed per kind of step."""
        out: dict[str, int] = {"steps": len(self.steps)}
        for step in self.steps:
            out[f"{step.kind} rows"] = out.get(f"{step.kind} rows", 0) + step.n
        return out

    # -- the computation

    def outputs(self, values: Mapping[str, Any], *, check: bool = False) -> Tensor:
        """The outputs ``(samples, rows, cols)``, recorded on the tape when ``values`` hold variables.

        ``values`` maps parameter names to arrays or tensors. ``check`` raises
        :class:`NumericalError` at the first step whose values are not finite.
        """
        run = _Run(self, values, check)
        for step in self.steps:
            run.execute(step)
        return run.outputs()

    def forward(self, values: Mapping[str, Any]) -> np.ndarray:
        """Output values ``(samples, rows, cols)`` (no tape)."""
        return np.asarray(value_of(self.outputs({n: value_of(v) for n, v in values.items()})))

    def value_and_grad(self, values: Mapping[str, Any], loss: Callable[[Tensor, np.ndarray], Tensor],
                       targets: np.ndarray, learnable: set[str] | Mapping[str, Any] | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """``loss(outputs, targets)`` and its gradient for each learnable parameter these outputs use.

        ``learnable`` names the parameters to differentiate (default: those the
        network's store marks learnable). Returns (loss, gradients by name, outputs).
        """
        store = self.network.store
        if learnable is None:
            wanted = [n for n in self.parameter_names if not store.parameters[n].fixed]
        else:
            wanted = [n for n in self.parameter_names if n in learnable]
        leaves = {n: variable(values[n]) for n in wanted}
        out = self.outputs({**values, **leaves})
        error = loss(out, targets)
        if not isinstance(error, Tensor) or not error.requires_grad:
            return float(np.asarray(value_of(error))), {n: np.zeros_like(leaves[n].value) for n in wanted}, \
                np.asarray(value_of(out))
        grads = backward(error, [leaves[n] for n in wanted])
        return float(error.value), dict(zip(wanted, grads)), out.value

    def bank_values(self, values: Mapping[str, Any]) -> list[np.ndarray]:
        """Every row the plan computes, per bank, as ``(rows, r, c)`` in the plan's row order (no tape).

        For the plan of all samples these are the schedule's bank rows, so the value of
        any neuron is ``bank_values[bank][row]`` with its row from the schedule.
        """
        run = _Run(self, {n: value_of(v) for n, v in values.items()}, False)
        for step in self.steps:
            run.execute(step)
        return [np.concatenate([np.asarray(value_of(c)) for c in chunks]) if chunks else np.zeros((0, *shape))
                for chunks, shape in zip(run.chunks, self.bank_shapes)]

    def explain_nonfinite(self, values: Mapping[str, Any]) -> str:
        """Where the values first stop being finite: the neuron, its rule or predicate, and the step."""
        try:
            self.outputs({n: value_of(v) for n, v in values.items()}, check=True)
        except NumericalError as e:
            return e.message
        bad = [n for n in self.parameter_names if not np.all(np.isfinite(value_of(values[n])))]
        if bad:
            return f"the parameters {', '.join(bad)} are not finite"
        return "every neuron value is finite, so it is the gradient that overflows"

    def describe_row(self, step: Step, row: int) -> str:
        """The neuron computed at ``row`` of ``step``, in words."""
        net, s = self.network, self.schedule
        neuron = int(step.neurons[row])
        if step.kind == "atom":
            return f"the atom neuron of {net.atom_text(neuron)}"
        if step.kind == "fact":
            return f"a fact value ({step.layout.label})"
        if step.kind == "rule":
            layer = net.layers[int(s.rule_layer[neuron])]
            return f"the rule neuron of {ground_rule_text(net, layer, int(s.rule_local[neuron]))} ({layer.describe()})"
        layer = net.layers[int(s.agg_layer[neuron])]
        head = int(layer.head[int(s.agg_local[neuron])])
        return f"the aggregation neuron of {layer.describe()} for {net.atom_text(head)}"


class _Run:
    """One evaluation of a plan: the chunks computed so far and per-run caches."""

    def __init__(self, plan: Plan, values: Mapping[str, Any], check: bool) -> None:
        self.plan = plan
        self.values = values
        self.check = check
        self.chunks: list[list[Any]] = [[] for _ in plan.bank_shapes]
        self.joined: dict[tuple[int, int, int], Any] = {}
        self.stacks: dict[tuple[str, ...], Any] = {}

    def param(self, name: str) -> Any:
        v = self.values[name]
        return v if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64)

    def stack(self, names: tuple[str, ...]) -> Any:
        stacked = self.stacks.get(names)
        if stacked is None:
            parts = [self.param(n) for n in names]
            rows, cols = np.shape(value_of(parts[0]))
            joined = ops.concat_rows(*parts) if len(parts) > 1 else parts[0]
            stacked = self.stacks[names] = ops.reshape(joined, (len(parts), rows, cols))
        return stacked

    def weight(self, ref: WeightRef) -> Any:
        if ref.pick is None:
            return self.param(ref.names[0])
        return ops.gather(self.stack(ref.names), ref.pick)

    def read(self, read: Read) -> Any:
        chunks = self.chunks[read.bank]
        if read.first == read.last:
            source = chunks[read.first]
        else:
            key = (read.bank, read.first, read.last)
            source = self.joined.get(key)
            if source is None:
                source = self.joined[key] = ops.concat_rows(*chunks[read.first:read.last + 1])
        return source if read.gather is None else ops.gather(source, read.gather)

    def execute(self, step: Step) -> None:
        value = getattr(self, "_" + step.kind)(step)
        if self.check and not np.all(np.isfinite(value_of(value))):
            values = np.asarray(value_of(value)).reshape(step.n, -1)
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise NumericalError(f"{self.plan.describe_row(step, row)} is not finite")
        self.chunks[step.bank].append(value)

    def _fact(self, step: Step) -> Any:
        if step.constant is not None:
            return step.constant
        return ops.gather(self.stack(step.params.names), step.params.pick)

    def _rule(self, step: Step) -> Any:
        layout = step.layout
        xs = []
        if step.offset is not None:
            xs.append(self.weight(step.offset))
        for j, read in enumerate(step.inputs):
            x = self.read(read)
            if layout.functions[j] is not None:
                x = activation(layout.functions[j])(x)
            if step.weights[j] is not None:
                x = ops.times(self.weight(step.weights[j]), x)
            xs.append(x)
        return activation(layout.activation)(_combine(layout.combination, xs, step.n))

    def _aggregation(self, step: Step) -> Any:
        name = step.layout.function
        if name == ONE:
            y = np.ones((step.n, 1, 1))
        else:
            x = self.read(step.inputs[0])
            if step.partition is not None:
                y = split_softmax(x, step.partition, step.members)
            else:
                y = AGGREGATIONS[name](x, step.members) if step.members is not None else x
        if step.head_weight is not None:
            y = ops.times(self.weight(step.head_weight), y)
        return y

    def _atom(self, step: Step) -> Any:
        layout = step.layout
        if layout.combination == FIRST:
            y = self.read(step.inputs[0])
            if step.head_weight is not None:  # the head weight of a bypassed single-member aggregation
                y = ops.times(self.weight(step.head_weight), y)
        elif layout.combination == ONE:
            y = np.ones((step.n, 1, 1))
        elif step.members is not None:  # a segment combination over the atoms' inputs and offsets
            parts = []
            for read, shape in zip(step.inputs, layout.broadcast):
                x = self.read(read)
                parts.append(x if shape is None else ops.add(x, np.zeros((1, *shape))))
            if step.offset is not None:
                off = self.weight(step.offset)
                if np.shape(value_of(off))[1:] != layout.shape:
                    off = ops.add(off, np.zeros((1, *layout.shape)))
                parts.append(off)
            x = parts[0] if len(parts) == 1 else ops.concat_rows(*parts)
            y = AGGREGATIONS[layout.combination](x, step.members)
        else:
            xs = [self.weight(step.offset)] if step.offset is not None else []
            xs += [self.read(r) for r in step.inputs]
            y = _combine(layout.combination, xs, step.n)
        return activation(layout.activation)(y)

    def outputs(self) -> Tensor:
        reads = self.plan.output_reads
        if len(reads) > 1:
            raise ValidationError("the samples have outputs of different shapes: "
                                  + ", ".join(str(self.plan.bank_shapes[r.bank]) for _, r in reads),
                                  hint="query atoms of one shape together")
        if not reads:
            return constant(np.zeros((0, 1, 1)))
        out = self.read(reads[0][1])
        return out if isinstance(out, Tensor) else constant(out)


def _combine(name: str, xs: list[Any], n: int) -> Any:
    """A rule neuron's combination; a single input passes through (or is the constant 1)."""
    if name == ONE:
        return np.ones((n, 1, 1))
    if name == FIRST:
        x = xs[0]
        if np.ndim(value_of(x)) == 2:  # only an offset: one value for every row
            x = ops.add(x, np.zeros((n, 1, 1)))
        return x
    return COMBINATIONS[name](*xs)
