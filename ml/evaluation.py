"""How good a probability is: ranking, calibration and the pictures that show both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scores:
    roc_auc: float
    pr_auc: float
    brier: float
    calibration_error: float  # expected calibration error over ten equal-count bins
    positive_rate: float
    rows: int

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in self.__dict__.items()}


def score(y: np.ndarray, p: np.ndarray) -> Scores:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    return Scores(
        roc_auc=roc_auc_score(y, p),
        pr_auc=average_precision_score(y, p),
        brier=brier_score_loss(y, p),
        calibration_error=expected_calibration_error(y, p),
        positive_rate=float(y.mean()),
        rows=len(y),
    )


def by_decile(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Mean predicted against observed rate in ten equal-count bins of the prediction."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    bins = min(10, len(frame))
    frame["decile"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False) + 1
    table = frame.groupby("decile").agg(rows=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return table.reset_index()


def expected_calibration_error(y: np.ndarray, p: np.ndarray) -> float:
    table = by_decile(y, p)
    return float((table["rows"] * (table["predicted"] - table["observed"]).abs()).sum() / table["rows"].sum())


def roc_figure(y: np.ndarray, p: np.ndarray, title: str, ceiling: np.ndarray | None = None):
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = axes()
    fpr, tpr, _ = roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"model (AUC {roc_auc_score(y, p):.3f})")
    if ceiling is not None:
        fpr, tpr, _ = roc_curve(y, ceiling)
        ax.plot(fpr, tpr, linestyle="--", label=f"true probability (AUC {roc_auc_score(y, ceiling):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right")
    return fig


def calibration_figure(y: np.ndarray, p: np.ndarray, title: str):
    table = by_decile(y, p)
    fig, ax = axes()
    ax.plot(table["predicted"], table["observed"], marker="o", label="by decile")
    top = max(table["predicted"].max(), table["observed"].max(), 0.05)
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label="perfect")
    ax.set(xlabel="mean predicted", ylabel="observed rate", title=title)
    ax.legend(loc="upper left")
    return fig


def importance_figure(importances: pd.Series, title: str):
    fig, ax = axes()
    ordered = importances.sort_values()
    ax.barh(ordered.index, ordered.values)
    ax.set(xlabel="drop in ROC AUC when shuffled", title=title)
    fig.tight_layout()
    return fig


def axes():
    import matplotlib

    matplotlib.use("Agg")  # no screen on a worker
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    return fig, ax


def close_figures(figures) -> None:
    import matplotlib.pyplot as plt

    for figure in figures:
        plt.close(figure)
