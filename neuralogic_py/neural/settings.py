"""Neuron functions used where the template states none: the two reference profiles.

A rule's ``[activation=..., combination=..., aggregation=...]`` and a predicate's
``h/1 [activation=..., combination=...]`` always win; these settings fill in the rest.

==================  ===========  ===========  =====================================
profile             activation   combination  aggregation
==================  ===========  ===========  =====================================
``REFERENCE``       tanh         sum          avg   (the Java CLI's ``Settings``)
``PYNEURALOGIC``    identity     sum          avg   (PyNeuraLogic's ``SettingsProxy``)
==================  ===========  ===========  =====================================

The activation and combination apply to rule and atom neurons alike; soft negation
``~x`` is ``reverse`` (1 - x) in both. ``output_activation``, when set, replaces the
activation of the atom neurons that are sample outputs (the reference's output
inference, language.md §5.5, makes it identity for classification with logits).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import NeuralogicError
from ..language.functions import canonical_function


@dataclass(frozen=True)
class NeuralSettings:
    rule_activation: str = "tanh"
    atom_activation: str = "tanh"
    rule_combination: str = "sum"
    atom_combination: str = "sum"
    aggregation: str = "avg"
    negation: str = "reverse"
    output_activation: str | None = None

    def __post_init__(self) -> None:
        for key, role in (("rule_activation", "activation"), ("atom_activation", "activation"),
                          ("negation", "activation"), ("output_activation", "activation"),
                          ("rule_combination", "combination"), ("atom_combination", "combination"),
                          ("aggregation", "aggregation")):
            name = getattr(self, key)
            if name is None:
                continue
            canonical = canonical_function(role, name)
            if canonical is None:
                raise NeuralogicError(f"unknown {role} function '{name}' for {key}")
            if "agg_terms" in canonical:
                raise NeuralogicError(f"{canonical} names a rule's head variables: it belongs in that rule's "
                                      f"metadata, not in the default {key}")
            object.__setattr__(self, key, canonical)

    def with_output_activation(self, name: str | None) -> NeuralSettings:
        return replace(self, output_activation=name)


REFERENCE = NeuralSettings()
PYNEURALOGIC = NeuralSettings(rule_activation="identity", atom_activation="identity")
PROFILES = {"reference": REFERENCE, "pyneuralogic": PYNEURALOGIC}
