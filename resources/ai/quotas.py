"""Quotas per dealership and task, held in the warehouse so they bind every run and process.

Each limit is a counter row per period (the minute, the UTC day, the UTC month), raised by one
conditional upsert that refuses to pass the limit. A call reserves its worst case first (the
prompt's upper-bound tokens plus the answer's maximum, at the candidate's prices) and settles
to what it really used afterwards, so concurrent calls can never overspend together.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

from resources.ai.config import Quota

MICRO = 1_000_000


class QuotaExceeded(RuntimeError):
    """A budget or daily token allowance is spent; the message says which, for whom, and the figures."""


class _Refused(Exception):
    pass


@dataclass
class Reservation:
    dealership_id: str
    task: str
    amounts: dict[tuple[str, str], int]  # (metric, period) -> reserved


def _periods(now: dt.datetime) -> dict[str, str]:
    return {
        "requests": now.strftime("%Y-%m-%dT%H:%M"),
        "tokens": now.strftime("%Y-%m-%d"),
        "spend_micro_usd": now.strftime("%Y-%m"),
    }


_RAISE = text(
    "INSERT INTO ai_quota_usage (dealership_id, task, metric, period, used) VALUES (:d, :t, :m, :p, :x) "
    "ON CONFLICT (dealership_id, task, metric, period) DO UPDATE SET used = ai_quota_usage.used + excluded.used "
    "WHERE ai_quota_usage.used + excluded.used <= :limit RETURNING used"
)
_ADJUST = text(
    "UPDATE ai_quota_usage SET used = used + :x WHERE dealership_id = :d AND task = :t AND metric = :m AND period = :p"
)
_READ = text(
    "SELECT used FROM ai_quota_usage WHERE dealership_id = :d AND task = :t AND metric = :m AND period = :p"
)


class Quotas:
    def __init__(self, engine: Engine, max_wait_seconds: float = 75.0):
        self.engine = engine
        self.max_wait_seconds = max_wait_seconds

    def reserve(
        self, dealership_id: str, task: str, quota: Quota, tokens: int, cost_usd: float
    ) -> Reservation:
        """Count one request and reserve `tokens` and `cost_usd`; waits out a full minute's requests."""
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            now = dt.datetime.now(dt.UTC)
            periods = _periods(now)
            wanted = [
                ("requests", quota.requests_per_minute, 1),
                ("tokens", quota.tokens_per_day, tokens),
                (
                    "spend_micro_usd",
                    None if quota.monthly_budget_usd is None else round(quota.monthly_budget_usd * MICRO),
                    round(cost_usd * MICRO),
                ),
            ]
            refused = self._try(dealership_id, task, periods, wanted)
            if refused is None:
                return Reservation(dealership_id, task, {(m, periods[m]): x for m, _, x in wanted})
            metric, limit, used, amount = refused
            if metric != "requests":
                raise QuotaExceeded(_explain(metric, dealership_id, task, limit, used, amount))
            wait = 60.5 - now.second - now.microsecond / 1e6
            if time.monotonic() + wait > deadline:
                raise QuotaExceeded(
                    f"{task} at {dealership_id}: {limit} requests per minute in use for longer than {self.max_wait_seconds:.0f} s"
                )
            time.sleep(max(0.05, wait))

    def _try(self, d: str, t: str, periods: dict, wanted: list) -> tuple | None:
        """Raise every counter in one transaction, or none: (metric, limit, used, amount) of a refusal."""
        try:
            with self.engine.begin() as conn:
                for metric, limit, amount in wanted:
                    params = {"d": d, "t": t, "m": metric, "p": periods[metric]}
                    # A limit that is not set still counts, so the counters show use.
                    cap = 2**62 if limit is None else limit
                    if (
                        amount > cap
                        or conn.execute(_RAISE, {**params, "x": amount, "limit": cap}).first() is None
                    ):
                        raise _Refused(metric, cap, conn.execute(_READ, params).scalar() or 0, amount)
        except _Refused as refused:
            return refused.args
        return None

    def settle(self, reservation: Reservation, tokens: int, cost_usd: float) -> None:
        """Replace the reserved worst case by what the call used (0, 0 to release it)."""
        actual = {"requests": None, "tokens": tokens, "spend_micro_usd": round(cost_usd * MICRO)}
        with self.engine.begin() as conn:
            for (metric, period), reserved in reservation.amounts.items():
                if actual[metric] is None or actual[metric] == reserved:
                    continue
                conn.execute(
                    _ADJUST,
                    {
                        "x": actual[metric] - reserved,
                        "d": reservation.dealership_id,
                        "t": reservation.task,
                        "m": metric,
                        "p": period,
                    },
                )

    def used(self, dealership_id: str, task: str, metric: str, now: dt.datetime | None = None) -> int:
        period = _periods(now or dt.datetime.now(dt.UTC))[metric]
        with self.engine.connect() as conn:
            return (
                conn.execute(_READ, {"d": dealership_id, "t": task, "m": metric, "p": period}).scalar() or 0
            )


def _explain(metric: str, dealership_id: str, task: str, limit: int, used: int, amount: int) -> str:
    if metric == "spend_micro_usd":
        return (
            f"monthly AI budget for {task} at {dealership_id} is spent: ${used / MICRO:.4f} of "
            f"${limit / MICRO:.2f} used, and this call may cost up to ${amount / MICRO:.4f}"
        )
    return f"daily token allowance for {task} at {dealership_id} is spent: {used:,} of {limit:,} tokens used, this call needs up to {amount:,}"
