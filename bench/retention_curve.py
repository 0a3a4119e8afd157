"""bench/retention_curve: the service retention model's learning curve against its ceiling.

Simulated rooftops' repair orders, conformed in memory (`contract_frames`), every day of their
history recorded as synced, so a visit is labelled only once its whole 12-month window was
synced (`outcome_known`, the same rule training uses). The model is fitted on growing subsets
of the labelled training rows (`ml.learning_curve`) and each fit is scored on the same holdout,
each size drawn REPEATS times from other shuffles (mean and spread printed), beside the
ceiling: the ROC AUC of the simulator's hidden return probabilities on that holdout,
measured in the same run. The curve and the ceiling are logged to MLflow (experiment
`service_retention_learning_curve`, in AUTERITY_HOME's store or MLFLOW_TRACKING_URI).

    python -m bench.retention_curve [--rooftops 1 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import time

import pandas as pd

from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
ENTITIES = ["repair_orders", "repair_order_lines"]
EXPERIMENT = "service_retention_learning_curve"
REPEATS = 5


def rooftop_tables(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """One simulated rooftop's repair orders and lines, and each order's hidden return probability."""
    from auterity_pipelines.simulator.frames import contract_frames

    dms = RooftopDms(name, SimulatorSettings(now=NOW))
    tables = contract_frames(dms, name, ENTITIES, EPOCH, NOW)
    truth = {}
    for ro in tables["repair_orders"]["ro_number"]:
        truth[f"{name}/{ro}"] = dms.visit(int(ro[:4]), int(ro[4:])).outcome.probability
    return tables, truth


def retention_frame(rooftops: int, workers: int) -> pd.DataFrame:
    from ml.features.frames import SYNCED_DAYS
    from ml.models import SERVICE_RETENTION

    names = [f"bench-rooftop-{i:02d}" for i in range(rooftops)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        parts = pool.map(rooftop_tables, names)
    tables = {
        t: pd.concat([p[0][t] for p in parts], ignore_index=True)
        for t in ("repair_orders", "repair_order_lines")
    }
    days = pd.date_range(EPOCH.date(), (NOW - dt.timedelta(days=1)).date(), freq="D").date
    tables[SYNCED_DAYS] = pd.DataFrame(
        [(n, d) for n in names for d in days], columns=["dealership_id", "day"]
    )
    truth = {k: v for p in parts for k, v in p[1].items()}
    spec, frame = SERVICE_RETENTION.build(tables, NOW)
    frame["true_probability"] = (frame["dealership_id"] + "/" + frame["ro_number"]).map(truth)
    return spec, frame


def log_curve(label: str, curve, ceiling: float, labelled: int) -> str:
    import mlflow

    from auterity_pipelines.settings import auterity_home
    from ml.evaluation import close_figures
    from ml.learning_curve import curve_figure
    from ml.registry import Store

    store = Store.default(auterity_home())
    store.client()
    with mlflow.start_run(experiment_id=store.experiment_id(EXPERIMENT), run_name=label) as run:
        mlflow.log_params({"rooftops": label, "labelled_repair_orders": labelled})
        for point in curve:
            mlflow.log_metric("learning_curve_roc_auc", point.roc_auc, step=point.rows)
        mlflow.log_metrics({"ceiling_roc_auc": ceiling, "share_of_ceiling": curve[-1].roc_auc / ceiling})
        figure = curve_figure(curve, f"service_retention: {label}", ceiling)
        mlflow.log_figure(figure, "plots/learning_curve.png")
        close_figures([figure])
    return f"{store.display} run {run.info.run_id}"


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from ml.learning_curve import learning_curve
    from ml.training import in_holdout, labelled

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooftops", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for rooftops in args.rooftops:
        started = time.perf_counter()
        spec, frame = retention_frame(rooftops, args.workers)
        rows = labelled(frame, spec)
        holdout = rows[in_holdout(rows[spec.id_column], spec.holdout_share)]
        ceiling = roc_auc_score(holdout[spec.label].astype(int), holdout["true_probability"])
        label = f"{rooftops} rooftop{'s' if rooftops > 1 else ''}"
        print(f"service retention, {label}: {len(frame):,} closed repair orders, {len(rows):,} labelled "
              f"({time.perf_counter() - started:.0f} s to simulate)")  # fmt: skip
        started = time.perf_counter()
        curve = learning_curve(spec, frame, REPEATS)
        print(
            f"  {'labelled rows':>14} {'holdout AUC':>12} {'spread':>7} {'of ceiling':>11}   ({len(holdout):,} holdout rows)"
        )
        for point in curve:
            print(
                f"  {point.rows:14,} {point.roc_auc:12.4f} {point.spread:7.4f} {point.roc_auc / ceiling:11.1%}"
            )
        print(f"  {'ceiling':>14} {ceiling:12.4f}   (the simulator's true probabilities, same holdout)")
        print(
            f"  {len(curve)} sizes x {REPEATS} fits in {time.perf_counter() - started:.1f} s; logged to {log_curve(label, curve, ceiling, len(rows))}"
        )


if __name__ == "__main__":
    main()
