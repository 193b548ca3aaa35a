"""Training speed and memory: time per epoch against the reference engine and PyTorch Geometric, same run.

Cases (data from ``../shared/datasets``; a case is skipped when its data is absent):

``mutagenesis-c11``  188 molecules, the c11 conformance template (42 atom-type and 6 bond-type embeddings,
                     two message-passing layers, averaged readout; 3-dim values);
``mutagenesis-gcn``  the same molecules, ``templates/gcn.rules`` (two GCN layers with mean aggregation,
                     10-dim values) with one embedding rule per atom type of the data;
``mutag-gcn``        the TU MUTAG graphs (the same 188 molecules without hydrogens: 17.9 nodes each,
                     7 node types), written by ``neuralogic_py.graphs`` (unary node types, ``bond/2``) into a
                     temporary folder, ``templates/gcn.rules`` with an embedding rule per node type;
``nci-gnn``          NCI 786_0, 3504 molecules, the lifting paper's molecule GNN (paper_templates.py).

Engines, each timed at every batch size (default 1 and 32):

``ours``        ``neuralogic_py`` (float64, OpenBLAS on one thread), once per engine: ``fused`` (the numba
                training step, ``engine="fused"``) and ``numpy`` (op by op on the tape, ``engine="numpy"``),
                each from the same initial weights and batch order; Adam (lr 1e-3), MSE, through
                ``learn.trainer.train`` (what ``Model.fit`` runs). The network is built with
                ``lifting="none"``: exact chain pruning is always on since the lifting stage landed, so this
                row is the neuralized network with chains pruned and nothing merged (not the raw ground
                network of the figures before commit d2e79f2); "ours, lifted" is the same with structural
                lifting across examples (``lifting="structural"``, the default). Two batch orders: the
                trainer's fixed mini-batches visited in a new order each epoch (``shuffle="batches"``, the
                default; like PyG's batches collated once) and, for batch sizes above 1, new batches every
                epoch (``shuffle="samples"``; like PyG's shuffling ``DataLoader``). At batch size 1 the two
                are the same. The child also reports the largest difference between the fused and the numpy
                engine's final weights of each setting (it should be at rounding level);
``reference``   PyNeuraLogic 0.9.x (NeuraLogic's Java engine) through ``reference_engine.train_epochs``:
                the same template text and files, Adam (lr 1e-3), MSE; once with its default iso-value
                compression and chain pruning ("default": the counterpart of "ours, lifted") and once without
                either ("plain": the raw ground network; "ours" has its chains pruned, so it computes fewer
                neurons than "plain"). Batch size b > 1 is its parallel mini-batch training;
``pyg``         PyTorch Geometric on the GCN cases only: the same model (a bias-free linear embedding of
                one-hot node types, two ``SAGEConv(aggr="mean", bias=False)`` layers with relu, mean pooling,
                a bias-free linear readout and a sigmoid), MSE, Adam (lr 1e-3), float32, CPU. Timed with
                ``torch.set_num_threads(1)`` and with torch's default thread count, with a shuffling
                ``DataLoader`` (collating batches every epoch, as users run it) and with batches collated
                once (the best case, like our fixed batches); plus the canonical ``GCNConv`` (symmetric
                normalization, self-loops, bias) in the loader setting, to show the layer choice hardly
                changes PyG's time. Before timing, the script checks that the PyG model and our network
                compute the same outputs (float64, the same weights copied by name).

An epoch visits every sample once; every engine's figure is the median epoch after the first (ours
builds its fused program or plans in the first epoch, reported separately; the reference warms up its
JIT). The last column of the per-case tables is "ours, fused" with fixed batches over that row's median
(below 1, ours is faster); the like-for-like table at the end puts fixed batches next to PyG's
pre-collated batches and new batches every epoch next to PyG's DataLoader, each engine named. Each engine and case runs in its
own child process so that its peak resident memory (``ru_maxrss``: grounding or dataset build, network,
and training at every batch size) is its own; the reference's includes its JVM.

Run: ``python benchmarks/training.py [--cases mutagenesis-c11,mutagenesis-gcn,mutag-gcn,nci-gnn]
[--batch-sizes 1,32] [--epochs-scale 1.0] [--engines fused,numpy] [--no-reference] [--no-plain-reference]
[--no-pyg] [--no-lifted] [--quick]`` (``--quick``: half the epochs, no plain reference).
torch and torch_geometric are benchmark baselines only (``pip install torch==2.13.0 torch_geometric``), never
dependencies of the project.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported, here and in the children

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import paper_templates
from timing import peak_rss_mb, rss_mb

SHARED = (ROOT / ".." / "shared").resolve()
DATASETS = SHARED / "datasets"
GCN_TEMPLATE = ROOT / "templates" / "gcn.rules"
CASES = ("mutagenesis-c11", "mutagenesis-gcn", "mutag-gcn", "nci-gnn")
LR = 1e-3
# epochs timed per batch size class: (online, mini-batch); scaled by --epochs-scale
EPOCHS = {"mutagenesis-c11": (10, 30), "mutagenesis-gcn": (10, 30), "mutag-gcn": (10, 30), "nci-gnn": (3, 8)}
MUTAG_TYPES = [f"label{k}" for k in range(1, 8)]  # TU MUTAG node labels 1..7 as written in the shared copy


@dataclass
class Case:
    """One benchmark case: the files every engine reads, and whether PyG runs it (the GCN cases)."""

    name: str
    template: Path
    examples: Path
    queries: Path
    gcn: bool
    epochs: tuple[int, int]
    note: str = ""


# -- the GCN template for a dataset's node types ----------------------------------------------------

_EMBEDDING_RULE = re.compile(r"^\$w_node_\w+=\{(\d+),1\} node0\(A\) :- \w+\(A\)\. \[activation=identity\]$")


def gcn_template(node_types: list[str], bond: str = "bond(X, Y, B)") -> str:
    """``templates/gcn.rules`` with its embedding rules replaced by one per node type (comments dropped), and its
    edge literal ``bond(X, Y, B)`` written as ``bond``."""
    lines = [line.strip() for line in GCN_TEMPLATE.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and not line.startswith("%")]
    dims = {m.group(1) for m in map(_EMBEDDING_RULE.match, lines) if m}
    if len(dims) != 1:
        raise ValueError(f"{GCN_TEMPLATE} must hold embedding rules of one dimension, found {sorted(dims)}")
    dim = dims.pop()
    embeddings = [f"$w_node_{t}={{{dim},1}} node0(A) :- {t}(A). [activation=identity]" for t in node_types]
    rules = [line.replace("bond(X, Y, B)", bond) for line in lines if not _EMBEDDING_RULE.match(line)]
    return "\n".join(embeddings + rules) + "\n"


def write_mutag(folder: Path) -> tuple[Path, Path]:
    """TU MUTAG as NeuraLogic text (``neuralogic_py.graphs``): one line per graph, ``label<L>(nK)`` per node (L its
    TU label) and every line of the TU edge list as ``bond(nU, nV)`` (it holds both directions)."""
    from neuralogic_py.graphs import GraphEncoding, examples_text, queries_text, read_tu

    data = read_tu(DATASETS / "tu" / "MUTAG").to_dataset(GraphEncoding(unary=True, edge="bond"))
    examples, queries = folder / "mutag_examples.txt", folder / "mutag_queries.txt"
    examples.write_text(examples_text(data))
    queries.write_text(queries_text(data))
    return examples, queries


def make_cases(names: list[str], workdir: Path, scale: float) -> list[Case]:
    """The requested cases whose shared data is present (their generated files go to ``workdir``)."""
    cases = []
    epochs = {name: (max(2, round(a * scale)), max(2, round(b * scale))) for name, (a, b) in EPOCHS.items()}
    mutagenesis = DATASETS / "mutagenesis"
    for name in names:
        if name == "mutagenesis-c11":
            template = SHARED / "conformance" / "c11_mutagenesis_gnn" / "template.txt"
            if template.is_file() and mutagenesis.is_dir():
                cases.append(Case(name, template, mutagenesis / "examples.txt", mutagenesis / "queries.txt", False,
                                  epochs[name]))
        elif name == "mutagenesis-gcn":
            if mutagenesis.is_dir():
                atoms, _ = paper_templates.molecule_types(mutagenesis / "examples.txt")
                template = workdir / "mutagenesis_gcn.txt"
                template.write_text(gcn_template(atoms))
                cases.append(Case(name, template, mutagenesis / "examples.txt", mutagenesis / "queries.txt", True,
                                  epochs[name], f"{len(atoms)} atom types"))
        elif name == "mutag-gcn":
            if (DATASETS / "tu" / "MUTAG").is_dir():
                examples, queries = write_mutag(workdir)
                template = workdir / "mutag_gcn.txt"
                template.write_text(gcn_template(MUTAG_TYPES, "bond(X, Y)"))
                cases.append(Case(name, template, examples, queries, True, epochs[name], "7 node types"))
        elif name == "nci-gnn":
            folder = DATASETS / "nci_gi50" / "786_0"
            if folder.is_dir():
                atoms, bonds = paper_templates.molecule_types(folder / "examples.txt")
                template = workdir / "nci_gnn.txt"
                template.write_text(paper_templates.molecule_gnn(atoms, bonds))
                cases.append(Case(name, template, folder / "examples.txt", folder / "queries.txt", False,
                                  epochs[name], f"{len(atoms)} atom, {len(bonds)} bond types"))
        else:
            raise SystemExit(f"unknown case {name!r}; choose from {', '.join(CASES)}")
    return cases


# -- child processes --------------------------------------------------------------------------------


def run_child(kind: str, case: Case, batch_sizes: list[int], **extra: Any) -> dict[str, Any]:
    """Run ``kind`` (ours, pyg, check) for ``case`` in a fresh interpreter; its JSON result."""
    job = {"kind": kind, "case": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(case).items()},
           "batch_sizes": batch_sizes, **extra}
    finished = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)],
                              capture_output=True, text=True, check=False)
    lines = finished.stdout.strip().splitlines()
    if finished.returncode != 0 or not lines:
        tail = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{kind} child failed ({finished.returncode}): {tail}"}
    return json.loads(lines[-1])


def epochs_for(case: dict[str, Any], batch_size: int) -> int:
    return case["epochs"][0] if batch_size == 1 else case["epochs"][1]


def summary(epoch_s: list[float]) -> dict[str, Any]:
    """Median and min epoch (ms) over the epochs after the first, and the first."""
    steady = epoch_s[1:] if len(epoch_s) > 1 else epoch_s
    return {"median_ms": 1000 * statistics.median(steady), "min_ms": 1000 * min(steady),
            "first_ms": 1000 * epoch_s[0], "epochs": len(epoch_s)}


def child_ours(job: dict[str, Any]) -> dict[str, Any]:
    import inspect

    import numpy as np

    from neuralogic_py.learn.dataset import Dataset
    from neuralogic_py.learn.losses import make_loss
    from neuralogic_py.learn.model import Model
    from neuralogic_py.learn.optimizers import make_optimizer
    from neuralogic_py.learn.trainer import Scorer, TrainingConfig, train
    from neuralogic_py.neural import predict

    case = job["case"]
    lifting = job["lifting"]
    can_lift = "lifting" in inspect.signature(predict.build).parameters
    if not can_lift and lifting != "none":
        return {"skipped": f"lifting {lifting}: this version has no lifting stage"}
    baseline = rss_mb()
    started = time.perf_counter()
    model = Model(case["template"], seed=0, loss="mse")
    data = Dataset.load(case["examples"], case["queries"])
    # what Model.build does, with the lifting stage chosen here
    compiled = predict.build(model.template, data.examples, data.query_lines, settings=model.settings,
                             store=model.store, examples_file=data.examples_file, queries_file=data.queries_file,
                             **({"lifting": lifting} if can_lift else {}))
    build_s = time.perf_counter() - started
    scorer = Scorer(compiled, make_loss("mse"), compiled.targets(), True)
    samples = np.arange(len(compiled.samples))
    runs, finals, skipped = [], {}, []
    for engine in job["engines"]:
        compiled.engine = engine
        for batch_size in job["batch_sizes"]:
            for shuffle in ("batches", "samples") if batch_size > 1 else ("batches",):
                model.store.reset(np.random.default_rng(12345))  # the same initial weights for every run
                epochs = epochs_for(case, batch_size)
                if shuffle == "samples":
                    epochs = max(2, epochs // 3)
                config = TrainingConfig(epochs=epochs, batch_size=batch_size, shuffle=shuffle, eval_every=epochs,
                                        restore_best=False)
                stamps = [time.perf_counter()]
                try:
                    history = train(scorer, model.store.learnable(), make_optimizer("adam", LR), samples, config,
                                    np.random.default_rng(0 if shuffle == "batches" else 1),
                                    on_epoch=lambda done, h, record=stamps.append: record(time.perf_counter()))
                except Exception as error:  # noqa: BLE001 - an engine that cannot run this network is a note
                    skipped.append(f"{engine}: {type(error).__name__}: {str(error).splitlines()[0]}")
                    break
                finals[(engine, batch_size, shuffle)] = {k: v.copy() for k, v in model.store.learnable().items()}
                runs.append({"engine": engine, "ran": history.engine, "batch_size": batch_size, "shuffle": shuffle,
                             **summary(list(np.diff(stamps))), "train_error": history.train_error[-1]})
    differences = {}
    for (engine, batch_size, shuffle), params in finals.items():
        other = finals.get(("numpy", batch_size, shuffle))
        if engine != "numpy" and other is not None:
            differences[f"{engine} vs numpy, batch {batch_size}, {shuffle}"] = max(
                float(np.max(np.abs(params[k] - other[k]))) for k in params)
    rows = sum(compiled.plan(np.array([i])).rows for i in range(min(len(samples), 50)))
    return {"build_s": build_s, "samples": len(samples), "rows_per_sample": rows / min(len(samples), 50),
            "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), "runs": runs, "differences": differences,
            "engines_skipped": skipped}


# PyG side: graphs read from the NeuraLogic text (the files every engine reads)

_FACT = re.compile(r"([a-z][A-Za-z0-9_]*)\(([^()]*)\)")


def read_graphs(examples: str, queries: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Node types and, per example line, its nodes' type indices, directed edges and target.

    Nodes are the arguments of unary facts that are not bond ids and the first two arguments of
    ``bond/3`` (or ``bond/2``, without ids); each unary fact on a node names its type (one per node).
    """
    lines = [line for line in Path(examples).read_text().splitlines() if line.strip()]
    targets = [float(line.split()[0]) for line in Path(queries).read_text().splitlines() if line.strip()]
    parsed = []
    types: set[str] = set()
    for line in lines:
        facts = [(p, [a.strip() for a in args.split(",")]) for p, args in _FACT.findall(line)]
        bonds = [args for p, args in facts if p == "bond" and len(args) in (2, 3)]
        bond_ids = {args[2] for args in bonds if len(args) == 3}
        node_type = {args[0]: p for p, args in facts if len(args) == 1 and args[0] not in bond_ids}
        types.update(node_type.values())
        parsed.append((node_type, bonds))
    names = sorted(types)
    index = {t: i for i, t in enumerate(names)}
    graphs = []
    for (node_type, bonds), target in zip(parsed, targets):
        nodes = {n: i for i, n in enumerate(node_type)}
        for u, v, *_ in bonds:
            for n in (u, v):
                if n not in nodes:
                    raise ValueError(f"node {n} has no type fact")
        graphs.append({"types": [index[node_type[n]] for n in nodes],
                       "edges": [(nodes[u], nodes[v]) for u, v, *_ in bonds], "target": target})
    return names, graphs


