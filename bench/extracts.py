"""The extracts bench/dms_load loads: one rooftop-day of repair orders and their lines at a given
size, the lines alone, the next day's 1% delta, and a day without rows."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

DAY = dt.date(2026, 11, 16)
ROOFTOP, TZ = "bench-rooftop", "America/Chicago"
LINES = ("repair_orders", "repair_order_lines")


def write_lines_extract(root: Path, target_lines: int) -> int:
    """A one-day extract of repair orders and their lines, scaled to about `target_lines` lines."""
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.extract import write_extract

    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    # A day's count is proportional to the scale (its random draw does not depend on it), 2.5 lines an order.
    probe = RooftopDms(ROOFTOP, SimulatorSettings(now=now, scale=1000, outcomes=False)).count(
        "repair_orders", (DAY - dt.date(2025, 1, 1)).days
    )
    # 1% headroom: the lines per order vary, and the target is a floor. Outcomes tie each day to
    # the months before it; a one-day load at this scale needs none.
    settings = SimulatorSettings(
        now=now, scale=1010 * target_lines / (probe * 2.5), update_share=0, outcomes=False
    )
    folder = write_extract(RooftopDms(ROOFTOP, settings), ROOFTOP, DAY, TZ, root, entities=LINES)
    return json.loads((folder / "manifest.json").read_text())["files"]["repair_order_lines.csv"]["rows"]


def write_manifest(folder: Path, day: dt.date, names: list[str]) -> None:
    files = {}
    for name in names:
        path = folder / name
        with path.open(newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        files[name] = {"rows": rows, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    manifest = {"dealership_id": ROOFTOP, "date": day.isoformat(), "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def write_empty_day(root: Path, day: dt.date) -> None:
    """A day whose files hold a header and no rows."""
    from auterity_pipelines.records import columns

    folder = root / day.isoformat()
    folder.mkdir(parents=True)
    for entity in LINES:
        with (folder / f"{entity}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerow(columns(entity))
    write_manifest(folder, day, [f"{e}.csv" for e in LINES])


def lines_only(root: Path, into: Path) -> Path:
    """The day's repair-order lines alone, as an extract of their own (what the floor loads)."""
    folder = into / DAY.isoformat()
    folder.mkdir(parents=True)
    os.link(root / DAY.isoformat() / "repair_order_lines.csv", folder / "repair_order_lines.csv")
    write_manifest(folder, DAY, ["repair_order_lines.csv"])
    return into


def write_delta(root: Path, share: float = 0.01) -> int:
    """The next day's extract: `share` of the lines changed (new amount, later modified_at)."""
    source = root / DAY.isoformat() / "repair_order_lines.csv"
    day = DAY + dt.timedelta(days=1)
    folder = root / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    step = round(1 / share)
    with source.open(newline="") as src, (folder / "repair_order_lines.csv").open("w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for n, row in enumerate(reader):
            if n % step == 0:
                row[1] = f"{day.isoformat()}T15:00:00Z"
                row[9] = f"{float(row[9]) + 10:.2f}"
                writer.writerow(row)
                rows += 1
    write_manifest(folder, day, ["repair_order_lines.csv"])
    return rows
