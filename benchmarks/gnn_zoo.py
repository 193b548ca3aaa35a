"""The peers' GNN benchmark: GCN, GIN and GraphSAGE from ``neuralogic_py.nn`` against the same PyG layers, one run.

Data: TU MUTAG (188 graphs) and NCI1 (4110) from ``../shared/datasets/tu`` (a dataset is skipped when absent).
Ours reads the folder with ``neuralogic_py.graphs.read_tu`` (one vector fact ``<[one-hot label]> feature(n<i>)``
per node, ``edge(n<s>, n<d>)`` per line of the edge list); PyG reads the same files with its own ``TUDataset``
(through symbolic links in a temporary folder), and the script checks that both hold the same graphs (node
features, edge sets, labels).

Models, identical on both sides (PyG's layer defaults; the zoo's layers compute PyG's formulas):

``gcn``   3 x ``GCNConv(in, 32)`` (self loops, symmetric normalisation, bias), ReLU after each;
``gin``   3 x ``GINConv(MLP([in, 32, 32]))`` (eps 0; MLP Linear-ReLU-Linear-ReLU, biases, no norm);
``sage``  3 x ``SAGEConv(in, 32)`` (mean aggregation, root weight, bias), ReLU after each;

then mean pooling and ``Linear(32, 1)``: one logit per graph, binary cross-entropy on logits.

Training, identical on both sides: Adam (lr 0.01), 100 epochs, batch 32 with new batches every epoch (PyG's
shuffling ``DataLoader``; ours ``shuffle="samples"``), the last epoch's weights; stratified folds (MUTAG 10,
NCI1 3) drawn once by ``neuralogic_py.learn.splits.stratified_folds`` and used by both; the same initial weights
on both sides, fresh per fold: PyG's (``torch.manual_seed`` of the fold's seed, then the model), copied into ours
by the zoo's ``pyg_names`` (without torch_geometric, ours draws its own); test accuracy at threshold 0 on the
logit. Ours in float64 (numpy, OpenBLAS on one thread; the
engine ``auto`` picks), PyG in float32 on the CPU with ``torch.set_num_threads(1)``.

Timing, on all graphs of a dataset, median epoch after the first: batch 1 and batch 32; ours with fixed batches
visited in a new order each epoch and (batch 32) with new batches every epoch, each on the engine ``auto`` takes
for a training of 100 epochs with those batches (measured on its first batches, as ``train`` does; the table
names it); PyG with its shuffling
``DataLoader`` and with batches collated once (visited in a new order each epoch). Build: ours reads and
encodes the TU files, grounds, neuralizes and lifts (``Model.build``); PyG's ``TUDataset`` processes the raw files
and the batches are collated once. Peak memory: each (side, dataset, model) runs in its own process; its
``ru_maxrss``.

Equality: per model, our network and the PyG model with the same weights (PyG's initial weights copied into ours
by the zoo's ``pyg_names``), both in float64, on the first 16 graphs of each dataset: the largest absolute
difference of the logits.

Run: ``python benchmarks/gnn_zoo.py [--datasets MUTAG,NCI1] [--models gcn,gin,sage] [--epochs 100] [--quick]
[--timing-only]`` (``--quick``: one fold, 5 epochs, one timed epoch after the first; ``--timing-only``: no
training on the folds, so no accuracy, and the peak memory is that of the build and the timing runs). torch and torch_geometric are benchmark
baselines only, never dependencies of the project; without them only our side runs.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported, here and in the children

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from timing import peak_rss_mb, rss_mb

TU = (ROOT / ".." / "shared" / "datasets" / "tu").resolve()
DATASETS = ("MUTAG", "NCI1")
MODELS = ("gcn", "gin", "sage")
WIDTH, LAYERS, LR, EPOCHS, BATCH = 32, 3, 0.01, 100, 32
FOLDS = {"MUTAG": 10, "NCI1": 3}
TIMED_EPOCHS = {"MUTAG": {1: 3, 32: 8}, "NCI1": {1: 2, 32: 4}}  # epochs timed on all graphs (the first not counted)
CHECK_GRAPHS = 16
CHECK_STEPS = 20  # Adam steps both sides take from the same weights on the same batches (float64)
SEED = 0


# -- what both sides share ----------------------------------------------------------------------------


def load(dataset: str) -> Any:
    from neuralogic_py.graphs import read_tu

    return read_tu(TU / dataset)


def folds(data: Any, k: int) -> list[Any]:
    """The stratified test folds (both sides use these)."""
    import numpy as np

    from neuralogic_py.learn.splits import stratified_folds

    classes = np.array([int(g.y) for g in data.graphs])
    if k == 1:  # --quick: one split, a tenth held out
        return [stratified_folds(classes, 10, np.random.default_rng(SEED))[0]]
    return stratified_folds(classes, k, np.random.default_rng(SEED))


def zoo_layers(kind: str, in_channels: int) -> list[Any]:
    """The model's modules in order: three convolutions, mean pooling, the linear readout ``predict``."""
    from neuralogic_py.nn import MLP, GCNConv, GINConv, Linear, MeanPooling, SAGEConv

    layers: list[Any] = []
    source, width = "feature", in_channels
    for k in range(1, LAYERS + 1):
        out = f"h{k}"
        if kind == "gcn":
            layers.append(GCNConv(width, WIDTH, out, source, activation="relu"))
        elif kind == "sage":
            layers.append(SAGEConv(width, WIDTH, out, source, activation="relu"))
        else:
            layers.append(GINConv(MLP([width, WIDTH, WIDTH], out, f"{out}_in", plain_last=False), source))
        source, width = out, WIDTH
    return [*layers, MeanPooling("pooled", source), Linear(WIDTH, 1, "predict", "pooled", arity=0)]