def pyg_setup(job: dict[str, Any], dtype: Any) -> tuple[list[str], list[Any]]:
    import torch
    from torch_geometric.data import Data

    names, graphs = read_graphs(job["case"]["examples"], job["case"]["queries"])
    data = []
    for g in graphs:
        x = torch.nn.functional.one_hot(torch.tensor(g["types"]), len(names)).to(dtype)
        edges = torch.tensor(g["edges"], dtype=torch.long).reshape(-1, 2).t().contiguous()
        data.append(Data(x=x, edge_index=edges, y=torch.tensor([g["target"]], dtype=dtype)))
    return names, data


def pyg_model(types: int, dim: int, layer: str) -> Any:
    import torch
    from torch_geometric.nn import GCNConv, SAGEConv, global_mean_pool

    class GCN(torch.nn.Module):
        """templates/gcn.rules as a PyG model (see the module docstring)."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Linear(types, dim, bias=False)
            if layer == "sage":
                self.conv1 = SAGEConv(dim, dim, aggr="mean", bias=False)
                self.conv2 = SAGEConv(dim, dim, aggr="mean", bias=False)
            else:
                self.conv1, self.conv2 = GCNConv(dim, dim), GCNConv(dim, dim)
            self.out = torch.nn.Linear(dim, 1, bias=False)

        def forward(self, x: Any, edge_index: Any, batch: Any, graphs: int) -> Any:
            h = self.embed(x)
            h = torch.relu(self.conv1(h, edge_index))
            h = torch.relu(self.conv2(h, edge_index))
            return torch.sigmoid(self.out(global_mean_pool(h, batch, graphs))).reshape(-1)

    return GCN()


def gcn_dim() -> int:
    match = next(filter(None, map(_EMBEDDING_RULE.match, GCN_TEMPLATE.read_text().splitlines())))
    return int(match.group(1))


def child_pyg(job: dict[str, Any]) -> dict[str, Any]:
    import torch
    from torch_geometric.data import Batch
    from torch_geometric.loader import DataLoader

    default_threads = torch.get_num_threads()
    baseline = rss_mb()
    started = time.perf_counter()
    names, data = pyg_setup(job, torch.float32)
    build_s = time.perf_counter() - started
    runs = []
    for threads in (1, default_threads):
        torch.set_num_threads(threads)
        for layer in ("sage", "gcnconv"):
            for batch_size in job["batch_sizes"]:
                for loading in ("loader", "collated"):
                    if layer == "gcnconv" and (loading == "collated" or threads != 1):
                        continue
                    torch.manual_seed(0)
                    model = pyg_model(len(names), gcn_dim(), layer)
                    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
                    if loading == "loader":
                        loader: Any = DataLoader(data, batch_size=batch_size, shuffle=True,
                                                 generator=torch.Generator().manual_seed(0))
                    else:
                        loader = [Batch.from_data_list(data[i:i + batch_size])
                                  for i in range(0, len(data), batch_size)]
                    order = torch.Generator().manual_seed(0)
                    epoch_s, errors = [], []
                    for _ in range(epochs_for(job["case"], batch_size)):
                        t0 = time.perf_counter()
                        total = 0.0
                        batches = loader if loading == "loader" else \
                            [loader[i] for i in torch.randperm(len(loader), generator=order).tolist()]
                        for batch in batches:
                            optimizer.zero_grad()
                            out = model(batch.x, batch.edge_index, batch.batch, batch.num_graphs)
                            loss = torch.nn.functional.mse_loss(out, batch.y)
                            loss.backward()
                            optimizer.step()
                            total += float(loss) * batch.num_graphs
                        epoch_s.append(time.perf_counter() - t0)
                        errors.append(total / len(data))
                    runs.append({"batch_size": batch_size, "threads": threads, "layer": layer, "loading": loading,
                                 **summary(epoch_s), "train_error": errors[-1]})
    return {"build_s": build_s, "default_threads": default_threads, "torch": torch.__version__,
            "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), "runs": runs}


def child_check(job: dict[str, Any]) -> dict[str, Any]:
    """Our outputs and the PyG model's with the same weights (float64): the largest difference."""
    import numpy as np
    import torch
    from torch_geometric.data import Batch

    from neuralogic_py.learn.dataset import Dataset
    from neuralogic_py.learn.model import Model

    case = job["case"]
    model = Model(case["template"], seed=0, loss="mse")
    data = Dataset.load(case["examples"], case["queries"])
    ours = model.predict(data).outputs.reshape(-1)
    names, graphs = pyg_setup(job, torch.float64)
    net = pyg_model(len(names), gcn_dim(), "sage").double()
    w = model.parameters()
    with torch.no_grad():
        net.embed.weight.copy_(torch.from_numpy(np.hstack([w[f"w_node_{t}"] for t in names])))
        for layer, conv in (("l1", net.conv1), ("l2", net.conv2)):
            conv.lin_r.weight.copy_(torch.from_numpy(w[f"w_{layer}_self"]))
            conv.lin_l.weight.copy_(torch.from_numpy(w[f"w_{layer}_nb"]))
        net.out.weight.copy_(torch.from_numpy(w["w_out"]))
        batch = Batch.from_data_list(graphs)
        theirs = net(batch.x, batch.edge_index, batch.batch, batch.num_graphs).numpy()
    return {"max_abs_diff": float(np.max(np.abs(ours - theirs))), "samples": len(ours)}


