"""The automations file: read, checked whole (every problem reported at once), and what is valid kept."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from auterity_pipelines.automations.library import TEMPLATES, Params, Template
from auterity_pipelines.automations.render import RenderError, variables_of
from auterity_pipelines.automations.rules import QuietHours
from auterity_pipelines.settings import PACKAGE_DIR

DEMO_AUTOMATIONS = PACKAGE_DIR / "demo_automations.yaml"
ENV = "AUTERITY_AUTOMATIONS"
CHANNELS = ("sms", "email", "chat", "crm")
# Messages per minute per rooftop and channel unless the file says otherwise: well inside
# what an SMS provider's long code or a small SMTP relay accepts.
DEFAULT_RATE_LIMITS = {"sms": 30, "email": 120, "chat": 30, "crm": 120}
AUTOMATION_KEYS = {"name", "template", "dealerships", "params", "quiet_hours", "enabled"}


def automations_path() -> Path:
    """`AUTERITY_AUTOMATIONS`, default the bundled demo automations."""
    return Path(os.environ.get(ENV) or DEMO_AUTOMATIONS).resolve()


@dataclass(frozen=True)
class Problem:
    automation: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.automation}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class Automation:
    name: str
    template: Template
    dealerships: tuple[str, ...]  # ("*",) for every rooftop
    params: Params
    quiet_hours: QuietHours | None
    enabled: bool = True

    def covers(self, dealership_id: str) -> bool:
        return self.enabled and ("*" in self.dealerships or dealership_id in self.dealerships)

    @property
    def channel(self) -> str:
        return self.template.channel(self.params)


@dataclass
class AutomationsFile:
    path: Path
    digest: str
    automations: list[Automation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))

    def get(self, name: str) -> Automation:
        return next(a for a in self.automations if a.name == name)


def load_automations(path: Path | None = None, fleet=None, check_env: bool = True) -> AutomationsFile:
    """The file's valid automations and every problem found; never raises for what the file says."""
    path = Path(path) if path else automations_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return AutomationsFile(
            path, "", problems=[Problem("(file)", str(path), f"cannot be read: {exc.strerror}")]
        )
    result = AutomationsFile(path, hashlib.sha256(text.encode()).hexdigest()[:16])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        result.problems.append(Problem("(file)", str(path), f"not YAML: {str(exc).splitlines()[0]}"))
        return result
    if document is None:
        document = {"automations": []}
    if not isinstance(document, dict) or not isinstance(document.get("automations", []), list):
        result.problems.append(
            Problem("(file)", "automations", "must be a mapping with a list `automations`")
        )
        return result
    for key in set(document) - {"automations", "rate_limits"}:
        result.problems.append(Problem("(file)", key, "unknown top-level key"))
    result.rate_limits.update(_rate_limits(document.get("rate_limits") or {}, result.problems))
    fleet_ids = set(fleet.ids) if fleet is not None else None
    names: dict[str, int] = {}
    for position, entry in enumerate(document.get("automations") or [], start=1):
        found, automation = _check(entry, position, fleet, fleet_ids, check_env)
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in names:
            found.append(Problem(name, "name", f"duplicate name (also automation {names[name]})"))
        elif isinstance(name, str):
            names[name] = position
        result.problems.extend(found)
        if automation is not None and not found:
            result.automations.append(automation)
    return result


def _rate_limits(value, problems: list[Problem]) -> dict[str, int]:
    if not isinstance(value, dict):
        problems.append(Problem("(file)", "rate_limits", "must map a channel to messages per minute"))
        return {}
    limits = {}
    for channel, limit in value.items():
        if channel not in CHANNELS:
            problems.append(
                Problem("(file)", f"rate_limits.{channel}", f"unknown channel (one of {', '.join(CHANNELS)})")
            )
        elif not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            problems.append(
                Problem("(file)", f"rate_limits.{channel}", f"{limit!r} is not a whole number ≥ 1")
            )
        else:
            limits[channel] = limit
    return limits


