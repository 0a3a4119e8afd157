"""Service retention features: the closed visit, its work, the vehicle's age, the customer's earlier visits."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from auterity_pipelines import vin as vins
from ml.features.frames import outcome_known, utc

HORIZON = pd.Timedelta(days=365)
OP_CODE_LIMIT = 30  # the commonest op codes become features; the rest count as "other"
BASE_NUMERIC = ["lines", "labor_hours", "total_amount", "vehicle_age", "prior_visits", "days_open"]
KEYS = ["dealership_id", "ro_number"]


def op_code_vocabulary(lines: pd.DataFrame) -> list[str]:
    return lines["op_code"].dropna().value_counts().head(OP_CODE_LIMIT).index.sort_values().tolist()


def feature_names(op_codes: list[str]) -> list[str]:
    return BASE_NUMERIC + [f"op_{code}" for code in op_codes] + ["op_other"]


def retention_frame(tables: dict[str, pd.DataFrame], as_of: dt.datetime, op_codes: list[str]) -> pd.DataFrame:
    """One row per closed repair order: keys, `closed_at`, features, and (after 12 months) `returned`."""
    orders = tables["repair_orders"].copy()
    orders["opened_at"], orders["closed_at"] = utc(orders["opened_at"]), utc(orders["closed_at"])
    orders = orders.sort_values(["dealership_id", "customer_id", "opened_at"]).reset_index(drop=True)
    frame = orders[[*KEYS, "closed_at"]].copy()
    frame["total_amount"] = pd.to_numeric(orders["total_amount"]).astype(float)
    frame["days_open"] = (orders["closed_at"] - orders["opened_at"]).dt.total_seconds() / 86400
    years = {v: vins.model_year(v) for v in orders["vin"].dropna().unique()}
    frame["vehicle_age"] = (orders["opened_at"].dt.year - orders["vin"].map(years)).clip(lower=0)
    visits = orders.groupby(["dealership_id", "customer_id"], dropna=False)
    frame["prior_visits"] = visits.cumcount()
    next_opened = visits["opened_at"].shift(-1)
    # A visit with no customer on file cannot be followed, so it has no label.
    known = orders["customer_id"].notna()
    frame["returned"] = np.where(
        known, ((next_opened - orders["closed_at"]) <= HORIZON).astype(float), np.nan
    )
    frame = frame.join(_work(tables["repair_order_lines"], orders[KEYS], op_codes))
    frame = frame[orders["closed_at"].notna()]
    frame.loc[
        ~outcome_known(frame["dealership_id"], frame["closed_at"], HORIZON, as_of, tables), "returned"
    ] = np.nan
    return frame.reset_index(drop=True)


def _work(lines: pd.DataFrame, orders: pd.DataFrame, op_codes: list[str]) -> pd.DataFrame:
    """Per order: how many lines, the labour, and how many lines of each known op code."""
    lines = lines.assign(
        labor_hours=pd.to_numeric(lines["labor_hours"]).astype(float),
        op=lines["op_code"].where(lines["op_code"].isin(op_codes), "other"),
    )
    per_order = lines.groupby(KEYS).agg(lines=("line_number", "size"), labor_hours=("labor_hours", "sum"))
    ops = pd.crosstab([lines["dealership_id"], lines["ro_number"]], lines["op"])
    ops = ops.reindex(columns=[*op_codes, "other"], fill_value=0).add_prefix("op_")
    work = per_order.join(ops).reindex(pd.MultiIndex.from_frame(orders)).fillna(0)
    return work.reset_index(drop=True)
