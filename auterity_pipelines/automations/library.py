"""The automation template library: what a template is, and the registry of those that ship.

A template is one module under `templates/` defining a `TEMPLATE`: its parameters (a pydantic
model), what starts it, the tables it reads, its default message and a `find` function that
names the subjects it may act on. Everything else (consent, quiet hours, rate limits, the
once-rule, sending, recording) is the same for every template and lives outside it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STAFF_CHANNELS = ("sms", "email", "chat", "crm")
CUSTOMER_CHANNELS = ("sms", "email")


class Params(BaseModel):
    """Parameters every template takes; each template adds its own."""

    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(None, description="Jinja message template; the template's default if unset")
    email_subject: str | None = Field(None, description="E-mail subject line (Jinja); the default if unset")


class Notify(BaseModel):
    """Whom on the staff to tell, and how; numbers, addresses and webhook URLs are named by variable."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["sms", "email", "chat", "crm"]
    to_env: str | None = Field(None, description="variable holding the phone number (sms) or address (email)")
    url_env: str | None = Field(None, description="variable holding the chat webhook URL (chat)")
    include_contact: bool = Field(False, description="add the customer's phone and e-mail to the message")

    @model_validator(mode="after")
    def _names_its_recipient(self) -> Notify:
        if self.channel in ("sms", "email") and not self.to_env:
            raise ValueError(f"to_env is required for channel {self.channel}")
        if self.channel == "chat" and not self.url_env:
            raise ValueError("url_env is required for channel chat")
        return self


@dataclass(frozen=True)
class Contact:
    """A customer as a message to them needs them: how to reach them and what they agreed to."""

    customer_id: str | None
    email: str | None
    phone: str | None
    email_opt_in: bool | None
    sms_opt_in: bool | None

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone

    def consented(self, channel: str) -> bool | None:
        return self.email_opt_in if channel == "email" else self.sms_opt_in


@dataclass(frozen=True)
class Subject:
    """One thing an automation may act on, once per window."""

    key: str  # lead:L-1, ro_line:R-7/2, deal:D-3, customer:C-9, digest:2026-11-30
    window: str  # "once", a day, a week, the repair order that made the customer due
    variables: dict  # what its message may name: nothing a staff message must not carry
    contact: Contact | None = None  # the customer, for customer messages and include_contact
    not_before: dt.datetime | None = None  # a wait the template asks for (delay, response window)
    cancelled: str | None = None  # why it no longer needs acting on (the lead was answered)


@dataclass(frozen=True)
class Scope:
    """What one run of an automation covers: a rooftop, its local day, and where to read."""

    dealership_id: str
    dealership_name: str
    timezone: str
    day: dt.date
    now: dt.datetime
    engine: object  # sqlalchemy Engine
    partition_key: str
    link_base: str  # the Dagster UI, where a lead alert's link points
    retention_scores: Callable[[list[str]], dict[str, float]] | None = None  # ro_number → score


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    trigger: Literal["event", "daily", "weekly"]
    trigger_text: str  # what starts it, in words
    reads: tuple[tuple[str, ...], ...]  # asset keys of the tables it reads: its place in the graph
    audience: Literal["staff", "customer"]
    params: type[Params]
    message: str
    email_subject: str
    variables: frozenset[str]  # what its message may name
    find: Callable[[Scope, Params], Iterable[Subject]]
    triggered_by: tuple[tuple[str, ...], ...] = ()  # event templates: materializations that start a run
    runs_for: Literal["today", "yesterday"] = "today"  # scheduled templates: the local day a run covers
    contact_variables: frozenset[str] = field(default=frozenset({"customer_email", "customer_phone"}))

    def channel(self, params: Params) -> str:
        return params.notify.channel if self.audience == "staff" else params.channel

    def parameters(self) -> dict[str, dict]:
        """name → type, required, default, description (for `auterity automations templates`)."""
        schema = self.params.model_json_schema()
        required = set(schema.get("required", []))
        out = {}
        for name, prop in schema["properties"].items():
            out[name] = {
                "type": _type_name(prop, schema.get("$defs", {})),
                "required": name in required,
                "default": prop.get("default"),
                "description": prop.get("description", ""),
            }
        return out


def _type_name(prop: dict, defs: dict) -> str:
    if "$ref" in prop:
        return defs[prop["$ref"].rsplit("/", 1)[-1]].get("title", "object").lower()
    if "enum" in prop:
        return " | ".join(map(str, prop["enum"]))
    if "anyOf" in prop:
        return " | ".join(_type_name(p, defs) for p in prop["anyOf"])
    return prop.get("type", "any")


def _discover() -> dict[str, Template]:
    from auterity_pipelines.automations import templates

    found = {}
    for info in pkgutil.iter_modules(templates.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{templates.__name__}.{info.name}")
        template = module.TEMPLATE
        found[template.name] = template
    return dict(sorted(found.items()))


TEMPLATES: dict[str, Template] = _discover()
