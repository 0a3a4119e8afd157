"""The generic nightly extract: `<root>/<YYYY-MM-DD>/<entity>.csv` checked against `manifest.json`."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from auterity_pipelines.records import ENTITIES, MALFORMED_KEY, columns
from resources.dms.window import Window

csv.field_size_limit(16 * 1024 * 1024)


class ExtractIncomplete(RuntimeError):
    """A day that must not be loaded; the message says why."""


def file_digest(path: Path) -> tuple[int, str]:
    """Data rows (CSV-aware: quoted newlines stay in their row) and SHA-256 of a file."""
    sha = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            sha.update(chunk)
    with path.open(newline="", encoding="utf-8") as text:
        rows = sum(1 for _ in csv.reader(text)) - 1
    return max(rows, 0), sha.hexdigest()


class ExtractReader:
    """Reads one rooftop's extract days; a day is read only once its manifest vouches for it."""

    nests_lines = False
    entities = ENTITIES

    def __init__(self, root: Path, dealership_id: str, batch_size: int = 20_000):
        self.root = Path(root)
        self.dealership_id = dealership_id
        self.batch_size = batch_size
        self._verified: dict[str, dict] = {}

    def close(self) -> None:
        pass

    def check(self, window: Window) -> dict:
        """The day's manifest, after every file in it is found whole; else ExtractIncomplete."""
        key = window.day.isoformat()
        if key in self._verified:
            return self._verified[key]
        folder = self.root / key
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise ExtractIncomplete(f"{folder}: no manifest.json, so the day is not complete")
        try:
            manifest = json.loads(manifest_path.read_text())
            files = manifest["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ExtractIncomplete(f"{manifest_path}: not a valid manifest ({exc})") from None
        if manifest.get("dealership_id") not in (None, self.dealership_id):
            raise ExtractIncomplete(
                f"{manifest_path}: written for {manifest['dealership_id']!r}, not {self.dealership_id!r}"
            )
        if manifest.get("date") not in (None, key):
            raise ExtractIncomplete(f"{manifest_path}: dated {manifest['date']}, but the folder is {key}")
        for name, expected in files.items():
            if name.removesuffix(".csv") not in ENTITIES:
                raise ExtractIncomplete(f"{manifest_path}: lists {name}, which is not an extract entity")
            path = folder / name
            if not path.is_file():
                raise ExtractIncomplete(f"{path}: listed in the manifest but missing")
            rows, sha = file_digest(path)
            if rows != expected.get("rows"):
                raise ExtractIncomplete(f"{path}: {rows} data rows, the manifest says {expected.get('rows')}")
            if sha != expected.get("sha256"):
                raise ExtractIncomplete(f"{path}: SHA-256 {sha[:12]}… does not match the manifest's")
        for path in folder.glob("*.csv"):
            if path.name not in files:
                raise ExtractIncomplete(f"{path}: present but not in the manifest")
        self._verified[key] = manifest
        return manifest

    def batches(self, entity: str, window: Window) -> Iterator[list[dict]]:
        manifest = self.check(window)
        name = f"{entity}.csv"
        if name not in manifest["files"]:
            return  # an entity may be absent from a day's extract
        path = self.root / window.day.isoformat() / name
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            missing = [c for c in columns(entity) if c not in header]
            if header[:2] != ["source_id", "modified_at"] or missing:
                raise ExtractIncomplete(
                    f"{path}: the header must start with source_id,modified_at and have "
                    f"{', '.join(columns(entity))}; missing {', '.join(missing) or 'the key order'}"
                )
            width = len(header)
            batch = []
            for line, row in enumerate(reader, start=2):
                record = dict(zip(header, row))
                if len(row) != width:
                    record[MALFORMED_KEY] = (
                        f"{path.name} row {line} has {len(row)} fields, the header has {width}"
                    )
                batch.append(record)
                if len(batch) >= self.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch
