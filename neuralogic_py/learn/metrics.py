"""Evaluation metrics: binary and multiclass classification, regression, knowledge-base ranking.

Inputs are numpy arrays: ``targets`` and ``scores`` (the loss's predictions, e.g.
probabilities) with one row per sample; scalar samples may be given flat.

Binary classification (scalar targets). A target is *positive* when it exceeds the
decision threshold, 0.5, or 0 when some target is negative (the reference's ±1 label
convention, as in its trains dataset); a sample is *predicted* positive when its score
is strictly above the threshold.

==============================  ===============================================================
accuracy                        fraction predicted as labelled (threshold as above)
best-threshold accuracy         the best accuracy over every cut between distinct scores
majority                        the accuracy of always predicting the more frequent class
dispersion                      mean score of positives - mean score of negatives
AUC-ROC                         P(score of a random positive > score of a random negative),
                                ties counting 1/2 (Mann-Whitney U / (P N); equals the
                                trapezoid area under the ROC curve)
AUC-PR (average precision)      sum over distinct scores s, high to low, of
                                (recall(s) - recall(previous s)) * precision(s), a sample being
                                retrieved when its score >= s (the step-wise area, no
                                interpolation)
MSE                             mean over samples of the mean over elements of (score - target)^2
==============================  ===============================================================

AUCs are NaN when only one class is present. The reference also reports an
"interpolated" AUC-ROC (0.4167 on targets [1,0,1,1,0], scores [.8,.6,.7,.4,.9], where
the area under the empirical ROC curve is 1/3); we report the latter, the usual one.

Multiclass (vector targets): accuracy is argmax(score) == argmax(target); majority is
the frequency of the most common target class.

Knowledge-base ranking (:func:`ranks`). Each positive query (label > threshold)
``p(a_1, ..., a_k)`` is ranked against its *corruptions*: the negative queries of
the same predicate that differ from it in exactly one argument (optionally only in
the positions ``corrupt``, e.g. ``(2,)`` ranks the object of ``p(s, r, o)`` among
negatives sharing subject and relation). ``rank = 1 + #(corruptions scoring higher)
+ #(ties) / 2``. Only labelled negatives are candidates, so the ranking is
"filtered" by construction: a true fact never counts against another. Positives
without any corruption are not ranked (their count is reported). ``MRR`` is the
mean of ``1 / rank``, ``hits@k`` the fraction with ``rank <= k``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

# -- shapes ---------------------------------------------------------------------------------


def as_rows(x: np.ndarray | Sequence) -> np.ndarray:
    """``(n, elements)``: one row per sample, whatever shape each value has."""
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(len(a), -1) if a.ndim else a.reshape(1, 1)


def decision_threshold(targets: np.ndarray | Sequence) -> float:
    """0.5, or 0 when targets use the -1/+1 convention (some target is negative)."""
    return 0.0 if np.any(as_rows(targets) < 0) else 0.5


def binary_labels(targets: np.ndarray | Sequence, threshold: float | None = None) -> np.ndarray:
    t = as_rows(targets)[:, 0]
    return t > (decision_threshold(t) if threshold is None else threshold)


# -- binary classification ------------------------------------------------------------------


def accuracy(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence, threshold: float | None = None) -> float:
    """Binary: score > threshold vs label; multiclass: argmax agreement."""
    t, s = as_rows(targets), as_rows(scores)
    if len(t) == 0:
        return math.nan
    if t.shape[1] > 1:
        return float(np.mean(t.argmax(axis=1) == s.argmax(axis=1)))
    cut = decision_threshold(t) if threshold is None else threshold
    return float(np.mean((s[:, 0] > cut) == binary_labels(t, cut)))


def _cuts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores high to low, and the true/false positives retrieved at score >= each."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y)[last_of_group]
    fp = (last_of_group + 1) - tp
    return s[last_of_group], tp.astype(np.float64), fp.astype(np.float64)


def best_threshold_accuracy(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> tuple[float, float]:
    """The highest accuracy of ``score > threshold`` over all thresholds, and a threshold attaining it
    (midway between adjacent distinct scores)."""
    y = binary_labels(targets)
    s = as_rows(scores)[:, 0]
    if len(y) == 0:
        return math.nan, math.nan
    distinct, tp, fp = _cuts(y, s)
    positives, n = y.sum(), len(y)
    # cut k retrieves the scores >= distinct[k]; "retrieve nothing" is the extra first option
    correct = np.r_[n - positives, tp + (n - positives - fp)]
    best = int(np.argmax(correct))
    if best == 0:
        threshold = float(distinct[0])
    elif best < len(distinct):
        threshold = float((distinct[best - 1] + distinct[best]) / 2)
    else:
        threshold = float(np.nextafter(distinct[-1], -np.inf))
    return float(correct[best] / n), threshold


def majority(targets: np.ndarray | Sequence) -> float:
    """Accuracy of always answering the most frequent class."""
    t = as_rows(targets)
    if len(t) == 0:
        return math.nan
    classes = t.argmax(axis=1) if t.shape[1] > 1 else binary_labels(t).astype(np.int64)
    return float(np.bincount(classes).max() / len(t))


def dispersion(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> float:
    """Mean score of the positives minus mean score of the negatives (the reference's ``disp``)."""
    y = binary_labels(targets)
    s = as_rows(scores)[:, 0]
    if y.all() or not y.any():
        return math.nan
    return float(s[y].mean() - s[~y].mean())


def auc_roc(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> float:
    """Area under the ROC curve, by the Mann-Whitney statistic with average ranks for ties."""
    y = binary_labels(targets)
    s = as_rows(scores)[:, 0]
    p, n = int(y.sum()), int((~y).sum())
    if p == 0 or n == 0:
        return math.nan
    rank_sum = rank_values(s, ties="average")[y].sum()
    return float((rank_sum - p * (p + 1) / 2) / (p * n))


def auc_pr(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> float:
    """Average precision: sum over distinct scores of (recall step) x precision."""
    y = binary_labels(targets)
    s = as_rows(scores)[:, 0]
    p = int(y.sum())
    if p == 0 or p == len(y):
        return math.nan
    _, tp, fp = _cuts(y, s)
    precision = tp / (tp + fp)
    recall_step = np.diff(np.r_[0.0, tp / p])
    return float((recall_step * precision).sum())


def curve_points(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> dict[str, np.ndarray] | None:
    """The ROC curve (``fpr``, ``tpr``) and the precision-recall curve (``recall``, ``precision``) of a binary
    task, one point per distinct score, high to low, after the start (0, 0) and (0, 1); None without both
    classes."""
    y = binary_labels(targets)
    s = as_rows(scores)[:, 0]
    p = int(y.sum())
    if p == 0 or p == len(y):
        return None
    _, tp, fp = _cuts(y, s)
    return {"fpr": np.r_[0.0, fp / (len(y) - p)], "tpr": np.r_[0.0, tp / p],
            "recall": np.r_[0.0, tp / p], "precision": np.r_[1.0, tp / (tp + fp)]}


def mse(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence) -> float:
    t, s = as_rows(targets), as_rows(scores)
    return float(((s - t) ** 2).mean(axis=1).mean()) if len(t) else math.nan


# -- knowledge-base ranking -----------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """Ranks of the positive queries that have corruptions (see the module docstring)."""

    ranks: np.ndarray  # one per ranked positive, in query order
    positives: np.ndarray  # their indices among the queries
    unranked: int  # positives without any corruption

    @property
    def mrr(self) -> float:
        return float(np.mean(1.0 / self.ranks)) if len(self.ranks) else math.nan

    def hits(self, k: int) -> float:
        return float(np.mean(self.ranks <= k)) if len(self.ranks) else math.nan


def ranks(queries: Sequence[tuple[Hashable, ...]], scores: np.ndarray | Sequence, labels: np.ndarray | Sequence,
          corrupt: Sequence[int] | None = None) -> Ranking:
    """Rank every positive query among its one-argument corruptions (module docstring).

    ``queries[i]`` is ``(predicate, arg_1, ..., arg_k)``; argument positions in
    ``corrupt`` count from 0 (default: all).
    """
    s = as_rows(scores)[:, 0]
    positive = binary_labels(labels)
    by_arity: dict[int, list[int]] = {}
    for i, q in enumerate(queries):
        by_arity.setdefault(len(q), []).append(i)
    greater = np.zeros(len(s))
    ties = np.zeros(len(s))
    candidates = np.zeros(len(s), dtype=np.int64)
    score_rank = rank_values(s, ties="dense")  # 1..R, equal scores equal rank
    for arity, members in by_arity.items():
        idx = np.asarray(members)
        codes = _intern_columns([queries[i] for i in members], arity)
        pos, rank = positive[idx], score_rank[idx]
        # a negative equal to the positive in every argument falls in its group for every
        # position, but it is the same query labelled twice, not a corruption: taken out below
        same = _compare_within_groups(_row_ids(codes), rank, pos)
        positions = range(arity - 1) if corrupt is None else [p for p in corrupt if p < arity - 1]
        for p in positions:
            # the group of a query: its predicate and every argument except position p
            above, equal, total = _compare_within_groups(_row_ids(np.delete(codes, p + 1, axis=1)), rank, pos)
            targets = idx[pos]
            greater[targets] += above - same[0]
            ties[targets] += equal - same[1]
            candidates[targets] += total - same[2]
    ranked = positive & (candidates > 0)
    which = np.flatnonzero(ranked)
    return Ranking(1.0 + greater[which] + ties[which] / 2.0, which, int((positive & (candidates == 0)).sum()))


def _intern_columns(rows: Sequence[tuple[Hashable, ...]], width: int) -> np.ndarray:
    """Each column's values as small ints (one dictionary per column)."""
    out = np.empty((len(rows), width), dtype=np.int64)
    for c in range(width):
        codes: dict[Hashable, int] = {}
        out[:, c] = [codes.setdefault(r[c], len(codes)) for r in rows]
    return out


def _row_ids(codes: np.ndarray) -> np.ndarray:
    """One id per distinct row."""
    return np.unique(codes, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _compare_within_groups(group: np.ndarray, rank: np.ndarray,
                           positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each positive: the negatives of its group ranked above it, tied with it, and in all.

    ``rank`` are dense score ranks (>= 1); a negative's sort key is ``group * top + rank``,
    so one sorted array answers all three counts by binary search.
    """
    top = int(rank.max()) + 1
    keys = np.sort(group[~positive] * top + rank[~positive])
    base = group[positive] * top
    own = base + rank[positive]
    end = np.searchsorted(keys, base + top - 1, "right")
    own_right = np.searchsorted(keys, own, "right")
    return (end - own_right, own_right - np.searchsorted(keys, own, "left"),
            end - np.searchsorted(keys, base, "left"))


# -- summaries ------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """Metrics of one set of samples; NaN where a metric does not apply."""

    samples: int
    error: float
    kind: str  # "binary", "multiclass" or "regression"
    accuracy: float = math.nan
    best_accuracy: float = math.nan
    best_threshold: float = math.nan
    majority: float = math.nan
    dispersion: float = math.nan
    auc_roc: float = math.nan
    auc_pr: float = math.nan
    mse: float = math.nan
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float | int | str | None]:
        out = {k: _json_number(v) for k, v in self.__dict__.items() if k != "extra"}
        out.update({k: _json_number(v) for k, v in self.extra.items()})
        return out

    def line(self) -> str:
        """One line in the reference's style (``accuracy: 75%, error: 0.617, (best thresh acc: ...``)."""
        parts = []
        if self.kind == "regression":
            parts.append(f"error: {self.error:.4g}")
        else:
            parts.append(f"accuracy: {_percent(self.accuracy)}")
            if not math.isnan(self.dispersion):
                parts.append(f"disp: {self.dispersion:.3g}")
            parts.append(f"error: {self.error:.4g}")
            if self.kind == "binary":
                parts.append(f"(best thresh acc: {_percent(self.best_accuracy)})")
            parts.append(f"(maj. {_percent(self.majority)})")
            if self.kind == "binary":
                parts.append(f"(AUC-ROC: {_number(self.auc_roc)})")
                parts.append(f"(AUC-PR: {_number(self.auc_pr)})")
        parts += [f"{k}: {_number(v)}" for k, v in self.extra.items()]
        return ", ".join(parts)


def _percent(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.4g}%"


def _number(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.4g}"


def _json_number(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def evaluate(targets: np.ndarray | Sequence, scores: np.ndarray | Sequence, error: float,
             classification: bool = True) -> Evaluation:
    """Every metric that applies to these targets (module docstring)."""
    t, s = as_rows(targets), as_rows(scores)
    if not classification:
        return Evaluation(len(t), error, "regression", mse=mse(t, s))
    if t.shape[1] > 1:
        return Evaluation(len(t), error, "multiclass", accuracy=accuracy(t, s), majority=majority(t), mse=mse(t, s))
    best, threshold = best_threshold_accuracy(t, s)
    return Evaluation(len(t), error, "binary", accuracy=accuracy(t, s), best_accuracy=best,
                      best_threshold=threshold, majority=majority(t), dispersion=dispersion(t, s),
                      auc_roc=auc_roc(t, s), auc_pr=auc_pr(t, s), mse=mse(t, s))


def rank_values(x: np.ndarray, ties: str = "average") -> np.ndarray:
    """1-based ranks of ``x`` (ascending). Equal values share a rank: the mean of the positions they
    occupy (``average``, floats) or one rank per distinct value (``dense``, integers 1..R)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if len(x) else np.zeros(0, bool)
    group = np.cumsum(new) - 1
    out = np.empty(len(x), np.float64 if ties == "average" else np.int64)
    if ties == "dense":
        out[order] = group + 1
        return out
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(x)]
    out[order] = ((starts + 1 + ends) / 2.0)[group]
    return out
