"""Writes a simulated rooftop's nightly extract, streaming: files of millions of rows in bounded memory."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

from auterity_pipelines.records import ENTITIES, columns, split_lines, written_columns
from auterity_pipelines.simulator.data import RooftopDms
from resources.dms.extract import file_digest
from resources.dms.window import Window


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def write_extract(
    dms: RooftopDms,
    dealership_id: str,
    day: dt.date,
    timezone: str,
    root: Path,
    entities: tuple[str, ...] = ENTITIES,
) -> Path:
    """Write `<root>/<day>/` with one CSV per entity and its manifest; the folder appears whole or not at all."""
    window = Window.local_day(day, timezone)
    folder = Path(root) / day.isoformat()
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    handles = {e: (staging / f"{e}.csv").open("w", newline="", encoding="utf-8") for e in entities}
    writers = {e: csv.writer(h) for e, h in handles.items()}
    rows = dict.fromkeys(entities, 0)
    try:
        for entity in entities:
            writers[entity].writerow(written_columns(entity))
        for entity in entities:
            if entity == "repair_order_lines":
                continue
            for _, record in dms.stream(entity, window.start, window.end):
                writers[entity].writerow([_cell(record.get(c)) for c in written_columns(entity)])
                rows[entity] += 1
                for line in split_lines(record) if "repair_order_lines" in writers else ():
                    writers["repair_order_lines"].writerow(
                        [_cell(line.get(c)) for c in columns("repair_order_lines")]
                    )
                    rows["repair_order_lines"] += 1
    finally:
        for handle in handles.values():
            handle.close()
    files = {}
    for entity in entities:
        _, sha = file_digest(staging / f"{entity}.csv")
        files[f"{entity}.csv"] = {"rows": rows[entity], "sha256": sha}
    manifest = {"dealership_id": dealership_id, "date": day.isoformat(), "files": files}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
