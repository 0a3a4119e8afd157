"""File drops: `<drop root>/<dealership>/leads/*.xml`, each taken once and moved aside with its outcome."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from auterity_pipelines.adf import MAX_BYTES  # a larger file is refused before it is read
from auterity_pipelines.settings import auterity_home

LEADS = "leads"
PROCESSED, FAILED = "processed", "failed"


def drop_root() -> Path:
    """`AUTERITY_DROP_DIR`, else `inbox/` under AUTERITY_HOME."""
    return Path(os.environ.get("AUTERITY_DROP_DIR") or auterity_home() / "inbox").resolve()


SETTLE_SECONDS = 2.0  # a file changed more recently than this may still be being written


@dataclass(frozen=True)
class DroppedFile:
    dealership_id: str
    path: Path
    stamp: str  # inode, size and modification time: what the file is, without reading it
    refusal: str | None = None  # why it will not be read (a link, too large, not a regular file)

    @property
    def run_key(self) -> str:
        # The same file dropped again after an edit has a new stamp, so it is a new file.
        return f"drop:{self.path}:{self.stamp}"


def stamp_of(info: os.stat_result) -> str:
    return f"{info.st_ino}-{info.st_size}-{info.st_mtime_ns}"


def refusal_of(info: os.stat_result) -> str | None:
    """Why a dropped entry is not read, from its lstat alone; None when it may be."""
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link; drops are read only as regular files inside the drop folder"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink > 1:
        return "a hard link to a file elsewhere; drops are read only as files of their own"
    if info.st_size > MAX_BYTES:
        return f"{info.st_size:,} bytes; the limit is {MAX_BYTES:,}"
    return None


def new_lead_files(root: Path, dealership_ids: list[str], now: float | None = None) -> list[DroppedFile]:
    """The lead documents waiting in each rooftop's folder, oldest first.

    Nothing is read here: an entry is judged by its lstat. Half-written `.tmp` files, and files
    changed in the last SETTLE_SECONDS, wait. A link, or a folder that leads outside the drop
    root, is never followed.
    """
    now = time.time() if now is None else now
    found = []
    for dealership_id in dealership_ids:
        folder = root / dealership_id / LEADS
        if not folder.is_dir() or folder.resolve() != root.resolve() / dealership_id / LEADS:
            continue  # missing, or a link to somewhere else
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.lower().endswith(".xml"):
                    continue
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode) or now - info.st_mtime < SETTLE_SECONDS:
                    continue
                path = folder / entry.name
                found.append(
                    (info.st_mtime, DroppedFile(dealership_id, path, stamp_of(info), refusal_of(info)))
                )
    return [f for _, f in sorted(found, key=lambda pair: (pair[0], str(pair[1].path)))]


def read_drop(path: Path, stamp: str) -> bytes:
    """The file's bytes, read once without following a link; DropChanged when it is not the file that was
    seen (still being written), DropRefused when it may not be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DropRefused(refusal_of(os.lstat(path)) or "a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(handle.fileno())
        reason = refusal_of(before)
        if reason:
            raise DropRefused(reason)
        body = handle.read(MAX_BYTES + 1)
        after = os.fstat(handle.fileno())
    if stamp_of(before) != stamp or stamp_of(after) != stamp or len(body) != after.st_size:
        raise DropChanged(f"{path.name} changed since it was seen; taken again once it stops changing")
    return body


class DropRefused(ValueError):
    """A dropped entry that is never read: the reason is kept, the entry set aside."""


class DropChanged(RuntimeError):
    """A dropped file still being written: left in place for the next look."""


def set_aside(path: Path, outcome: str, reason: str | None = None) -> Path:
    """Move a taken entry under `processed/` or `failed/` beside it; a failure gets `<name>.reason.txt`.

    A link is moved as a link: nothing it points at is opened.
    """
    target_dir = path.parent / outcome
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if os.path.lexists(target):  # a file of the same name taken before: keep both
        target = target_dir / f"{path.stem}.{stamp_of(os.lstat(path))}{path.suffix}"
    path.replace(target)
    if reason:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
    return target


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
