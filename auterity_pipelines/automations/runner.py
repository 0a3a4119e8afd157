"""One run of one automation for one rooftop-day: find, decide, claim, send, record.

The same path previews (`preview=True`: nothing claimed, sent or written). Exactly-once is a
claim before each send (resources/channels/ledger.py). A claim whose run died is reconciled
here: an SMS is looked up at the provider (its list of sent messages), and counted sent if
it is there or sent now if not; a message on a channel that cannot be asked (e-mail, chat) is
recorded as failed with its outcome unknown rather than risk a second copy.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from auterity_pipelines.automations.config import Automation
from auterity_pipelines.automations.decide import (
    DEFERRED,
    FAILED,
    MAX_ATTEMPTS,
    SEND,
    SENDING,
    SENT,
    SUPPRESSED,
    Decision,
    RateLimit,
    decide,
)
from auterity_pipelines.automations.library import Scope, Subject
from auterity_pipelines.automations.render import RenderError, render
from auterity_pipelines.automations.rules import delivery_key, e164, mask, normalise_address
from auterity_pipelines.records import as_utc
from auterity_pipelines.settings import named_secret

STALE_CLAIM = dt.timedelta(minutes=15)  # a claim this old lost its run, whatever the instance says
KEPT_EXAMPLES = 20


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)  # preview only

    def metadata(self) -> dict:
        out = {k: self.counts.get(k, 0) for k in ("candidates", SENT, DEFERRED, SUPPRESSED, FAILED)}
        out["already_decided"] = self.counts.get("already", 0)
        out["in_flight_elsewhere"] = self.counts.get("in_flight", 0)
        if self.failures:
            out["failures"] = "\n".join(self.failures[:KEPT_EXAMPLES])
        return out


@dataclass(frozen=True)
class Context:
    automation: Automation
    scope: Scope
    engine: object
    outbox: object  # resources.channels.outbox.Outbox
    rate_limit: int
    run_id: str
    run_alive: Callable[[str], bool] = lambda run_id: False
    log: Callable[[str], None] = lambda message: None


def staff_address(automation: Automation, outbox, dealership_id: str) -> str | None:
    notify = automation.params.notify
    if notify.channel == "crm":
        return outbox.crm_url(dealership_id)
    name = notify.to_env or notify.url_env
    return named_secret(name) if name else None


def run_automation(ctx: Context, preview: bool = False) -> Report:
    from resources.channels import ledger

    a, scope, report = ctx.automation, ctx.scope, Report()
    template, channel = a.template, a.channel
    subjects = list(template.find(scope, a.params))
    report.counts["candidates"] = len(subjects)
    staff = staff_address(a, ctx.outbox, scope.dealership_id) if template.audience == "staff" else None
    addresses = [staff if template.audience == "staff" else _customer_address(s, channel) for s in subjects]
    keys = [delivery_key(a.name, scope.dealership_id, s.key, channel, s.window) for s in subjects]
    seen = ledger.existing(ctx.engine, keys)
    stopped = (
        ledger.opted_out(ctx.engine, scope.dealership_id, channel, addresses)
        if template.audience == "customer"
        else set()
    )
    used = ledger.sends_since(ctx.engine, scope.dealership_id, channel, scope.now - dt.timedelta(minutes=1))
    rate = RateLimit(ctx.rate_limit, used, scope.now)
    pending: list[dict] = []
    for subject, address, key in zip(subjects, addresses, keys):
        previous = seen.get(key)
        if previous is not None and not _open(previous):
            if previous["decision"] == SENDING:
                previous = _reconcile(ctx, subject, address, previous, report, preview)
                if previous is None:
                    continue
            else:
                report.counts["already"] += 1
                _preview(report, preview, a, subject, channel, address, f"already {previous['decision']}")
                continue
        decision = decide(
            subject,
            template.audience,
            channel,
            address,
            address in stopped,
            a.quiet_hours,
            scope.timezone,
            scope.now,
        )
        if decision.decision == SEND:
            slot = rate.slot()
            if slot is not None:
                decision = Decision(DEFERRED, f"rate limit: {ctx.rate_limit} {channel} per minute", slot)
        if preview:
            _preview(report, True, a, subject, channel, address, decision.reason or SEND, decision.send_after)
            report.counts[SENT if decision.decision == SEND else decision.decision] += 1
            continue
        row = _row(ctx, subject, channel, address, key, decision)
        if decision.decision != SEND:
            pending.append(row)
            report.counts[decision.decision] += 1
            continue
        _send(ctx, subject, channel, address, key, row, previous, report)
    if not preview:
        ledger.record(ctx.engine, pending)
        report.counts[SUPPRESSED] += ledger.close_vanished(ctx.engine, a.name, scope.partition_key, set(keys))
    return report


def _open(previous: dict) -> bool:
    """A decision a run may take again: a wait, or a failure that reached nobody (a few times)."""
    return previous["decision"] == DEFERRED or (
        previous["decision"] == FAILED and previous["retryable"] and previous["attempts"] < MAX_ATTEMPTS
    )


def _customer_address(subject: Subject, channel: str) -> str | None:
    if subject.contact is None:
        return None
    raw = subject.contact.address(channel)
    return e164(raw) if channel == "sms" else normalise_address(channel, raw)


def _row(
    ctx: Context, subject: Subject, channel: str, address: str | None, key: str, decision: Decision
) -> dict:
    from resources.channels.ledger import new_row

    return new_row(
        key,
        ctx.automation.name,
        ctx.scope.dealership_id,
        subject.key,
        channel,
        subject.window,
        mask(channel, address),
        SENDING if decision.decision == SEND else decision.decision,
        decision.reason,
        ctx.scope.partition_key,
        ctx.run_id,
        decision.send_after,
    )


def message(ctx: Context, subject: Subject, channel: str) -> tuple[str, str]:
    """(e-mail subject line, body), rendered in the sandbox; RenderError names the field."""
    a = ctx.automation
    variables = dict(subject.variables)
    notify = getattr(a.params, "notify", None)
    if notify is not None and notify.include_contact and subject.contact is not None:
        variables |= {
            "customer_email": subject.contact.email or "",
            "customer_phone": subject.contact.phone or "",
        }
    out = []
    for name in ("email_subject", "message"):
        source = getattr(a.params, name) or getattr(a.template, name)
        if name == "email_subject" and channel != "email":
            out.append("")
            continue
        try:
            out.append(render(source, variables))
        except RenderError as exc:
            raise RenderError(f"{a.name}: params.{name}: {exc}") from None
    return out[0], out[1]


def _send(ctx, subject, channel, address, key, row, previous, report) -> None:
    from resources.channels import ChannelConfigError, ledger
    from resources.channels.retry import SendFailed

    try:
        subject_line, body = message(ctx, subject, channel)
    except RenderError as exc:
        ledger.record(ctx.engine, [row | {"decision": FAILED, "reason": str(exc)}])
        _failed(report, subject, str(exc))
        return
    if not ledger.claim(ctx.engine, row, previous):
        report.counts["in_flight"] += 1
        return
    extra = {
        "automation": ctx.automation.name,
        "template": ctx.automation.template.name,
        "subject": subject.key,
    }
    try:
        sent = ctx.outbox.send(ctx.scope.dealership_id, channel, address, subject_line, body, key, extra)
    except SendFailed as exc:
        ledger.finish(ctx.engine, key, FAILED, exc.reason, exc.retryable, None, exc.attempts)
        _failed(report, subject, exc.reason)
        report.counts["retryable"] += exc.retryable
        return
    except ChannelConfigError as exc:
        ledger.finish(ctx.engine, key, FAILED, str(exc), True, None, 0)
        _failed(report, subject, str(exc))
        return
    ledger.finish(ctx.engine, key, SENT, None, False, sent.message_id, sent.attempts)
    report.counts[SENT] += 1


def _reconcile(ctx: Context, subject, address, previous: dict, report: Report, preview: bool) -> dict | None:
    """A `sending` row: left alone while its run lives; else settled. Returns the row to send again, or None."""
    from resources.channels import ledger

    if not ledger.orphaned(previous, ctx.run_id, ctx.run_alive, STALE_CLAIM, dt.datetime.now(dt.UTC)):
        report.counts["in_flight"] += 1
        return None
    if preview:
        _preview(
            report, True, ctx.automation, subject, previous["channel"], address, "claimed by a run that died"
        )
        return None
    key = previous["delivery_key"]
    if previous["channel"] != "sms":
        reason = "outcome unknown: the run sending it died before recording the answer; not sent again"
        ledger.finish(ctx.engine, key, FAILED, reason, False, None, 0)
        _failed(report, subject, reason)
        return None
    try:
        _, body = message(ctx, subject, "sms")
    except RenderError as exc:
        ledger.finish(ctx.engine, key, FAILED, f"outcome unknown, and {exc}", False, None, 0)
        _failed(report, subject, str(exc))
        return None
    claimed = as_utc(previous["updated_at"])
    found = ctx.outbox.find_sms(ctx.scope.dealership_id, address, body, claimed - dt.timedelta(minutes=1))
    if found:
        ledger.finish(ctx.engine, key, SENT, "reconciled: the provider had it", False, found, 0)
        report.counts[SENT] += 1
        ctx.log(f"{subject.key}: reconciled with the provider ({found}); not sent again")
        return None
    ctx.log(f"{subject.key}: its run died before the provider had it; sending")
    return previous


def _failed(report: Report, subject: Subject, reason: str) -> None:
    report.counts[FAILED] += 1
    report.failures.append(f"{subject.key}: {reason}")


def _preview(report, preview, automation, subject, channel, address, decision, send_after=None) -> None:
    if preview:
        report.actions.append(
            {
                "automation": automation.name,
                "subject": subject.key,
                "channel": channel,
                "to": mask(channel, address),
                "decision": decision,
                **({"send_after": send_after.isoformat()} if send_after else {}),
            }
        )