def child_main(job: dict[str, Any]) -> None:
    result = {"ours": child_ours, "pyg": child_pyg, "check": child_check}[job["kind"]](job)
    print(json.dumps(result))


# -- the parent: run everything, print the tables ---------------------------------------------------


@dataclass
class Row:
    """One timed configuration of one case and batch size."""

    engine: str
    median_ms: float
    min_ms: float
    first_ms: float | None = None
    note: str = ""


@dataclass
class CaseResult:
    case: Case
    rows: dict[int, list[Row]] = field(default_factory=dict)
    memory: list[tuple[str, float, float | None]] = field(default_factory=list)  # engine, peak, baseline MB
    notes: list[str] = field(default_factory=list)


def run_case(case: Case, batch_sizes: list[int], args: argparse.Namespace) -> CaseResult:
    result = CaseResult(case, {b: [] for b in batch_sizes})
    print(f"\n== {case.name} ({case.note or case.template.name})", flush=True)
    for lifting in ("none", "structural") if args.lifted else ("none",):
        ours = run_child("ours", case, batch_sizes, lifting=lifting, engines=args.engines.split(","))
        name = "ours" if lifting == "none" else f"ours, lifted ({lifting})"
        if "error" in ours or "skipped" in ours:
            result.notes.append(ours.get("error") or ours["skipped"])
            continue
        result.memory.append((name, ours["peak_rss_mb"], ours["baseline_rss_mb"]))
        result.notes.append(f"{name}: build (ground, neuralize, {'' if lifting == 'none' else 'lift, '}schedule) "
                            f"{ours['build_s']:.2f} s, {ours['samples']} samples, "
                            f"{ours['rows_per_sample']:.0f} computed rows per sample (online plans)")
        for run in ours["runs"]:
            label = f"{name}, {run['engine']}" + ("" if run["shuffle"] == "batches" else ", new batches every epoch")
            if run["ran"] != run["engine"]:
                label += f" (ran {run['ran']})"
            result.rows[run["batch_size"]].append(Row(label, run["median_ms"], run["min_ms"], run["first_ms"]))
        for what, diff in ours["differences"].items():
            result.notes.append(f"{name}: largest final-weight difference {what}: {diff:.1e}")
        for note in ours["engines_skipped"]:
            result.notes.append(f"{name}: skipped engine {note}")
        print(f"  {name} done: {[(r['engine'], r['batch_size'], r['shuffle'], round(r['median_ms'], 1)) for r in ours['runs']]}"
              f" differences {ours['differences']}", flush=True)
    if args.reference:
        import reference_engine

        if reference_engine.available():
            settings = [("reference (default: compressed)", True)]
            if args.plain_reference:
                settings.append(("reference (plain)", False))
            for label, compressed in settings:
                try:
                    epochs = max(case.epochs)
                    ref = reference_engine.train_epochs(case.template, case.examples, case.queries, epochs=epochs,
                                                        batch_sizes=batch_sizes, lr=LR, error="mse",
                                                        iso_value_compression=compressed, chain_pruning=compressed)
                except reference_engine.ReferenceEngineError as error:
                    result.notes.append(f"{label}: {error}")
                    continue
                if "peak_rss_mb" in ref:
                    result.memory.append((label, ref["peak_rss_mb"], None))
                result.notes.append(f"{label}: dataset build {ref['dataset_build_s']:.2f} s, "
                                    f"{ref['neurons']} neurons")
                for run in ref["training"]:
                    epoch_s = run["epoch_s"][: epochs_for(asdict(case), run["batch_size"])]
                    s = summary(epoch_s)
                    result.rows[run["batch_size"]].append(Row(label, s["median_ms"], s["min_ms"]))
                print(f"  {label} done", flush=True)
        else:
            result.notes.append(f"reference skipped: {reference_engine.unavailable_reason()}")
    if args.pyg and case.gcn:
        import importlib.util

        if importlib.util.find_spec("torch_geometric") is None:
            result.notes.append("PyG skipped: torch_geometric is not installed")
        else:
            check = run_child("check", case, batch_sizes)
            result.notes.append(check.get("error") or
                                f"PyG model = our network: largest output difference {check['max_abs_diff']:.1e} "
                                f"over {check['samples']} graphs (float64, same weights)")
            pyg = run_child("pyg", case, batch_sizes)
            if "error" in pyg:
                result.notes.append(pyg["error"])
            else:
                result.memory.append(("PyG", pyg["peak_rss_mb"], pyg["baseline_rss_mb"]))
                result.notes.append(f"PyG: torch {pyg['torch']}, default threads {pyg['default_threads']}")
                for run in pyg["runs"]:
                    layer = "SAGEConv" if run["layer"] == "sage" else "GCNConv"
                    loading = "DataLoader" if run["loading"] == "loader" else "pre-collated"
                    label = f"PyG {layer}, {loading}, {run['threads']} thread{'s' if run['threads'] > 1 else ''}"
                    result.rows[run["batch_size"]].append(Row(label, run["median_ms"], run["min_ms"],
                                                              run["first_ms"]))
                print("  PyG done", flush=True)
    return result


def report(results: list[CaseResult]) -> str:
    """Markdown: per case and batch size, every engine's epoch time and ours / it."""
    out = []
    for result in results:
        out.append(f"\n### {result.case.name}" + (f" ({result.case.note})" if result.case.note else ""))
        out.append("")
        out.append("| batch | engine | ms/epoch (median) | min | first epoch | ours / this |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for batch, rows in result.rows.items():
            ours = next((r for r in rows if r.engine == "ours, fused"), None)
            for row in rows:
                ratio = f"{ours.median_ms / row.median_ms:.2f}" if ours and row is not ours else ""
                first = f"{row.first_ms:.1f}" if row.first_ms is not None else ""
                out.append(f"| {batch} | {row.engine} | {row.median_ms:.1f} | {row.min_ms:.1f} | {first} | {ratio} |")
        if result.memory:
            out.append("")
            out.append("Peak resident memory (MB): " + "; ".join(
                f"{engine} {peak:.0f}" + (f" ({peak - base:.0f} above the {base:.0f} after imports)"
                                          if base is not None else "")
                for engine, peak, base in result.memory))
        for note in result.notes:
            out.append(f"- {note}")
    return "\n".join(out)


def like_for_like(results: list[CaseResult]) -> str:
    """Markdown: fixed batches beside PyG's pre-collated batches, new batches beside PyG's DataLoader (1 thread)."""
    out = ["\n### Like for like (median ms per epoch; ratios ours / PyG, below 1: ours faster)", "",
           "| case | batch | ours fused, fixed | ours numpy, fixed | ours lifted fused, fixed | PyG SAGEConv "
           "pre-collated | fused / PyG | lifted fused / PyG | ours fused, new batches | ours numpy, new batches | "
           "ours lifted fused, new batches | PyG SAGEConv DataLoader | fused / PyG | lifted fused / PyG |",
           "| --- |" + " --- |" * 13]
    for result in results:
        for batch, rows in result.rows.items():
            by = {r.engine: r.median_ms for r in rows}
            fresh = "" if batch == 1 else ", new batches every epoch"  # at batch 1 fixed batches are reshuffled

            def get(label: str) -> float | None:
                return by.get(label)

            def ratio(a: float | None, b: float | None) -> str:
                return f"{a / b:.2f}" if a and b else ""

            def cell(v: float | None) -> str:
                return f"{v:.1f}" if v is not None else ""

            lifted = "ours, lifted (structural)"
            fixed = [get("ours, fused"), get("ours, numpy"), get(f"{lifted}, fused")]
            new = [get(f"ours, fused{fresh}"), get(f"ours, numpy{fresh}"), get(f"{lifted}, fused{fresh}")]
            collated, loader = get("PyG SAGEConv, pre-collated, 1 thread"), get("PyG SAGEConv, DataLoader, 1 thread")
            out.append(f"| {result.case.name} | {batch} | " + " | ".join(map(cell, fixed)) + f" | {cell(collated)} | "
                       f"{ratio(fixed[0], collated)} | {ratio(fixed[2], collated)} | " + " | ".join(map(cell, new)) +
                       f" | {cell(loader)} | {ratio(new[0], loader)} | {ratio(new[2], loader)} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every case's epoch counts")
    parser.add_argument("--engines", default="fused,numpy", help="our engines to time")
    parser.add_argument("--quick", action="store_true", help="half the epochs, no plain reference")
    parser.add_argument("--no-reference", dest="reference", action="store_false")
    parser.add_argument("--no-plain-reference", dest="plain_reference", action="store_false",
                        help="time the reference with its default compression only")
    parser.add_argument("--no-pyg", dest="pyg", action="store_false")
    parser.add_argument("--no-lifted", dest="lifted", action="store_false",
                        help="time our engine without lifting only (when the lifting stage exists)")
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return 0
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.quick:
        args.epochs_scale *= 0.5
        args.plain_reference = False
    if not SHARED.is_dir():
        print(f"skipped: the shared material is absent ({SHARED})")
        return 0
    import platform

    print(f"training benchmark: Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"Adam lr {LR}, MSE, batch sizes {batch_sizes}")
    with tempfile.TemporaryDirectory(prefix="nlp_training_") as folder:
        cases = make_cases(args.cases.split(","), Path(folder), args.epochs_scale)
        results = [run_case(case, batch_sizes, args) for case in cases]
    print(report(results))
    print(like_for_like(results))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