def zoo_model(kind: str, in_channels: int) -> tuple[Any, list[Any]]:
    from neuralogic_py.language.dsl import TemplateBuilder
    from neuralogic_py.learn.model import Model

    layers = zoo_layers(kind, in_channels)
    return Model(TemplateBuilder(layers), loss="bce_logits", seed=SEED), layers


def pyg_model(kind: str, in_channels: int) -> Any:
    import torch
    from torch_geometric.nn import MLP, GCNConv, GINConv, SAGEConv, global_mean_pool

    class GNN(torch.nn.Module):
        """The zoo model (module docstring) in PyG: ``convs.<k>`` and the readout ``lin``."""

        def __init__(self) -> None:
            super().__init__()
            widths = [in_channels] + [WIDTH] * LAYERS
            if kind == "gcn":
                convs = [GCNConv(a, b) for a, b in zip(widths, widths[1:])]
            elif kind == "sage":
                convs = [SAGEConv(a, b, aggr="mean") for a, b in zip(widths, widths[1:])]
            else:
                convs = [GINConv(MLP([a, b, b], norm=None, plain_last=False)) for a, b in zip(widths, widths[1:])]
            self.convs = torch.nn.ModuleList(convs)
            self.lin = torch.nn.Linear(WIDTH, 1)

        def forward(self, x: Any, edge_index: Any, batch: Any, graphs: int) -> Any:
            for conv in self.convs:
                x = conv(x, edge_index)
                if kind != "gin":  # GIN's MLP ends with its ReLU already
                    x = torch.relu(x)
            return self.lin(global_mean_pool(x, batch, graphs)).reshape(-1)

    return GNN()


def pyg_weights(net: Any, model: Any, layers: list[Any]) -> dict[str, Any]:
    """A PyG model's weights under our parameter names (the zoo's ``pyg_names``), as float64 arrays."""
    state = {k: v.detach().double().numpy().copy() for k, v in net.state_dict().items()}  # not the live tensors
    prefixes = [f"convs.{k}." for k in range(LAYERS)] + ["", "lin."]
    shapes = model.parameters()
    copied = {name: state[prefix + key].reshape(shapes[name].shape)
              for prefix, layer in zip(prefixes, layers) for key, name in layer.pyg_names.items()}
    missing = set(model.store.learnable()) - set(copied)
    if missing:
        raise SystemExit(f"parameters not copied from PyG: {sorted(missing)}")
    return copied


def pyg_dataset(dataset: str, folder: Path) -> Any:
    """PyG's ``TUDataset`` over the shared raw files (linked into ``folder``, where it writes its processed copy)."""
    from torch_geometric.datasets import TUDataset

    raw = folder / dataset / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for path in (TU / dataset).glob(f"{dataset}_*.txt"):
        (raw / path.name).symlink_to(path)
    return TUDataset(str(folder), dataset)


def median_ms(stamps: list[float]) -> float:
    """The median epoch after the first (ms) from the times at the start and after every epoch."""
    epochs = [b - a for a, b in zip(stamps, stamps[1:])]
    return 1000 * statistics.median(epochs[1:] if len(epochs) > 1 else epochs)


# -- children -------------------------------------------------------------------------------------------


def child_ours(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from neuralogic_py.learn.losses import make_loss
    from neuralogic_py.learn.optimizers import make_optimizer
    from neuralogic_py.learn.trainer import Scorer, TrainingConfig, train

    baseline = rss_mb()
    started = time.perf_counter()
    data = load(job["dataset"])
    dataset = data.to_dataset()
    model, _ = zoo_model(job["model"], data.graphs[0].x.shape[1])
    _, compiled = model.build(dataset)
    build_s = time.perf_counter() - started
    scorer = Scorer(compiled, make_loss("bce_logits"), compiled.targets(), True)
    everything = np.arange(len(compiled.samples))

    initial = np.load(job["init"]) if job.get("init") else None  # PyG's initial weights per seed

    def run(samples: Any, epochs: int, batch_size: int, shuffle: str, seed: int) -> tuple[list[float], str]:
        model.store.reset(np.random.default_rng(seed))
        if initial is not None:
            model.load_parameters({n: initial[f"{seed}/{n}"] for n in model.store.learnable()}, strict=False)
        stamps = [time.perf_counter()]
        history = train(scorer, model.store.learnable(), make_optimizer("adam", LR), samples,
                        TrainingConfig(epochs=epochs, batch_size=batch_size, shuffle=shuffle, eval_every=epochs,
                                       restore_best=False),
                        np.random.default_rng(seed), on_epoch=lambda done, h: stamps.append(time.perf_counter()))
        return stamps, history.engine

    def engine_of(batch_size: int, shuffle: str) -> str:
        """The engine ``auto`` takes for a training of EPOCHS epochs on all graphs with these batches."""
        model.store.reset(np.random.default_rng(SEED))
        probe = [everything[i:i + batch_size] for i in range(0, len(everything), batch_size)]
        chosen = compiled.fused_trainer(model.store.learnable(), make_optimizer("adam", LR), make_loss("bce_logits"),
                                        compiled.targets(), None, len(probe) * EPOCHS, EPOCHS, probe,
                                        shuffle == "samples")
        return "numpy" if chosen is None else "fused"

    accuracies, fold_ms, engine = [], [], ""
    for k, test in enumerate(folds(data, job["folds"]) if job["folds"] else []):
        stamps, engine = run(np.setdiff1d(everything, test), job["epochs"], BATCH, "samples", SEED + 1 + k)
        accuracies.append(scorer.evaluate(model.store.values, test)[0].accuracy)
        fold_ms.append(median_ms(stamps))
        print(f"  ours {job['dataset']} {job['model']} fold {k + 1}: accuracy {accuracies[-1]:.3f}, "
              f"{fold_ms[-1]:.0f} ms/epoch ({engine})", file=sys.stderr, flush=True)
    timing, engines = {}, {}
    for batch_size, epochs in job["timed_epochs"].items():
        for shuffle in ("batches", "samples") if int(batch_size) > 1 else ("batches",):
            key = f"{batch_size} {shuffle}"
            compiled.engine = engine_of(int(batch_size), shuffle)  # auto's choice for the long run, not this one
            stamps, engines[key] = run(everything, epochs, int(batch_size), shuffle, SEED)
            compiled.engine = "auto"
            timing[key] = median_ms(stamps)
    return {"build_s": build_s, "accuracies": accuracies, "fold_epoch_ms": fold_ms, "timing": timing,
            "engine": engine, "engines": engines, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def child_pyg(job: dict[str, Any]) -> dict[str, Any]:
    import torch
    from torch_geometric.data import Batch
    from torch_geometric.loader import DataLoader

    torch.set_num_threads(1)
    baseline = rss_mb()
    with tempfile.TemporaryDirectory(prefix="nlp_gnn_zoo_") as folder:
        started = time.perf_counter()
        graphs = list(pyg_dataset(job["dataset"], Path(folder)))
        collated = [Batch.from_data_list(graphs[i:i + BATCH]) for i in range(0, len(graphs), BATCH)]
        build_s = time.perf_counter() - started
    del collated
    in_channels = graphs[0].x.shape[1]
    ours = load(job["dataset"])

    def run(chosen: list[Any], epochs: int, batch_size: int, loading: str, seed: int) -> tuple[list[float], Any]:
        torch.manual_seed(seed)
        net = pyg_model(job["model"], in_channels)
        optimizer = torch.optim.Adam(net.parameters(), lr=LR)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        if loading == "loader":
            batches: Any = DataLoader(chosen, batch_size=batch_size, shuffle=True,
                                      generator=torch.Generator().manual_seed(seed))
        else:
            fixed = [Batch.from_data_list(chosen[i:i + batch_size]) for i in range(0, len(chosen), batch_size)]
            order = torch.Generator().manual_seed(seed)
        stamps = [time.perf_counter()]
        for _ in range(epochs):
            epoch = batches if loading == "loader" else \
                [fixed[i] for i in torch.randperm(len(fixed), generator=order).tolist()]
            for batch in epoch:
                optimizer.zero_grad()
                loss = loss_fn(net(batch.x, batch.edge_index, batch.batch, batch.num_graphs), batch.y.float())
                loss.backward()
                optimizer.step()
            stamps.append(time.perf_counter())
        return stamps, net

    accuracies, fold_ms = [], []
    for k, test in enumerate(folds(ours, job["folds"]) if job["folds"] else []):
        train_ids = sorted(set(range(len(graphs))) - set(test.tolist()))
        stamps, net = run([graphs[i] for i in train_ids], job["epochs"], BATCH, "loader", SEED + 1 + k)
        with torch.no_grad():
            batch = Batch.from_data_list([graphs[i] for i in test.tolist()])
            logits = net(batch.x, batch.edge_index, batch.batch, batch.num_graphs)
        accuracies.append(float(((logits > 0).long() == batch.y).float().mean()))
        fold_ms.append(median_ms(stamps))
        print(f"  PyG {job['dataset']} {job['model']} fold {k + 1}: accuracy {accuracies[-1]:.3f}, "
              f"{fold_ms[-1]:.0f} ms/epoch", file=sys.stderr, flush=True)
    timing = {}
    for batch_size, epochs in job["timed_epochs"].items():
        for loading in ("loader", "collated"):
            timing[f"{batch_size} {loading}"] = median_ms(run(graphs, epochs, int(batch_size), loading, SEED)[0])
    return {"build_s": build_s, "accuracies": accuracies, "fold_epoch_ms": fold_ms, "timing": timing,
            "torch": torch.__version__, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def child_check(job: dict[str, Any]) -> dict[str, Any]:
    """Same graphs on both sides; per model, our logits and PyG's on the same weights (float64), and the
    losses of the same Adam steps on the same batches from the same weights (float64)."""
    import numpy as np
    import torch
    from torch_geometric.data import Batch

    from neuralogic_py.graphs import to_dataset

    data = load(job["dataset"])
    with tempfile.TemporaryDirectory(prefix="nlp_gnn_zoo_") as folder:
        graphs = list(pyg_dataset(job["dataset"], Path(folder)))
    differences = []
    for ours, theirs in zip(data.graphs, graphs):
        edges = set(map(tuple, ours.edge_index.T.tolist())) ^ set(map(tuple, theirs.edge_index.T.tolist()))
        if not np.array_equal(ours.x, theirs.x.numpy()) or edges or int(ours.y) != int(theirs.y):
            differences.append(len(differences))
    same = len(data.graphs) == len(graphs) and not differences
    chosen = list(range(min(CHECK_GRAPHS, len(graphs))))
    subset = to_dataset([data.graphs[i] for i in chosen])
    batch = Batch.from_data_list([graphs[i] for i in chosen])
    diffs, steps = {}, {}
    for kind in job["models"]:
        torch.manual_seed(SEED)
        net = pyg_model(kind, batch.x.shape[1]).double()
        model, layers = zoo_model(kind, batch.x.shape[1])
        model.load_parameters(pyg_weights(net, model, layers), strict=False)
        ours = model.predict(subset).outputs.reshape(-1)
        with torch.no_grad():
            theirs = net(batch.x.double(), batch.edge_index, batch.batch, batch.num_graphs).numpy()
        diffs[kind] = float(np.max(np.abs(ours - theirs)))
        steps[kind] = _same_steps(net, model, data, graphs)
    return {"same_graphs": same, "graphs": [len(data.graphs), len(graphs)], "differing": differences[:5],
            "max_abs_diff": diffs, "checked": len(chosen), "step_loss_diff": steps}


def _same_steps(net: Any, model: Any, data: Any, graphs: list[Any]) -> float:
    """The largest difference of the batch losses over CHECK_STEPS Adam steps (lr LR, batches of BATCH
    graphs drawn once) taken by ``model`` (ours, on the engine ``auto`` takes) and by the float64 PyG
    ``net`` it holds the weights of."""
    import numpy as np
    import torch
    from torch_geometric.data import Batch

    from neuralogic_py.graphs import to_dataset
    from neuralogic_py.learn.losses import make_loss
    from neuralogic_py.learn.optimizers import make_optimizer
    from neuralogic_py.learn.trainer import Scorer, TrainingConfig, train

    rng = np.random.default_rng(SEED)
    batches = [np.sort(rng.choice(len(graphs), BATCH, replace=False)) for _ in range(CHECK_STEPS)]
    used = np.unique(np.concatenate(batches)).tolist()
    at = {g: i for i, g in enumerate(used)}
    _, compiled = model.build(to_dataset([data.graphs[g] for g in used]))
    loss, params, optimizer = make_loss("bce_logits"), model.store.learnable(), make_optimizer("adam", LR)
    scorer = Scorer(compiled, loss, compiled.targets(), True)
    once = TrainingConfig(epochs=1, batch_size=BATCH, shuffle="none", eval_every=10 ** 9, restore_best=False)
    ours = []
    for b in batches:
        local = np.array([at[g] for g in b.tolist()])
        ours.append(compiled.value_and_grad(params, loss, compiled.targets()[local], local)[0])
        train(scorer, params, optimizer, local, once, np.random.default_rng(SEED))
    adam, bce, theirs = torch.optim.Adam(net.parameters(), lr=LR), torch.nn.BCEWithLogitsLoss(), []
    for b in batches:
        batch = Batch.from_data_list([graphs[g] for g in b.tolist()])
        adam.zero_grad()
        step = bce(net(batch.x.double(), batch.edge_index, batch.batch, batch.num_graphs), batch.y.double())
        step.backward()
        adam.step()
        theirs.append(step.item())
    return float(np.max(np.abs(np.array(ours) - np.array(theirs))))


def child_init(job: dict[str, Any]) -> dict[str, Any]:
    """PyG's initial weights for each seed of the job (``torch.manual_seed(seed)``, then the model, as
    ``child_pyg`` makes them), under our names, into ``job["path"]`` (.npz): both sides start alike."""
    import numpy as np
    import torch

    in_channels = load(job["dataset"]).graphs[0].x.shape[1]
    model, layers = zoo_model(job["model"], in_channels)
    arrays = {}
    for seed in job["seeds"]:
        torch.manual_seed(seed)
        for name, value in pyg_weights(pyg_model(job["model"], in_channels), model, layers).items():
            arrays[f"{seed}/{name}"] = value
    np.savez(job["path"], **arrays)
    return {"seeds": job["seeds"]}


def child_main(job: dict[str, Any]) -> None:
    kinds = {"ours": child_ours, "pyg": child_pyg, "check": child_check, "init": child_init}
    print(json.dumps(kinds[job["kind"]](job)))


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """``job`` in a fresh interpreter (its own peak memory); its JSON result, or ``{"error": ...}``."""
    finished = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)],
                              stdout=subprocess.PIPE, text=True, check=False)
    lines = finished.stdout.strip().splitlines()
    if finished.returncode != 0 or not lines:
        return {"error": f"{job['kind']} child failed ({finished.returncode})"}
    return json.loads(lines[-1])


