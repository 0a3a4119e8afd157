"""Metrics the warehouse holds the truth of: syncs, quarantine, AI use and budgets, events and
automations. One aggregate scan per bookkeeping table, never a read of the data itself."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, case, func, select

from auterity_pipelines.metrics.families import Family, Histogram, bucket_columns
from auterity_pipelines.schema import (
    ai_quota_usage,
    ai_usage,
    automation_deliveries,
    events_inbox,
    partition_volumes,
)

AI_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
EVENT_SECONDS = (1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)
MICRO = 1_000_000


def seconds_between(engine: Engine, start, end):
    """`end - start` in seconds, as SQL the warehouse's database understands."""
    if engine.dialect.name == "postgresql":  # date_part is a float; extract a (slow) numeric
        return func.date_part("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def collect(engine: Engine, budgets=None, now: dt.datetime | None = None) -> list:
    """Every warehouse family. `budgets(dealership, task)` is the monthly AI budget in dollars
    (None: no budget), from RelayCore's configuration."""
    now = now or dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        return [
            *_syncs(conn, now),
            *_ai(conn),
            *_budgets(conn, budgets, now),
            *_events(conn, engine),
            _decisions(conn),
        ]


def _grouped(conn, groups: list, *aggregates, where=()):
    return conn.execute(select(*groups, *aggregates).where(*where).group_by(*groups)).all()


def _syncs(conn, now: dt.datetime) -> list:
    v = partition_volumes.c
    rows = Family("counter", "auterity_sync_rows", "Contract rows the latest sync of each rooftop-day wrote.",
                  ["dealership", "entity"])  # fmt: skip
    quarantined = Family("counter", "auterity_quarantined_records",
                         "Records the latest sync of each rooftop-day quarantined.", ["dealership", "entity"])  # fmt: skip
    # A rerun or a replay lowers the totals above, which Prometheus would read as a counter reset
    # and count again: the share an alert reads is taken here, over the last day's syncs.
    recent = Family("gauge", "auterity_quarantine_share",
                    "Share of records quarantined by the rooftop's partition syncs of the last 24 h.", ["dealership"])  # fmt: skip
    since = now - dt.timedelta(hours=24)
    last: dict[str, dt.datetime] = {}
    day_rows: dict[str, list[float]] = {}
    for dealership, table, n, bad, at, n_day, bad_day in _grouped(
        conn,
        [v.dealership_id, v.table_name],
        func.sum(v.rows),
        func.sum(v.quarantined),
        func.max(v.updated_at),
        func.sum(case((v.updated_at >= since, v.rows), else_=0)),
        func.sum(case((v.updated_at >= since, v.quarantined), else_=0)),
    ):
        rows.add([dealership, table], n)
        quarantined.add([dealership, table], bad)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        last[dealership] = max(last.get(dealership, at), at)
        held = day_rows.setdefault(dealership, [0.0, 0.0])
        held[0] += float(n_day or 0)
        held[1] += float(bad_day or 0)
    synced = Family("gauge", "auterity_partition_last_synced_timestamp_seconds",
                    "When a rooftop's latest partition sync finished (Unix time).", ["dealership"])  # fmt: skip
    for dealership, at in last.items():
        synced.add([dealership], at.timestamp())
        good, bad = day_rows[dealership]
        recent.add([dealership], bad / (good + bad) if good + bad else 0)
    return [rows.family(), quarantined.family(), synced.family(), recent.family()]


def _ai(conn) -> list:
    ai = ai_usage.c
    requests = Family("counter", "auterity_ai_requests", "AI requests by provider, task and outcome.",
                      ["provider", "task", "outcome"])  # fmt: skip
    tokens = Family(
        "counter", "auterity_ai_tokens", "AI tokens, by provider and direction.", ["provider", "direction"]
    )
    cost = Family("counter", "auterity_ai_cost_usd", "What AI requests cost, by rooftop and provider.",
                  ["dealership", "provider"])  # fmt: skip
    latency = Histogram("auterity_ai_request_duration_seconds", "AI request latency (cache hits excluded).",
                        ["provider"], AI_SECONDS, per_second=1000)  # fmt: skip
    for dealership, provider, task, outcome, n, tokens_in, tokens_out, dollars, *timed in _grouped(
        conn,
        [ai.dealership_id, ai.provider, ai.task, ai.outcome],
        func.count(),
        func.sum(ai.tokens_in),
        func.sum(ai.tokens_out),
        func.sum(ai.cost_usd),
        *bucket_columns(ai.latency_ms, latency.bounds(), ai.cache_hit.is_(False)),
    ):
        requests.add([provider, task, outcome], n)
        tokens.add([provider, "input"], tokens_in)
        tokens.add([provider, "output"], tokens_out)
        cost.add([dealership, provider], dollars)
        latency.add([provider], timed)
    return [requests.family(), tokens.family(), cost.family(), latency.family()]


def _budgets(conn, budgets, now: dt.datetime) -> list:
    """Each rooftop's monthly AI budget and what is left of it: its tasks' budgets less this
    month's spend. A rooftop appears once it has spent anything this month; a task without a
    budget adds nothing."""
    q = ai_quota_usage.c
    total = Family("gauge", "auterity_ai_budget_usd",
                   "The monthly AI budget, by rooftop (the sum over its budgeted tasks).", ["dealership"])  # fmt: skip
    left = Family("gauge", "auterity_ai_budget_remaining_usd",
                  "The monthly AI budget left, by rooftop (the sum over its budgeted tasks).", ["dealership"])  # fmt: skip
    spent = _grouped(conn, [q.dealership_id, q.task], func.sum(q.used),
                     where=[q.metric == "spend_micro_usd", q.period == now.strftime("%Y-%m")])  # fmt: skip
    for dealership, task, used in spent:
        budget = budgets(dealership, task) if budgets else None
        if budget is not None:
            total.add([dealership], budget)
            left.add([dealership], budget - float(used or 0) / MICRO)
    return [total.family(), left.family()]


def _events(conn, engine: Engine) -> list:
    inbox = events_inbox.c
    received = Family("counter", "auterity_events_received", "Events received, by rooftop, type and status.",
                      ["dealership", "type", "status"])  # fmt: skip
    backlog = Family(
        "gauge", "auterity_inbox_backlog", "Events received and not yet handled, by rooftop.", ["dealership"]
    )
    latency = Histogram("auterity_event_to_result_seconds",
                        "From an event's receipt to the end of the run that handled it (its CRM post or delivery).",
                        ["type"], EVENT_SECONDS)  # fmt: skip
    took = seconds_between(engine, inbox.received_at, inbox.processed_at)
    for dealership, kind, status, n, *timed in _grouped(
        conn,
        [inbox.dealership_id, inbox.event_type, inbox.status],
        func.count(),
        *bucket_columns(took, latency.bounds(), inbox.status == "done"),
    ):
        received.add([dealership, kind, status], n)
        backlog.add([dealership], n if status == "received" else 0)
        latency.add([kind], timed)
    return [received.family(), backlog.family(), latency.family()]


def _decisions(conn):
    d = automation_deliveries.c
    decisions = Family("counter", "auterity_automation_decisions",
                       "Automation decisions, by rooftop, automation and decision.", ["dealership", "automation", "decision"])  # fmt: skip
    for *labels, n in _grouped(conn, [d.dealership_id, d.automation, d.decision], func.count()):
        decisions.add(labels, n)
    return decisions.family()
