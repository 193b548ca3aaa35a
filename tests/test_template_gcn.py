"""templates/gcn.rules computes the formula its header states, molecule by molecule."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model

TEMPLATE = REPO / "templates" / "gcn.rules"
MOLECULES = REPO / "datasets" / "molecules"
FACT = re.compile(r"([a-z][a-z0-9_]*)\(([^()]*)\)")


def molecules() -> list[tuple[dict[str, str], list[tuple[str, str]]]]:
    """Per training molecule: each atom's type, and the directed bonds (both directions are written)."""
    out = []
    for line in (MOLECULES / "trainExamples.txt").read_text().splitlines():
        if line.startswith("%") or not line.strip():
            continue
        facts = [(p, [a.strip() for a in args.split(",")]) for p, args in FACT.findall(line)]
        bonds = [(args[0], args[1]) for p, args in facts if p == "bond"]
        bond_ids = {args[2] for p, args in facts if p == "bond"}
        types = {args[0]: p for p, args in facts if len(args) == 1 and args[0] not in bond_ids}
        out.append((types, bonds))
    return out


def documented_output(w: dict[str, np.ndarray], types: dict[str, str], bonds: list[tuple[str, str]]) -> float:
    """The header's formula: embeddings, two mean-aggregation GCN layers with relu, mean readout, sigmoid."""
    h = {a: w[f"w_node_{t}"][:, 0] for a, t in types.items()}
    for layer in ("l1", "l2"):
        new = {}
        for x, own in h.items():
            neighbours = [h[y] for a, y in bonds if a == x]
            total = w[f"w_{layer}_self"] @ own
            if neighbours:
                total = total + w[f"w_{layer}_nb"] @ np.mean(neighbours, axis=0)
            new[x] = np.maximum(total, 0.0)
        h = new
    z = float((w["w_out"] @ np.mean(list(h.values()), axis=0))[0])
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_network_is_the_documented_gcn(seed):
    model = Model(TEMPLATE, seed=seed)
    data = Dataset.load(MOLECULES / "trainExamples.txt", MOLECULES / "trainQueries.txt")
    outputs = model.predict(data).outputs.reshape(-1)
    weights = model.parameters()
    expected = [documented_output(weights, types, bonds) for types, bonds in molecules()]
    assert len(expected) == len(outputs) > 1
    assert outputs == pytest.approx(expected, abs=1e-12)
    assert len(set(np.round(outputs, 9))) > 1  # molecules differ, so a wiring mistake could not hide
