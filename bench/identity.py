"""bench/identity: customers across rooftops into profiles, against the simulator's true identities.

Simulated rooftops share a pool of people (`simulator/identities.py`): about a fifth of each
rooftop's customers are people the group knows elsewhere, written with typos, other e-mail
cases and phone formats, or missing fields. Prints pairwise precision and recall of the
profiles (targets ≥ 0.98 and ≥ 0.95), the resolution's time and peak memory for the whole set,
the time to write profiles and links to a SQLite warehouse, and, measured in the same run, the
same figures for the baseline: exact match on the lower-cased e-mail alone.

    python -m bench.identity [--rooftops 20] [--scale 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def rooftop_customers(args: tuple[str, float]) -> pd.DataFrame:
    """One rooftop's `customers` table as a sync would leave it, with each record's true identity."""
    from auterity_pipelines.simulator.frames import contract_frames

    name, scale = args
    dms = RooftopDms(name, SimulatorSettings(now=NOW, scale=scale, outcomes=False))
    customers = contract_frames(dms, name, ["customers"], EPOCH, NOW)["customers"]
    customers["truth"] = customers["customer_id"].map(dms.identity)
    return customers


def pair_scores(predicted: pd.Series, truth: pd.Series) -> tuple[float, float]:
    """Pairwise precision and recall: of the record pairs put together, and of those that belong together."""

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    frame = pd.DataFrame({"p": predicted.to_numpy(), "t": truth.to_numpy()})
    together = pairs(frame.groupby(["p", "t"]).size())
    return together / max(1, pairs(frame.groupby("p").size())), together / max(
        1, pairs(frame.groupby("t").size())
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooftops", type=int, default=20)
    parser.add_argument("--scale", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from auterity_pipelines.identity.customers import resolve
    from auterity_pipelines.identity.normalise import email_key
    from resources.warehouse import Warehouse

    started = time.perf_counter()
    names = [(f"bench-identity-{i}", args.scale) for i in range(args.rooftops)]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        customers = pd.concat(pool.map(rooftop_customers, names), ignore_index=True)
    truth = customers.pop("truth")
    shared = truth.str.startswith("person-").mean()
    print(
        f"{len(customers):,} customers at {args.rooftops} rooftops, {shared:.1%} of them people the group "
        f"shares ({truth.nunique():,} people in all); generated in {time.perf_counter() - started:.0f} s"
    )

    before = peak_rss_mb()
    started = time.perf_counter()
    resolution = resolve(customers)
    seconds = time.perf_counter() - started
    links = resolution.links.set_index(["dealership_id", "customer_id"])["profile_id"]
    predicted = links.reindex(pd.MultiIndex.from_frame(customers[["dealership_id", "customer_id"]]))
    precision, recall = pair_scores(predicted.reset_index(drop=True), truth)
    rules = resolution.links["rule"].value_counts().to_dict()
    print(
        f"rules:      {len(resolution.profiles):,} profiles in {seconds:.1f} s "
        f"({len(customers) / seconds:,.0f} customers/s), peak RSS {peak_rss_mb():.0f} MB "
        f"({before:.0f} MB before); precision {precision:.4f} (target ≥ 0.98), recall {recall:.4f} "
        f"(target ≥ 0.95); links by rule {rules}"
    )

    started = time.perf_counter()
    baseline = (
        customers["email"]
        .map(email_key, na_action="ignore")
        .fillna("record:" + customers["dealership_id"] + "/" + customers["customer_id"])
    )
    base_seconds = time.perf_counter() - started
    base_precision, base_recall = pair_scores(baseline, truth)
    print(
        f"baseline:   exact e-mail match in {base_seconds:.1f} s; precision {base_precision:.4f}, "
        f"recall {base_recall:.4f}; the rules find {recall / max(base_recall, 1e-9):.2f}× the baseline's "
        f"true pairs at {seconds / max(base_seconds, 1e-9):.1f}× its time"
    )

    again = resolve(customers)
    stable = again.links["profile_id"].equals(resolution.links["profile_id"])
    print(f"stable:     a second resolution of the same input gives the same profile ids: {stable}")

    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(url=f"sqlite:///{Path(tmp) / 'warehouse.db'}")
        warehouse.upgrade()
        started = time.perf_counter()
        warehouse.replace("customer_profiles", resolution.profiles)
        warehouse.replace("customer_identity_links", resolution.links)
        print(
            f"write:      {len(resolution.profiles):,} profiles and {len(resolution.links):,} links to SQLite "
            f"in {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
