"""The fleet file: which rooftops exist, their time zones, and how to reach their DMS."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from auterity_pipelines.settings import auterity_home

DMS_KINDS = ("extract", "fortellis", "tekion")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# What each DMS kind needs besides `kind`; secrets are named by environment variable.
_REQUIRED = {
    "extract": ("path",),
    "fortellis": ("base_url", "client_id_env", "client_secret_env", "subscription_id"),
    "tekion": ("base_url", "app_id_env", "secret_key_env", "dealer_id"),
}


class FleetError(ValueError):
    """The fleet file cannot be used; the message names the rooftop and the field."""


@dataclass(frozen=True)
class DmsConfig:
    kind: str
    path: str | None = None
    base_url: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    subscription_id: str | None = None
    app_id_env: str | None = None
    secret_key_env: str | None = None
    dealer_id: str | None = None

    @property
    def endpoint(self) -> str:
        """What one DMS connection is, for concurrency limits: the API base URL, or the extract's folder."""
        return f"{self.kind}:{self.base_url or self.path}"


@dataclass(frozen=True)
class Dealership:
    id: str
    name: str
    timezone: str
    dms: DmsConfig
    webhook_secret_env: str | None = None  # signs the events this rooftop posts to us
    crm_webhook_url: str | None = None  # where scored leads are posted, signed with the same secret
    # Accept the older `sha256=` signature (no rooftop in the signed string) from existing senders.
    webhook_legacy_signature: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def last_full_day(self, now: dt.datetime) -> dt.date:
        """The local day that ended most recently at `now`: what a nightly sync loads."""
        return now.astimezone(self.tz).date() - dt.timedelta(days=1)


@dataclass(frozen=True)
class Fleet:
    dealerships: tuple[Dealership, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.dealerships]

    def get(self, dealership_id: str) -> Dealership:
        for dealership in self.dealerships:
            if dealership.id == dealership_id:
                return dealership
        raise FleetError(f"unknown dealership {dealership_id!r}; the fleet has {', '.join(self.ids)}")


def parse_fleet(data: object, base_dir: Path | None = None) -> Fleet:
    """Validate a parsed fleet document; relative extract paths are taken from `base_dir`."""
    if not isinstance(data, dict) or not isinstance(data.get("dealerships"), list):
        raise FleetError("the fleet file must be a mapping with a list under 'dealerships'")
    seen: set[str] = set()
    dealerships = []
    for n, item in enumerate(data["dealerships"], start=1):
        where = f"dealership #{n}"
        if not isinstance(item, dict):
            raise FleetError(f"{where}: expected a mapping")
        dealership_id = str(item.get("id", ""))
        if not _ID.match(dealership_id):
            raise FleetError(f"{where}: id {dealership_id!r} must be lower-case letters, digits and dashes")
        where = f"dealership {dealership_id!r}"
        if dealership_id in seen:
            raise FleetError(f"{where}: listed twice")
        seen.add(dealership_id)
        timezone = str(item.get("timezone", ""))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise FleetError(f"{where}: unknown time zone {timezone!r}") from None
        dms = item.get("dms")
        if not isinstance(dms, dict) or dms.get("kind") not in DMS_KINDS:
            raise FleetError(f"{where}: dms.kind must be one of {', '.join(DMS_KINDS)}")
        unknown = set(dms) - {"kind", *DmsConfig.__dataclass_fields__}
        if unknown:
            raise FleetError(f"{where}: unknown dms field(s) {', '.join(sorted(unknown))}")
        missing = [key for key in _REQUIRED[dms["kind"]] if not dms.get(key)]
        if missing:
            raise FleetError(f"{where}: a {dms['kind']} DMS needs {', '.join(missing)}")
        if any(key.endswith("secret") or key == "password" for key in dms):
            raise FleetError(
                f"{where}: write secrets as *_env names of environment variables, never as values"
            )
        unknown = set(item) - {
            "id", "name", "timezone", "dms", "webhook_secret_env", "crm_webhook_url", "webhook_legacy_signature",
        }  # fmt: skip
        legacy = item.get("webhook_legacy_signature", False)
        if not isinstance(legacy, bool):
            raise FleetError(f"{where}: webhook_legacy_signature must be true or false")
        if unknown:
            raise FleetError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        values = {key: str(value) for key, value in dms.items()}
        if values.get("path"):
            values["path"] = _resolve_path(values["path"], base_dir)
        dealerships.append(
            Dealership(
                id=dealership_id,
                name=str(item.get("name") or dealership_id),
                timezone=timezone,
                dms=DmsConfig(**values),
                webhook_secret_env=_optional(item.get("webhook_secret_env")),
                crm_webhook_url=_optional(item.get("crm_webhook_url")),
                webhook_legacy_signature=legacy,
            )
        )
    return Fleet(tuple(dealerships))


def _optional(value: object) -> str | None:
    return str(value) if value else None


def _resolve_path(raw: str, base_dir: Path | None) -> str:
    # `{auterity_home}` lets the demo fleet keep its extracts with the other embedded stores.
    path = Path(raw.replace("{auterity_home}", str(auterity_home())))
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return str(path.resolve())


def load_fleet(path: Path) -> Fleet:
    """Read and validate the fleet file at `path`."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FleetError(f"fleet file {path} does not exist (set AUTERITY_FLEET)") from None
    except yaml.YAMLError as exc:
        raise FleetError(f"fleet file {path} is not valid YAML: {exc}") from None
    try:
        return parse_fleet(data, base_dir=path.parent)
    except FleetError as exc:
        raise FleetError(f"{path}: {exc}") from None


class LiveFleet:
    """The fleet file as long-running services see it: read again whenever the file changes.

    A rooftop added to the file is served at its next request, with no restart. A file that
    stops being valid leaves the last good fleet in force, and the log says why.
    """

    def __init__(self, path: Path | None, fleet: Fleet | None = None):
        self.path = path
        self._stamp = self._stat()  # before reading: an edit in between is read again next time
        self._fleet = fleet if fleet is not None else load_fleet(path)

    @classmethod
    def fixed(cls, fleet: Fleet) -> LiveFleet:
        return cls(None, fleet)

    def _stat(self) -> tuple | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()  # follows a ConfigMap's swapped symlink to the new file
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> Fleet:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._fleet = load_fleet(self.path)
            except FleetError as exc:
                logging.getLogger(__name__).warning(
                    "fleet file not reloaded, the last good one stays: %s", exc
                )
        return self._fleet