# -- the parent -------------------------------------------------------------------------------------------


def mean_std(values: list[float]) -> str:
    if not values:
        return ""
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def cell(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else ""


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: accuracy, epoch times (ms) at batch 32 and 1, build time, memory, output difference."""
    out = ["| dataset | model | accuracy ours (%) | accuracy PyG (%) | b32 ours, fixed / new batches | "
           "b32 PyG, collated once / DataLoader | ours new / PyG DataLoader | b1 ours | b1 PyG, collated once / "
           "DataLoader | PyG DataLoader / ours (b1) | ours' engine: run / b32 fixed, new / b1 | build s, ours / PyG | "
           "peak MB, ours / PyG | max abs diff |",
           "| --- |" + " --- |" * 13]
    for r in results:
        ours, pyg = r.get("ours", {}), r.get("pyg", {})
        ot, pt = ours.get("timing", {}), pyg.get("timing", {})
        out.append(
            f"| {r['dataset']} | {r['model']} | {mean_std(ours.get('accuracies', []))} | "
            f"{mean_std(pyg.get('accuracies', []))} | {cell(ot.get('32 batches'))} / {cell(ot.get('32 samples'))} | "
            f"{cell(pt.get('32 collated'))} / {cell(pt.get('32 loader'))} | "
            f"{ratio(ot.get('32 samples'), pt.get('32 loader'))} | {cell(ot.get('1 batches'))} | "
            f"{cell(pt.get('1 collated'))} / {cell(pt.get('1 loader'))} | "
            f"{ratio(pt.get('1 loader'), ot.get('1 batches'))} | {ours.get('engine') or '-'} / "
            f"{' / '.join(ours.get('engines', {}).get(k, '') for k in ('32 batches', '32 samples', '1 batches'))} | "
            f"{cell(ours.get('build_s'), 2)} / {cell(pyg.get('build_s'), 2)} | "
            f"{cell(ours.get('peak_rss_mb'), 0)} / {cell(pyg.get('peak_rss_mb'), 0)} | "
            f"{r.get('diff', '')} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs per fold (default {EPOCHS})")
    parser.add_argument("--quick", action="store_true", help="one fold, 5 epochs, one timed epoch after the first")
    parser.add_argument("--timing-only", action="store_true",
                        help="no training on the folds (no accuracy): the equality check, builds and epoch timings")
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return 0
    import importlib.util
    import platform

    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODELS)) + sorted(set(args.datasets.split(",")) - set(DATASETS))
    if unknown:
        raise SystemExit(f"unknown {', '.join(unknown)}: models {', '.join(MODELS)}, datasets {', '.join(DATASETS)}")
    datasets = [d for d in args.datasets.split(",") if (TU / d).is_dir()]
    if not datasets:
        print(f"skipped: no TU data in {TU}")
        return 0
    has_pyg = importlib.util.find_spec("torch_geometric") is not None
    epochs = 5 if args.quick else args.epochs
    started = time.perf_counter()
    print(f"GNN zoo benchmark: Python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} (1, 5, 15 min), width {WIDTH}, {LAYERS} layers, Adam lr "
          f"{LR}, {epochs} epochs, batch {BATCH}" + ("" if has_pyg else "; PyG skipped: torch_geometric is absent"),
          flush=True)
    results, loads = [], [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="nlp_gnn_zoo_") as scratch:  # PyG's initial weights
        for dataset in datasets:
            k = 0 if args.timing_only else 1 if args.quick else FOLDS[dataset]
            timed = {b: (2 if args.quick else n) for b, n in TIMED_EPOCHS[dataset].items()}
            check = run_child({"kind": "check", "dataset": dataset, "models": models}) if has_pyg else {}
            if check:
                print(f"== {dataset}: same graphs on both sides: {check.get('same_graphs')} {check.get('graphs', '')}; "
                      f"max abs logit difference on {check.get('checked')} graphs (float64, PyG's weights copied): "
                      f"{check.get('max_abs_diff', check.get('error'))}; max abs batch-loss difference over "
                      f"{CHECK_STEPS} Adam steps on the same batches from those weights (float64): "
                      f"{check.get('step_loss_diff')}", flush=True)
            for model in models:
                job = {"dataset": dataset, "model": model, "folds": k, "epochs": epochs, "timed_epochs": timed}
                if has_pyg:  # both sides start from PyG's initial weights of each seed
                    job["init"] = str(Path(scratch) / f"{dataset}_{model}.npz")
                    made = run_child({"kind": "init", "dataset": dataset, "model": model, "path": job["init"],
                                      "seeds": [SEED] + [SEED + 1 + f for f in range(k)]})
                    if "error" in made:
                        raise SystemExit(f"{dataset} {model}: {made['error']}")
                row: dict[str, Any] = {"dataset": dataset, "model": model}
                diff = check.get("max_abs_diff", {}).get(model)
                row["diff"] = f"{diff:.1e}" if diff is not None else ""
                for side in ("ours", "pyg") if has_pyg else ("ours",):
                    row[side] = run_child({"kind": side, **job})
                    loads.append(os.getloadavg()[0])
                    result = row[side]
                    print(f"{dataset} {model} {side}: " + (result["error"] if "error" in result else
                          f"accuracy {mean_std(result['accuracies'])}, build {result['build_s']:.2f} s, timing "
                          f"{ {key: round(v, 1) for key, v in result['timing'].items()} } ms, peak "
                          f"{result['peak_rss_mb']:.0f} MB"
                          + (f", engines {result['engine'] or '-'} (folds), {result['engines']} (timing)"
                             if side == "ours" else "")), flush=True)
                results.append(row)
    print()
    print(table(results))
    print(f"\nwall time {(time.perf_counter() - started) / 60:.1f} min; 1-min load average sampled after each run: "
          f"min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
