"""The enrichment data path, without Dagster: a partition's records, what changed, through the router, into the table.

The assets and `bench/enrichment` both run this code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, select, tuple_

from auterity_pipelines.enrichment.inputs import (
    input_hash,
    lead_columns,
    lead_input,
    line_columns,
    line_input,
)
from auterity_pipelines.enrichment.tasks import LEAD_ENRICHMENT, REPAIR_ORDER_ENRICHMENT, Task
from auterity_pipelines.schema import customers, leads, repair_order_lines, repair_orders
from resources.ai.router import Router, WorkItem
from resources.warehouse import Warehouse
from resources.warehouse.upserts import UPSERTS

WRITE_BATCH = 200


@dataclass(frozen=True)
class EnrichmentSpec:
    """How one task's enrichment table is keyed and filled."""

    task: Task
    table: str
    keys: tuple[str, ...]
    load: Callable[[Warehouse, str, dt.date], list[tuple[str, dict, tuple]]]  # (key, input, names)
    columns: Callable[[dict | None], dict]

    def key_values(self, key: str) -> tuple:
        if self.keys[-1] == "line_number":
            ro_number, line = key.rsplit("#", 1)
            return (ro_number, int(line))
        return (key,)


@dataclass
class EnrichmentStats:
    records: int = 0
    unchanged: int = 0
    sent: int = 0
    ok: int = 0
    failed: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def failure_share(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    def metadata(self) -> dict:
        return {
            "records": self.records,
            "unchanged_skipped": self.unchanged,
            "enriched": self.ok,
            "failed": self.failed,
            "failure_share": round(self.failure_share, 4),
            **(
                {"failure_reasons": "; ".join(f"{r} ×{n}" for r, n in self.reasons.most_common(3))}
                if self.reasons
                else {}
            ),
        }


def _chunks(values: list, size: int = 500):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def partition_leads(warehouse: Warehouse, dealership_id: str, day: dt.date) -> list[tuple[str, dict, tuple]]:
    ids = warehouse.partition_source_ids("leads", dealership_id, day)
    rows = []
    with warehouse.engine.connect() as conn:
        for chunk in _chunks(ids):
            query = select(leads).where(leads.c.dealership_id == dealership_id, leads.c.lead_id.in_(chunk))
            rows.extend(dict(r._mapping) for r in conn.execute(query))
    return [lead_input(row) for row in sorted(rows, key=lambda r: r["lead_id"])]


def partition_lines(warehouse: Warehouse, dealership_id: str, day: dt.date) -> list[tuple[str, dict, tuple]]:
    wanted = {
        (str(p.get("ro_number")), int(p.get("line_number") or 0))
        for batch in warehouse.raw_payloads("repair_order_lines", dealership_id, day)
        for p in batch
    }
    numbers = sorted({ro for ro, _ in wanted})
    lines, orders = [], {}
    with warehouse.engine.connect() as conn:
        for chunk in _chunks(numbers):
            where = [
                repair_order_lines.c.dealership_id == dealership_id,
                repair_order_lines.c.ro_number.in_(chunk),
            ]
            lines.extend(dict(r._mapping) for r in conn.execute(select(repair_order_lines).where(*where)))
            # The order's customer comes along: their name is redacted from the line's text.
            order_query = (
                select(
                    repair_orders.c.ro_number,
                    repair_orders.c.vin,
                    repair_orders.c.opened_at,
                    customers.c.first_name,
                    customers.c.last_name,
                )
                .select_from(
                    repair_orders.outerjoin(
                        customers,
                        and_(
                            customers.c.dealership_id == repair_orders.c.dealership_id,
                            customers.c.customer_id == repair_orders.c.customer_id,
                        ),
                    )
                )
                .where(repair_orders.c.dealership_id == dealership_id, repair_orders.c.ro_number.in_(chunk))
            )
            orders.update({r.ro_number: dict(r._mapping) for r in conn.execute(order_query)})
    lines = [line for line in lines if (line["ro_number"], line["line_number"]) in wanted]
    lines.sort(key=lambda r: (r["ro_number"], r["line_number"]))
    return [line_input(line, orders.get(line["ro_number"])) for line in lines]


LEADS = EnrichmentSpec(LEAD_ENRICHMENT, "lead_enrichments", ("lead_id",), partition_leads, lead_columns)
REPAIR_ORDER_LINES = EnrichmentSpec(
    REPAIR_ORDER_ENRICHMENT,
    "repair_order_enrichments",
    ("ro_number", "line_number"),
    partition_lines,
    line_columns,
)


def enriched_hashes(
    warehouse: Warehouse, spec: EnrichmentSpec, dealership_id: str, keys: list[tuple]
) -> dict[tuple, str]:
    """Input hashes of records already enriched successfully under the task's prompt version."""
    table = UPSERTS[spec.table].table
    key_cols = [table.c[k] for k in spec.keys]
    found = {}
    with warehouse.engine.connect() as conn:
        for chunk in _chunks(keys):
            query = select(*key_cols, table.c.input_hash).where(
                table.c.dealership_id == dealership_id,
                table.c.prompt_version == spec.task.prompt_version,
                table.c.status == "ok",
                tuple_(*key_cols).in_(chunk) if len(key_cols) > 1 else key_cols[0].in_([k[0] for k in chunk]),
            )
            found.update({tuple(row[:-1]): row[-1] for row in conn.execute(query)})
    return found


def enrich_partition(
    warehouse: Warehouse,
    router: Router,
    spec: EnrichmentSpec,
    dealership_id: str,
    day: dt.date,
    run_id: str,
    progress: Callable[[int], None] | None = None,
) -> EnrichmentStats:
    """Enrich the partition's records that are new or changed under this prompt version."""
    stats = EnrichmentStats()
    records = spec.load(warehouse, dealership_id, day)
    stats.records = len(records)
    done = enriched_hashes(warehouse, spec, dealership_id, [spec.key_values(k) for k, _, _ in records])
    hashes = {key: input_hash(record) for key, record, _ in records}
    todo = [
        WorkItem(key, record, names)
        for key, record, names in records
        if done.get(spec.key_values(key)) != hashes[key]
    ]
    stats.unchanged = len(records) - len(todo)
    stats.sent = len(todo)
    columns = UPSERTS[spec.table].columns
    pending = []
    for outcome in router.run(spec.task, dealership_id, todo):
        if outcome.status == "ok":
            stats.ok += 1
        else:
            stats.failed += 1
            stats.reasons[(outcome.error or "")[:120]] += 1
        row = {
            "dealership_id": dealership_id,
            **dict(zip(spec.keys, spec.key_values(outcome.key))),
            "prompt_version": spec.task.prompt_version,
            "input_hash": hashes[outcome.key],
            "status": outcome.status,
            "error": outcome.error,
            "provider": outcome.provider,
            "model": outcome.model,
            "result": json.dumps(outcome.answer) if outcome.answer is not None else None,
            "enriched_at": dt.datetime.now(dt.UTC),
            "run_id": run_id,
            **spec.columns(outcome.answer),
        }
        pending.append(tuple(row[c] for c in columns))
        if len(pending) >= WRITE_BATCH:
            warehouse.upsert(spec.table, pending)
            pending = []
        if progress:
            progress(1)
    warehouse.upsert(spec.table, pending)
    return stats
