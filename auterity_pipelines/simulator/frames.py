"""A simulated rooftop's history as contract-table frames, conformed in memory without a warehouse.

Benchmarks use it to build training sets far larger than a test would sync.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from auterity_pipelines.conform import CONFORMERS
from auterity_pipelines.records import split_lines
from auterity_pipelines.simulator.data import RooftopDms


def contract_frames(
    dms: RooftopDms, dealership_id: str, entities: list[str], start: dt.datetime, end: dt.datetime
) -> dict[str, pd.DataFrame]:
    """The contract table of each entity as a correct sync of [start, end) would leave it."""
    tz = ZoneInfo("UTC")
    rows: dict[str, list[dict]] = {CONFORMERS[e][0]: [] for e in entities}
    for entity in entities:
        source = "repair_orders" if entity == "repair_order_lines" else entity
        table, build = CONFORMERS[entity]
        for _, record in dms.stream(source, start, end):
            for row in split_lines(record) if entity == "repair_order_lines" else [record]:
                rows[table].append(build(dealership_id, row, tz))
    return {table: pd.DataFrame(found) for table, found in rows.items()}