def _check(
    entry, position: int, fleet, fleet_ids, check_env: bool
) -> tuple[list[Problem], Automation | None]:
    if not isinstance(entry, dict):
        return [Problem(f"automation {position}", "(entry)", "must be a mapping")], None
    name = entry.get("name")
    label = name if isinstance(name, str) and name else f"automation {position}"
    problems = [Problem(label, key, "unknown field") for key in sorted(set(entry) - AUTOMATION_KEYS, key=str)]
    if name is None or name == "":
        problems.append(Problem(label, "name", "is required"))
    elif not isinstance(name, str) or not name.strip():
        problems.append(Problem(label, "name", f"{name!r} is not a name"))
    template = TEMPLATES.get(entry.get("template"))
    if template is None:
        problems.append(
            Problem(
                label,
                "template",
                f"unknown template {entry.get('template')!r} (one of {', '.join(TEMPLATES)})",
            )
        )
    dealerships = entry.get("dealerships")
    if (
        not isinstance(dealerships, list)
        or not dealerships
        or not all(isinstance(d, str) for d in dealerships)
    ):
        problems.append(Problem(label, "dealerships", 'must be a list of dealership ids, or ["*"]'))
        dealerships = []
    elif fleet_ids is not None:
        problems += [
            Problem(label, "dealerships", f"unknown dealership {d!r}")
            for d in dealerships
            if d != "*" and d not in fleet_ids
        ]
    quiet = None
    if entry.get("quiet_hours") is not None:
        try:
            quiet = QuietHours.parse(entry["quiet_hours"])
        except ValueError as exc:
            problems.append(Problem(label, "quiet_hours", str(exc)))
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(Problem(label, "enabled", f"{enabled!r} is not true or false"))
    params = None
    if template is not None:
        raw = entry.get("params") or {}
        if not isinstance(raw, dict):
            problems.append(Problem(label, "params", "must be a mapping"))
        else:
            try:
                params = template.params.model_validate(raw)
            except ValidationError as exc:
                problems += [_param_problem(label, e) for e in exc.errors()]
    if params is not None:
        problems += _check_messages(label, template, params)
        problems += _check_recipients(label, template, params, dealerships, fleet, check_env)
    if problems or template is None or params is None:
        return problems, None
    return [], Automation(name, template, tuple(dealerships), params, quiet, enabled)


def _param_problem(label: str, error: dict) -> Problem:
    where = "params." + ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-after"))
    kind = error["type"]
    reason = {
        "extra_forbidden": "unknown parameter",
        "missing": "missing required parameter",
    }.get(kind, f"wrong type or value: {error['msg']}")
    return Problem(label, where.rstrip("."), reason)


def _check_messages(label: str, template: Template, params: Params) -> list[Problem]:
    allowed = set(template.variables)
    notify = getattr(params, "notify", None)
    if notify is not None and notify.include_contact:
        allowed |= template.contact_variables
    problems = []
    for name in ("message", "email_subject"):
        source = getattr(params, name) or getattr(template, name)
        try:
            unknown = variables_of(source) - allowed
        except RenderError as exc:
            problems.append(Problem(label, f"params.{name}", f"template error: {exc}"))
            continue
        if unknown:
            problems.append(
                Problem(
                    label,
                    f"params.{name}",
                    f"unknown variable {', '.join(sorted(unknown))} (this template offers {', '.join(sorted(allowed))})",
                )
            )
    return problems


def _check_recipients(label, template, params, dealerships, fleet, check_env) -> list[Problem]:
    from auterity_pipelines.settings import named_secret

    problems = []
    notify = getattr(params, "notify", None)
    if notify is not None and check_env:
        for key in ("to_env", "url_env"):
            name = getattr(notify, key)
            if name and not named_secret(name):
                problems.append(Problem(label, f"params.notify.{key}", f"{name} is not set"))
    if notify is not None and notify.channel == "crm" and fleet is not None:
        for dealership in fleet.dealerships:
            if ("*" in dealerships or dealership.id in dealerships) and not dealership.crm_webhook_url:
                problems.append(
                    Problem(
                        label,
                        "params.notify.channel",
                        f"crm: {dealership.id} has no crm_webhook_url in the fleet",
                    )
                )
    return problems


def json_schema() -> dict:
    """The JSON Schema of the automations file, from the templates' parameter models."""
    variants = []
    defs: dict = {}
    for template in TEMPLATES.values():
        schema = template.params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[template.params.__name__] = schema
        variants.append(
            {
                "if": {"properties": {"template": {"const": template.name}}, "required": ["template"]},
                "then": {"properties": {"params": {"$ref": f"#/$defs/{template.params.__name__}"}}},
            }
        )
    clock = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://auterity.example/schemas/automations.schema.json",
        "title": "Auterity automations",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "rate_limits": {
                "description": "messages per minute per rooftop and channel",
                "type": "object",
                "additionalProperties": False,
                "properties": {c: {"type": "integer", "minimum": 1} for c in CHANNELS},
            },
            "automations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "template", "dealerships"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "description": "unique in the file"},
                        "template": {"enum": list(TEMPLATES), "description": "the library template"},
                        "dealerships": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "params": {"type": "object"},
                        "quiet_hours": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["start", "end"],
                            "properties": {"start": clock, "end": clock},
                            "description": "rooftop-local; customer messages are deferred, not dropped",
                        },
                        "enabled": {"type": "boolean", "default": True},
                    },
                    "allOf": variants,
                },
            },
        },
        "$defs": defs,
    }
