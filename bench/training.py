"""bench/training: the lead conversion model on 100k and 1M simulated leads.

For each size it prints the training time and peak memory of `ml.training.train` (fit, holdout
scores, permutation importance), the holdout ROC AUC beside the AUC of the simulator's hidden
true probabilities on the same holdout (the ceiling; target ≥ 95%), and the same figures for a
logistic regression on the same features, measured in the same run, as the baseline.

Training runs in a fresh process per size and model; peak memory is that process's high-water
mark (VmHWM), reset after the data is loaded.

    python -m bench.training [--sizes 100000 1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
SCALE = 8  # about 70k leads per simulated rooftop over its 23 months
ENTITIES = ["leads", "customers", "deals", "repair_orders"]


def rooftop_frames(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """One simulated rooftop's contract tables, and the hidden probability of each of its leads."""
    from auterity_pipelines.simulator.frames import contract_frames

    dms = RooftopDms(name, SimulatorSettings(now=NOW, scale=SCALE))
    tables = contract_frames(dms, name, ENTITIES, EPOCH, NOW)
    truth = {}
    for lead_id in tables["leads"]["lead_id"]:
        _, day, index = lead_id.split("-")
        truth[f"{name}/{lead_id}"] = dms.lead(int(day), int(index)).outcome.probability
    return tables, truth


def lead_frame(leads: int, workers: int) -> pd.DataFrame:
    """Features and labels of at least `leads` labelled leads, with each lead's true probability."""
    from ml.features.leads import lead_frame as build

    per_rooftop = RooftopDms("probe", SimulatorSettings(now=NOW, scale=SCALE))
    estimate = sum(per_rooftop.count("leads", d) for d in range((NOW - EPOCH).days - 30))
    names = [f"bench-rooftop-{i:02d}" for i in range(int(np.ceil(leads / estimate)) + 1)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        parts = pool.map(rooftop_frames, names)
    tables = {name: pd.concat([p[0][name] for p in parts], ignore_index=True) for name in ENTITIES}
    tables["lead_enrichments"] = None
    truth = {k: v for p in parts for k, v in p[1].items()}
    print(
        f"  simulated {len(names)} rooftops, {len(tables['leads']):,} leads in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    frame = build(tables, NOW)
    frame = frame[frame["converted"].notna()].head(leads).copy()
    frame["true_probability"] = (frame["dealership_id"] + "/" + frame["lead_id"]).map(truth)
    print(f"  features for {len(frame):,} labelled leads in {time.perf_counter() - started:.1f} s")
    return frame


def _train_in_child(path: str, kind: str, queue) -> None:
    import psutil
    from sklearn.metrics import roc_auc_score

    from ml.models import LEAD_CONVERSION_SPEC
    from ml.training import in_holdout, model_input, train

    frame = pd.read_parquet(path)
    spec = LEAD_CONVERSION_SPEC
    before = psutil.Process().memory_info().rss / 1024  # KiB, as ru_maxrss counts on Linux
    started = time.perf_counter()
    if kind == "model":
        trained = train(spec, frame)
        holdout, auc = trained.holdout, trained.scores.roc_auc
    else:
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        side = in_holdout(frame[spec.id_column], spec.holdout_share)
        encode = ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="ignore"), list(spec.categorical)),
                ("numbers", StandardScaler(), list(spec.numeric)),
            ]
        )
        baseline = make_pipeline(encode, LogisticRegression(max_iter=500))
        baseline.fit(model_input(frame[~side], spec), frame.loc[~side, spec.label].astype(int))
        holdout = frame[side]
        auc = roc_auc_score(holdout[spec.label], baseline.predict_proba(model_input(holdout, spec))[:, 1])
    seconds = time.perf_counter() - started
    ceiling = roc_auc_score(holdout[spec.label], holdout["true_probability"])
    peak = _status_kib("VmHWM")
    queue.put(
        {
            "seconds": seconds,
            "auc": auc,
            "ceiling": ceiling,
            "peak_mb": peak / 1024,
            "grew_mb": (peak - before) / 1024,
        }
    )


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(path: Path, kind: str) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_train_in_child, args=(str(path), kind, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for size in args.sizes:
        print(f"lead conversion on {size:,} leads")
        frame = lead_frame(size, args.workers)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "leads.parquet"
            frame.to_parquet(path)
            del frame
            model, baseline = measure(path, "model"), measure(path, "baseline")
        for name, r in (
            ("model (HistGradientBoosting)", model),
            ("baseline (logistic regression)", baseline),
        ):
            print(
                f"  {name}: {r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB while training "
                f"({r['grew_mb']:+.0f} MB over the process holding the data), "
                f"holdout ROC AUC {r['auc']:.4f} vs ceiling {r['ceiling']:.4f} = {r['auc'] / r['ceiling']:.1%} "
                f"of the ceiling (target ≥ 95%)"
            )
        print(
            f"  model/baseline: time {model['seconds'] / baseline['seconds']:.2f}×, "
            f"AUC {model['auc'] / baseline['auc']:.3f}×"
        )


if __name__ == "__main__":
    main()
