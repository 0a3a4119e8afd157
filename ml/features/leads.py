"""Lead conversion features: the lead, its enrichment, the customer's history, the vehicle, the response time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ml.features.frames import outcome_known, utc
from ml.text import leads as lead_text

HORIZON = pd.Timedelta(days=30)
NO_RESPONSE_MINUTES = 7 * 24 * 60.0  # unanswered leads count as a week's wait
CATEGORICAL = ["source", "intent", "vehicle_make"]
NUMERIC = [
    "response_minutes",
    "answered",
    "urgency",
    "received_hour",
    "received_weekday",
    "has_phone",
    "has_email",
    "existing_customer",
    "prior_deals",
    "prior_repair_orders",
    "vehicle_age",
]
FEATURES = CATEGORICAL + NUMERIC
KEYS = ["dealership_id", "lead_id"]


def lead_frame(tables: dict[str, pd.DataFrame], as_of: dt.datetime) -> pd.DataFrame:
    """One row per lead: keys, `received_at`, FEATURES, and (where 30 days have passed) `converted`."""
    leads = tables["leads"].copy()
    leads["received_at"] = utc(leads["received_at"])
    leads = _with_enrichment(leads, tables.get("lead_enrichments"))
    responded = utc(leads["first_response_at"])
    minutes = (responded - leads["received_at"]).dt.total_seconds() / 60.0
    frame = leads[[*KEYS, "received_at"]].copy()
    frame["source"] = leads["source"].fillna("unknown").str.lower()
    frame["intent"] = leads["intent"]
    frame["urgency"] = leads["urgency"].astype(float)
    frame["vehicle_make"] = leads["vehicle_make"].fillna("unknown")
    frame["answered"] = minutes.notna().astype(int)
    frame["response_minutes"] = minutes.clip(lower=0).fillna(NO_RESPONSE_MINUTES)
    frame["received_hour"] = leads["received_at"].dt.hour
    frame["received_weekday"] = leads["received_at"].dt.day_of_week
    frame["has_phone"] = leads["phone"].notna().astype(int)
    frame["has_email"] = leads["email"].notna().astype(int)
    frame["vehicle_age"] = (leads["received_at"].dt.year - pd.to_numeric(leads["vehicle_year"])).clip(lower=0)
    frame = frame.join(_customer_history(leads, tables))
    frame["converted"] = _converted(leads, tables["deals"])
    frame.loc[
        ~outcome_known(frame["dealership_id"], frame["received_at"], HORIZON, as_of, tables), "converted"
    ] = np.nan
    return frame.reset_index(drop=True)


def _with_enrichment(leads: pd.DataFrame, enrichments: pd.DataFrame | None) -> pd.DataFrame:
    """Intent and urgency from the latest good enrichment; the offline models where there is none yet."""
    leads = leads.assign(intent=None, urgency=np.nan)
    if enrichments is not None and len(enrichments):
        good = enrichments[enrichments["status"] == "ok"].sort_values("enriched_at")
        latest = good.drop_duplicates(KEYS, keep="last").set_index(KEYS)[["intent", "urgency"]]
        found = leads.set_index(KEYS).index
        leads["intent"] = latest["intent"].reindex(found).to_numpy()
        leads["urgency"] = latest["urgency"].reindex(found).to_numpy()
    missing = leads["intent"].isna()
    if missing.any():
        # Few distinct comments exist, so each is read once.
        texts = leads.loc[missing, "comments"].fillna("")
        sources = leads.loc[missing, "source"].fillna("")
        pairs = pd.Series(list(zip(texts, sources)), index=texts.index)
        read = {pair: (lead_text.intent(pair[0]), lead_text.urgency(*pair)[0]) for pair in set(pairs)}
        leads.loc[missing, "intent"] = pairs.map(lambda pair: read[pair][0])
        leads.loc[missing, "urgency"] = pairs.map(lambda pair: read[pair][1])
    return leads


def _customer_history(leads: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Whether the lead's email belongs to a customer, and that customer's deals and visits before it."""
    customers = tables["customers"]
    by_email = (
        customers.dropna(subset=["email"])
        .assign(email=lambda c: c["email"].str.lower())
        .drop_duplicates(["dealership_id", "email"])[["dealership_id", "email", "customer_id"]]
    )
    matched = leads[[*KEYS, "email", "received_at"]].assign(email=leads["email"].str.lower())
    matched = matched.merge(by_email, on=["dealership_id", "email"], how="left")
    history = pd.DataFrame(index=leads.index)
    history["existing_customer"] = matched["customer_id"].notna().astype(int).to_numpy()
    for name, table, when in (
        ("prior_deals", tables["deals"], "sold_at"),
        ("prior_repair_orders", tables["repair_orders"], "opened_at"),
    ):
        events = table[["dealership_id", "customer_id", when]].dropna()
        events = events.assign(at=utc(events[when]))
        pairs = matched.reset_index().merge(events, on=["dealership_id", "customer_id"])
        before = pairs[pairs["at"] < pairs["received_at"]].groupby("index").size()
        history[name] = before.reindex(history.index, fill_value=0).to_numpy()
    return history


def _converted(leads: pd.DataFrame, deals: pd.DataFrame) -> pd.Series:
    """1 where a deal names the lead and was sold within 30 days of it, else 0."""
    sold = deals.dropna(subset=["lead_id"]).assign(sold_at=lambda d: utc(d["sold_at"]))
    sold = sold.groupby(["dealership_id", "lead_id"])["sold_at"].min()
    first_sale = sold.reindex(pd.MultiIndex.from_frame(leads[KEYS])).to_numpy()
    first_sale = pd.Series(pd.to_datetime(first_sale, utc=True), index=leads.index)
    return ((first_sale - leads["received_at"]) <= HORIZON).astype(float)
