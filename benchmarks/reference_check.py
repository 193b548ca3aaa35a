"""Check the reference-engine harness and print the reference's figures on the shared data.

1. Every conformance case (``../shared/conformance``) through :func:`reference_engine.forward_outputs`:
   the largest absolute difference from ``expected.json`` and whether every output is within 1e-6
   (absolute or relative).
2. Mutagenesis with the c11 conformance template, NCI 786_0 with the paper's molecule GNN over its own atom
   and bond types, kinships with the paper's knowledge-base embedding template (``paper_templates``): build
   times, neuron counts and Adam epoch times, with the reference's compression (iso-value compression and
   chain pruning) off and on.

Usage: ``python benchmarks/reference_check.py [--epochs N] [--skip-conformance] [--only NAME ...]``.
Exits 2 when the reference engine cannot run here (the reason is printed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paper_templates  # noqa: E402
import reference_engine  # noqa: E402

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
TOLERANCE = 1e-6


def _flatten(value: object) -> list[float]:
    if isinstance(value, list):
        return [number for item in value for number in _flatten(item)]
    return [float(value)]


def check_conformance() -> bool:
    """Reproduce every conformance case; print one line per case; True when all are within tolerance."""
    print("conformance (forward pass, compression off, weights by name)")
    all_ok = True
    for case in sorted(path for path in (SHARED / "conformance").iterdir() if path.is_dir()):
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))["outputs"]
        try:
            outputs = reference_engine.forward_outputs(
                case / "template.txt", case / "examples.txt", case / "queries.txt", case / "weights.json"
            )
        except reference_engine.ReferenceEngineError as error:
            print(f"  {case.name:22s} FAILED  {error}")
            all_ok = False
            continue
        pairs = [
            (got, want)
            for output, target in zip(outputs, expected)
            for got, want in zip(_flatten(output), _flatten(target))
        ]
        worst = max((abs(got - want) for got, want in pairs), default=math.nan)
        ok = len(outputs) == len(expected) and all(
            abs(got - want) <= TOLERANCE * max(1.0, abs(want)) for got, want in pairs
        )
        all_ok &= ok
        verdict = "ok" if ok else "MISMATCH"
        print(f"  {case.name:22s} {verdict:8s} {len(outputs):4d}/{len(expected):<4d} outputs  max |diff| {worst:.3g}")
    return all_ok


def datasets(folder: Path) -> dict[str, tuple[Path, Path, Path, tuple[int, ...]]]:
    """name -> (template, examples, queries, batch sizes); generated templates are written into ``folder``."""
    data = SHARED / "datasets"
    nci = data / "nci_gi50" / "786_0"
    nci_template = folder / "nci_786_0_molecule_gnn.txt"
    nci_template.write_text(paper_templates.molecule_gnn(*paper_templates.molecule_types(nci / "examples.txt")))
    kinships = data / "kbs" / "kinships"
    kinships_template = folder / "kinships_kb_embedding.txt"
    entities, relations = paper_templates.kb_vocabulary(kinships / "examples.txt", "person", "rel")
    kinships_template.write_text(paper_templates.kb_embedding(entities, relations, "r(R,X,Y)"))
    mutagenesis = data / "mutagenesis"
    return {
        "mutagenesis": (
            SHARED / "conformance" / "c11_mutagenesis_gnn" / "template.txt",
            mutagenesis / "examples.txt",
            mutagenesis / "queries.txt",
            (1, 32),
        ),
        "nci_786_0": (nci_template, nci / "examples.txt", nci / "queries.txt", (1, 32)),
        "kinships": (kinships_template, kinships / "examples.txt", kinships / "queries.txt", (1, 1024)),
    }


def measure(
    name: str, template: Path, examples: Path, queries: Path, batch_sizes: tuple[int, ...], epochs: int
) -> None:
    """Print build time, neurons and epoch times with the reference's compression off and on."""
    for compressed in (False, True):
        label = f"{name} compression {'on ' if compressed else 'off'}"
        try:
            figures = reference_engine.train_epochs(
                template,
                examples,
                queries,
                epochs=epochs,
                batch_sizes=batch_sizes,
                iso_value_compression=compressed,
                chain_pruning=compressed,
            )
        except reference_engine.ReferenceEngineError as error:
            print(f"  {label}: FAILED  {error}")
            continue
        types = ", ".join(
            f"{kind.removesuffix('Neuron')} {count}" for kind, count in sorted(figures["neuron_types"].items())
        )
        print(
            f"  {label}: {figures['samples']} samples, template {figures['template_build_s']:.2f} s, "
            f"dataset build {figures['dataset_build_s']:.2f} s, neurons {figures['neurons']} ({types})"
        )
        for run in figures["training"]:
            epoch_s = " ".join(f"{seconds:.3f}" for seconds in run["epoch_s"])
            print(
                f"      batch {run['batch_size']:5d}: epoch median {run['median_epoch_s']:.4f} s, "
                f"min {run['min_epoch_s']:.4f} s "
                f"[{epoch_s}], mean error {run['mean_error'][0]:.4f} -> {run['mean_error'][-1]:.4f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per batch size (default 10)")
    parser.add_argument("--skip-conformance", action="store_true")
    parser.add_argument("--only", nargs="*", help="dataset names to measure (default: all)")
    arguments = parser.parse_args()

    reason = reference_engine.unavailable_reason()
    if reason is not None:
        print(f"reference engine unavailable: {reason}")
        return 2
    if not SHARED.is_dir():
        print(f"shared material not found: {SHARED}")
        return 2
    print(f"reference engine: {reference_engine.version()}")
    conformance_ok = arguments.skip_conformance or check_conformance()
    with tempfile.TemporaryDirectory(prefix="reference_check_") as folder:
        for name, (template, examples, queries, batch_sizes) in datasets(Path(folder)).items():
            if arguments.only and name not in arguments.only:
                continue
            print(name)
            measure(name, template, examples, queries, batch_sizes, arguments.epochs)
    return 0 if conformance_ok else 1


if __name__ == "__main__":
    sys.exit(main())
