"""How rows are merged into the warehouse: on each table's key, never a newer version replaced by an older one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from auterity_pipelines.schema import (
    CONFORMED_TABLES,
    ENRICHMENT_TABLES,
    RAW_TABLES,
    lead_scores,
    partition_volumes,
    quality_results,
)


@dataclass(frozen=True)
class UpsertSpec:
    """How rows of a table are merged: on its key, never replacing a newer version with an older one."""

    table: Table
    version: str  # the DMS's modification time
    changed: str | None = None  # a column that tells an equal-time row apart; None: rewrite equal-time rows

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]

    @property
    def keys(self) -> list[str]:
        return [c.name for c in self.table.primary_key.columns]


UPSERTS = {
    **{t.name: UpsertSpec(t, "source_modified_at", "payload") for t in RAW_TABLES.values()},
    **{name: UpsertSpec(t, "updated_at") for name, t in CONFORMED_TABLES.items()},
    **{name: UpsertSpec(t, "enriched_at") for name, t in ENRICHMENT_TABLES.items()},
    "lead_scores": UpsertSpec(lead_scores, "scored_at"),
    "quality_results": UpsertSpec(quality_results, "evaluated_at"),
    "partition_volumes": UpsertSpec(partition_volumes, "updated_at"),
}
