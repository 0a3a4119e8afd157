"""The generic nightly extract: `<root>/<YYYY-MM-DD>/<entity>.csv` checked against `manifest.json`."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from auterity_pipelines.records import ENTITIES, MALFORMED_KEY, columns
from resources.dms.window import Window

csv.field_size_limit(16 * 1024 * 1024)


class ExtractIncomplete(RuntimeError):
    """A day that must not be loaded; the message says why."""


class NotColumnar(RuntimeError):
    """A file the Arrow reader does not take whole (a row of the wrong width, a blank line, a
    field longer than a block, a column named twice, text it cannot decode): the per-record
    reader reads it instead, and says what is wrong."""


class _Hashing(io.RawIOBase):
    """A binary file that hashes what is read from it."""

    def __init__(self, handle):
        self.handle, self.sha = handle, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.handle.readinto(buffer)
        self.sha.update(memoryview(buffer)[:n])
        return n


def _agree(path: Path, expected: dict, rows: int, sha: str) -> None:
    if rows != expected.get("rows"):
        raise ExtractIncomplete(f"{path}: {rows} data rows, the manifest says {expected.get('rows')}")
    if sha != expected.get("sha256"):
        raise ExtractIncomplete(f"{path}: SHA-256 {sha[:12]}… does not match the manifest's")


def _header(path: Path, entity: str, header: list[str]) -> list[str]:
    missing = [c for c in columns(entity) if c not in header]
    if header[:2] != ["source_id", "modified_at"] or missing:
        raise ExtractIncomplete(
            f"{path}: the header must start with source_id,modified_at and have "
            f"{', '.join(columns(entity))}; missing {', '.join(missing) or 'the key order'}"
        )
    return header


def _has_empty_row(block: pa.Table) -> bool:
    """A row of nothing but empty fields: what Arrow makes of a blank line, which csv reads as
    a row of no fields (a malformed record)."""
    empty = pc.equal(block.column(0), "")
    if not pc.any(empty).as_py():  # the usual block: every row has an id
        return False
    for column in block.columns[1:]:
        empty = pc.and_(empty, pc.equal(column, ""))
    return pc.any(empty).as_py()


@contextlib.contextmanager
def _text(path: Path) -> Iterator:
    """A file opened as the UTF-8 text the format requires; bytes that are not are a refusal
    that names the file, not a crash."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            yield handle
    except UnicodeDecodeError as exc:
        raise ExtractIncomplete(
            f"{path}: not UTF-8 text ({exc.reason}, byte {exc.object[exc.start : exc.end]!r})"
        ) from None


def file_digest(path: Path) -> tuple[int, str]:
    """Data rows (CSV-aware: quoted newlines stay in their row) and SHA-256 of a file."""
    sha = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            sha.update(chunk)
    with _text(path) as text:
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

    def check(self, window: Window, read_whole: frozenset[str] = frozenset()) -> dict:
        """The day's manifest, after every file in it is found whole; else ExtractIncomplete.

        The files of the entities in `read_whole` are only found here: the load that reads them
        counts and hashes them as it goes (`blocks`) and commits nothing unless they agree.
        """
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
            if name.removesuffix(".csv") not in read_whole:
                _agree(path, expected, *file_digest(path))
        for path in folder.glob("*.csv"):
            if path.name not in files:
                raise ExtractIncomplete(f"{path}: present but not in the manifest")
        self._verified[key] = manifest
        return manifest

    def path(self, entity: str, window: Window) -> Path | None:
        """The entity's file for the day, or None when the day's extract has none."""
        name = f"{entity}.csv"
        if name not in self.check(window)["files"]:
            return None  # an entity may be absent from a day's extract
        return self.root / window.day.isoformat() / name

    def verify(self, entity: str, window: Window) -> None:
        """Hold one file to the manifest before it is read (ExtractIncomplete if it disagrees)."""
        path = self.path(entity, window)
        _agree(path, self.check(window)["files"][path.name], *file_digest(path))

    def header(self, entity: str, window: Window) -> list[str]:
        path = self.path(entity, window)
        with _text(path) as handle:
            return _header(path, entity, next(csv.reader(handle), []))

    def blocks(self, entity: str, window: Window, block_bytes: int = 1 << 20) -> Iterator[pa.Table]:
        """The entity's file as Arrow tables of text, read once: counted and hashed on the way,
        and held to the manifest after the last block (ExtractIncomplete if it disagrees)."""
        path = self.path(entity, window)
        header = self.header(entity, window)
        if len(set(header)) < len(header):  # a record keeps a repeated column's last value
            raise NotColumnar(f"{path.name}: the header names a column twice")
        refused: list[str] = []

        def refuse(row) -> str:
            refused.append(f"row {row.number} has {row.actual_columns} fields")
            return "skip"

        rows = 0
        with path.open("rb") as handle:
            hashing = _Hashing(handle)
            try:
                reader = pa_csv.open_csv(
                    io.BufferedReader(hashing, 1 << 20),
                    read_options=pa_csv.ReadOptions(
                        column_names=header, skip_rows=1, use_threads=False, block_size=block_bytes
                    ),
                    parse_options=pa_csv.ParseOptions(
                        newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=refuse
                    ),
                    convert_options=pa_csv.ConvertOptions(
                        column_types={name: pa.string() for name in header},
                        strings_can_be_null=False,
                        quoted_strings_can_be_null=False,
                    ),
                )
                for batch in reader:
                    block = pa.Table.from_batches([batch])
                    if refused:
                        raise NotColumnar(f"{path.name}: {refused[0]}")
                    if block.num_rows and _has_empty_row(block):
                        raise NotColumnar(f"{path.name}: a blank line")
                    rows += block.num_rows
                    yield block
            except pa.ArrowInvalid as exc:
                raise NotColumnar(f"{path.name}: {exc}") from None
            if refused:
                raise NotColumnar(f"{path.name}: {refused[0]}")
        _agree(path, self.check(window)["files"][path.name], rows, hashing.sha.hexdigest())

    def batches(self, entity: str, window: Window) -> Iterator[list[dict]]:
        path = self.path(entity, window)
        if path is None:
            return
        with _text(path) as handle:
            reader = csv.reader(handle)
            header = _header(path, entity, next(reader, []))
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
