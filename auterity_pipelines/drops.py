"""File drops: `<drop root>/<dealership>/leads/*.xml`, each taken once and moved aside with its outcome."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from auterity_pipelines.settings import auterity_home

LEADS = "leads"
PROCESSED, FAILED = "processed", "failed"


def drop_root() -> Path:
    """`AUTERITY_DROP_DIR`, else `inbox/` under AUTERITY_HOME."""
    return Path(os.environ.get("AUTERITY_DROP_DIR") or auterity_home() / "inbox").resolve()


@dataclass(frozen=True)
class DroppedFile:
    dealership_id: str
    path: Path
    sha256: str

    @property
    def run_key(self) -> str:
        # Path and content: the same file dropped again after an edit is a new file.
        return f"drop:{self.path}:{self.sha256[:16]}"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_lead_files(root: Path, dealership_ids: list[str]) -> list[DroppedFile]:
    """The lead documents waiting in each rooftop's folder, oldest first; half-written `.tmp` files wait."""
    found = []
    for dealership_id in dealership_ids:
        folder = root / dealership_id / LEADS
        if folder.is_dir():
            for path in folder.glob("*.xml"):
                if path.is_file():
                    found.append((path.stat().st_mtime, DroppedFile(dealership_id, path, sha256_of(path))))
    return [f for _, f in sorted(found, key=lambda pair: (pair[0], str(pair[1].path)))]


def set_aside(path: Path, outcome: str, reason: str | None = None) -> Path:
    """Move a taken file under `processed/` or `failed/` beside it; a failure gets `<name>.reason.txt`."""
    target_dir = path.parent / outcome
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():  # a file of the same name taken before: keep both
        target = target_dir / f"{path.stem}.{sha256_of(path)[:8]}{path.suffix}"
    path.replace(target)
    if reason:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
    return target


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def extract_days(root: Path) -> dict[str, str]:
    """Each day folder of an extract rooftop that has its manifest: {day: SHA-256 of the manifest}."""
    if not root.is_dir():
        return {}
    return {
        folder.name: sha256_of(folder / "manifest.json")
        for folder in sorted(root.iterdir())
        if _DAY.match(folder.name) and (folder / "manifest.json").is_file()
    }
