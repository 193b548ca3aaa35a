"""Compression of a ground network before it is compiled: exact chain pruning, then lifting.

``compress(network, LiftingSettings(...))`` returns the network to compile and a
:class:`CompressionReport`: the neurons and edges that the samples' outputs reach before
pruning, after pruning and after lifting, and the time each stage took.

Lifting methods (:class:`LiftingSettings`):

==============  =====================================================================
``structural``  exact structural equivalence (:mod:`.lifting`), the default: outputs and
                gradients are those of the ground network
``value``       the paper's value-based method (:mod:`.isovalue`): ``iso_inits`` random
                weight draws, values rounded to ``iso_digits`` digits; with ``iso_check``
                each merge must also pass the structural test (vetoed merges counted)
``none``        chain pruning only
==============  =====================================================================

``scope="batch"`` merges across all examples of the network (the same atom-type embedding
neuron serves every molecule); ``scope="example"`` only within each example, as the
reference compresses sample by sample.

Chain pruning (:mod:`.pruning`) is always on: it is exact, and the schedule applies it to
whatever network it is given, so its figures are a count, not a transformation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import NeuralogicError
from .flat import Flat
from .isovalue import value_classes
from .lifting import (
    FACT_KIND,
    NeuronGraph,
    keyed_classes,
    merges,
    realize,
    representatives,
    row_ids,
    structural_classes,
)
from .network import FACT, Network
from .pruning import chain_bypass
from .schedule import Schedule

METHODS = ("structural", "value", "none")
SCOPES = ("batch", "example")


@dataclass(frozen=True)
class LiftingSettings:
    """How to lift (see the module docstring); the reference's defaults for the value method."""

    method: str = "structural"
    scope: str = "batch"
    iso_inits: int = 1
    iso_digits: int = 12
    iso_check: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise NeuralogicError(f"unknown lifting method '{self.method}'", hint="one of " + ", ".join(METHODS))
        if self.scope not in SCOPES:
            raise NeuralogicError(f"unknown lifting scope '{self.scope}'", hint="one of " + ", ".join(SCOPES))
        if self.iso_inits < 1:
            raise NeuralogicError(f"--iso-inits must be at least 1, got {self.iso_inits}")
        if not 0 <= self.iso_digits <= 15:
            raise NeuralogicError(f"--iso-digits must lie in 0..15, got {self.iso_digits}",
                                  hint="float64 holds about 15 significant decimal digits")

    @classmethod
    def of(cls, lifting: str | LiftingSettings) -> LiftingSettings:
        return lifting if isinstance(lifting, LiftingSettings) else cls(method=lifting)

    def describe(self) -> str:
        if self.method == "none":
            return "no lifting"
        where = "across examples" if self.scope == "batch" else "within examples"
        if self.method == "structural":
            return f"structural lifting {where}"
        inits = f"{self.iso_inits} init{'s' if self.iso_inits > 1 else ''}"
        check = ", checked" if self.iso_check else ""
        return f"value lifting {where} ({inits}, {self.iso_digits} digits{check})"


@dataclass(frozen=True)
class Counts:
    """Neurons by kind and edges (input slots, multiplicities counted) that the outputs reach."""

    facts: int
    atoms: int
    rules: int
    aggregations: int
    edges: int

    @property
    def neurons(self) -> int:
        return self.facts + self.atoms + self.rules + self.aggregations

    def as_dict(self) -> dict[str, int]:
        return {"neurons": self.neurons, **asdict(self)}


@dataclass
class Stage:
    """Neurons and edges after one stage, its time, (value method with check) the merges it vetoed, and
    (lifting) the neurons it merged by kind of merge (:func:`~.lifting.merges`)."""

    name: str
    counts: Counts
    seconds: float
    vetoed: int | None = None
    merged: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.name, **self.counts.as_dict(), "seconds": self.seconds, "vetoed": self.vetoed,
                "merged": self.merged}


@dataclass
class CompressionReport:
    """The stages a network went through before it was compiled: ground network, chain pruning, lifting."""

    samples: int
    settings: LiftingSettings
    stages: list[Stage] = field(default_factory=list)

    @property
    def ground(self) -> Counts:
        return self.stages[0].counts

    @property
    def final(self) -> Counts:
        return self.stages[-1].counts

    @property
    def vetoed(self) -> int | None:
        return self.stages[-1].vetoed

    def lines(self, kinds: bool = False) -> list[str]:
        """A heading and a line per stage: neurons (by kind with ``kinds``), share of the ground, edges, time."""
        return report_lines(self.samples, self.stages, kinds)

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "lifting": asdict(self.settings),
                "stages": [stage.as_dict() for stage in self.stages]}


def report_lines(samples: int, stages: list[Stage], kinds: bool = False) -> list[str]:
    """What :meth:`CompressionReport.lines` prints, for any list of stages (the first is the ground network)."""
    base = stages[0].counts.neurons
    width = max(len(stage.name) for stage in stages) + 1
    lines = [f"neurons and edges the {samples} outputs reach:"]
    for stage in stages:
        c = stage.counts
        text = f"  {stage.name + ':':<{width}} {c.neurons:>10,} neurons"
        if kinds:
            text += f" ({c.facts:,} facts, {c.atoms:,} atoms, {c.rules:,} rules, {c.aggregations:,} aggregations)"
        if stage is not stages[0]:
            text += f" = {100 * c.neurons / max(base, 1):.1f}% ({base / max(c.neurons, 1):.1f}x fewer)"
        text += f", {c.edges:,} edges"
        if stage is not stages[0]:
            text += f", {stage.seconds:.3f} s"
        if stage.vetoed is not None:
            text += f"; the structural check vetoed {stage.vetoed:,} value-based merges"
        lines.append(text)
        if kinds and stage.merged is not None:
            merged = ", ".join(f"{n:,} {kind}" for kind, n in stage.merged.items())
            lines.append(" " * (width + 3) + "merged: " + merged)
    return lines


def count(network: Network, flat: Flat, needed: np.ndarray, kept: np.ndarray) -> Counts:
    """Neurons (global numbering) marked both ``needed`` and ``kept``, and their input slots."""
    mask = needed & kept
    nodes, rules, aggs = np.split(mask, [flat.rule_base, flat.agg_base])
    n_inputs = np.concatenate([np.bincount(network.in_atom, minlength=network.n_nodes),
                               *[np.full(layer.n_rules, layer.body.shape[1]) for layer in network.layers],
                               *[layer.agg_count for layer in network.layers]])
    is_fact = network.kind == FACT
    return Counts(int((nodes & is_fact).sum()), int((nodes & ~is_fact).sum()), int(rules.sum()), int(aggs.sum()),
                  int(n_inputs[mask].sum()))


def compress(network: Network, lifting: str | LiftingSettings = "structural") -> tuple[Network, CompressionReport]:
    """The network to compile under ``lifting`` (chain pruning is the schedule's), and the report.

    The value method compiles and runs ``network`` (:mod:`.isovalue`); the others only
    read its arrays. ``network`` itself is not changed: the lifted network shares its
    store and every array lifting does not rewire.
    """
    lifted, report, _ = lift(network, lifting)
    return lifted, report


def lift(network: Network, lifting: str | LiftingSettings = "structural") -> tuple[Network, CompressionReport,
                                                                                     np.ndarray]:
    """:func:`compress`, and per neuron of ``network`` (global numbering of :class:`~.flat.Flat`) the neuron
    that stands for it in the lifted network (:func:`~.lifting.representatives`; itself without lifting).

    The lifted network keeps the numbering, so a representative that the lifted network's own chain
    pruning bypasses resolves further (:func:`~.pruning.resolve` on the lifted network).
    """
    settings = LiftingSettings.of(lifting)
    report = CompressionReport(len(network.samples), settings)
    started = time.perf_counter()
    flat = Flat(network)
    bypass = chain_bypass(flat)
    needed = np.concatenate(flat.reachable())
    seconds = time.perf_counter() - started
    everything = np.ones(len(needed), dtype=bool)
    report.stages.append(Stage("ground network", count(network, flat, needed, everything), 0.0))
    report.stages.append(Stage("chain pruning", count(network, flat, needed, ~bypass.global_mask()), seconds))
    if settings.method == "none":
        return network, report, np.arange(flat.size, dtype=np.int64)
    started = time.perf_counter()
    vetoed = None
    graph = NeuronGraph(network, flat, bypass, needed)
    scope = [graph.example] if settings.scope == "example" else []
    if settings.method == "structural":
        classes, form = structural_classes(graph, scope)
    else:
        values = value_classes(Schedule(network), graph, inits=settings.iso_inits,
                               digits=settings.iso_digits, seed=settings.seed)
        # facts by their exact values, never by value with computed neurons; computed neurons of one kind, of
        # any rule or layer; a weighted aggregation W x (whose row may be x's) by W and the class of x
        kind, inner = graph.kind, graph.inner
        value = np.where(kind == FACT_KIND, graph.signature, values)
        by_value = keyed_classes(graph, [kind, graph.head, kind[inner], value[inner], *scope])
        classes, form = by_value, np.zeros(len(by_value), np.int8)
        if settings.iso_check:
            classes, form = structural_classes(graph, [by_value, *scope])
            vetoed = _vetoed(graph, by_value, classes)
    rep = representatives(graph, classes)
    lifted = realize(graph, rep)
    seconds = time.perf_counter() - started
    lifted_flat = Flat(lifted)
    lifted_needed = np.concatenate(lifted_flat.reachable())
    pruned = chain_bypass(lifted_flat).global_mask()
    report.stages.append(Stage(settings.describe(), count(lifted, lifted_flat, lifted_needed, ~pruned), seconds,
                               vetoed, merges(graph, rep, form, pruned)))
    return lifted, report, rep


def _vetoed(graph: NeuronGraph, proposed: np.ndarray, certified: np.ndarray) -> int:
    """Merges the check refused: per proposed class, the certified classes its neurons fall in, less one."""
    keyed = graph.needed & ~graph.bypassed
    _, pairs = row_ids(np.column_stack([proposed[keyed], certified[keyed]]))
    return pairs - len(np.unique(proposed[keyed]))
