"""One door out for every automation message: picks the channel, fills in the rooftop's CRM, sends."""

from __future__ import annotations

import datetime as dt

from opentelemetry.trace import SpanKind

from auterity_pipelines import tracing
from auterity_pipelines.fleet import Fleet
from auterity_pipelines.settings import named_secret
from resources.channels import ChannelConfigError, Channels
from resources.channels.retry import Sent
from resources.channels.webhooks import post_chat, post_crm


class Outbox:
    def __init__(self, channels: Channels, fleet: Fleet):
        self.channels = channels
        self.fleet = fleet

    def send(
        self,
        dealership_id: str,
        channel: str,
        address: str,
        subject_line: str,
        body: str,
        key: str,
        extra: dict,
    ) -> Sent:
        # The span names the channel and rooftop, never the address or the text.
        with tracing.span(
            f"deliver {channel}",
            kind=SpanKind.CLIENT,
            auterity__dealership=dealership_id,
            auterity__channel=channel,
        ) as span:
            sent = self._send(dealership_id, channel, address, subject_line, body, key, extra)
            span.set_attribute("auterity.attempts", sent.attempts)
            return sent

    def _send(self, dealership_id, channel, address, subject_line, body, key, extra) -> Sent:
        c = self.channels
        if channel == "sms":
            return c.sms(dealership_id).send(address, body)
        if channel == "email":
            return c.email().send(address, subject_line, body, key)
        if channel == "chat":
            return post_chat(address, body, c.timeout_seconds, c.attempts)
        if channel == "crm":
            dealership = self.fleet.get(dealership_id)
            secret = named_secret(dealership.webhook_secret_env or "")
            if not secret:
                raise ChannelConfigError(
                    f"{dealership_id}: the CRM webhook has no signing secret (webhook_secret_env)"
                )
            message = {"kind": "automation", "dealership_id": dealership_id, "text": body, **extra}
            return post_crm(address, secret, dealership_id, message, key, c.timeout_seconds, c.attempts)
        raise ChannelConfigError(f"unknown channel {channel!r}")

    def find_sms(self, dealership_id: str, to: str, body: str, since: dt.datetime) -> str | None:
        return self.channels.sms(dealership_id).find(to, body, since)

    def crm_url(self, dealership_id: str) -> str | None:
        return self.fleet.get(dealership_id).crm_webhook_url
