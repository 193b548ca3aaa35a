"""Generate datasets/carbonyl: random molecule-like graphs labelled by whether they hold a C=O bond.

Each graph has 6 to 14 atoms of the types the bundled molecule GNN knows (c, n, o,
h, cl, s), connected by a random spanning tree plus up to two extra bonds (rings);
bonds are single (b_1), double (b_2) or aromatic (b_ar). The label is 1.0 when some
carbon and oxygen share a double bond (a carbonyl group), else 0.0; graphs are drawn
until both classes have the same count. The encoding is datasets/molecules' (see
templates/gnn.rules): unary atom-type facts, ``bond(X, Y, B)`` in both directions and
a unary bond-type fact on the bond id. Deterministic: running this script rewrites
the same files.

    python datasets/make_carbonyl.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ATOMS = ("c", "h", "o", "n", "cl", "s")
ATOM_P = (0.45, 0.22, 0.15, 0.1, 0.04, 0.04)
BONDS = ("b_1", "b_2", "b_ar")
BOND_P = (0.7, 0.15, 0.15)
TRAIN, TEST = 160, 80
SEED = 2021


def molecule(rng: np.random.Generator) -> tuple[str, float]:
    n = int(rng.integers(6, 15))
    atoms = rng.choice(ATOMS, size=n, p=ATOM_P)
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n)}  # a random spanning tree
    for _ in range(int(rng.integers(0, 3))):
        a, b = sorted(rng.choice(n, size=2, replace=False).tolist())
        edges.add((a, b))
    facts = [f"{atoms[i]}(a{i + 1})" for i in range(n)]
    carbonyl = False
    for k, (a, b) in enumerate(sorted(edges), start=1):
        kind = str(rng.choice(BONDS, p=BOND_P))
        facts += [f"bond(a{a + 1}, a{b + 1}, b{k})", f"bond(a{b + 1}, a{a + 1}, b{k})", f"{kind}(b{k})"]
        carbonyl |= kind == "b_2" and {atoms[a], atoms[b]} == {"c", "o"}
    return ", ".join(facts) + ".", 1.0 if carbonyl else 0.0


def balanced(rng: np.random.Generator, count: int) -> list[tuple[str, float]]:
    """``count`` molecules, half of each class, in random order."""
    found: dict[float, list[str]] = {0.0: [], 1.0: []}
    while min(len(v) for v in found.values()) < count // 2:
        text, label = molecule(rng)
        if len(found[label]) < count // 2:
            found[label].append(text)
    items = [(t, label) for label, texts in found.items() for t in texts]
    return [items[i] for i in rng.permutation(len(items))]


def write(directory: Path, prefix: str, items: list[tuple[str, float]]) -> None:
    header = f"% datasets/carbonyl, {prefix} split: {len(items)} molecules (written by datasets/make_carbonyl.py)\n"
    (directory / f"{prefix}Examples.txt").write_text(header + "".join(t + "\n" for t, _ in items))
    (directory / f"{prefix}Queries.txt").write_text(header + "".join(f"{label} predict.\n" for _, label in items))


def main() -> None:
    rng = np.random.default_rng(SEED)
    directory = Path(__file__).resolve().parent / "carbonyl"
    directory.mkdir(exist_ok=True)
    write(directory, "train", balanced(rng, TRAIN))
    write(directory, "test", balanced(rng, TEST))
    (directory / "template.txt").write_text("% The template for this dataset is the bundled molecule GNN "
                                            "(see its header).\nimport ../../templates/gnn.rules\n")


if __name__ == "__main__":
    main()
