"""The channels automations send through: SMS, e-mail, chat webhooks and the rooftop's CRM.

Configuration names secrets by variable (read when a message is sent, never kept in run
config or metadata). The defaults point at the loopback servers `auterity dms-simulator`
ships, so the demo sends offline.
"""

from __future__ import annotations

import os

import dagster as dg

from auterity_pipelines.settings import named_secret
from resources.channels.email import EmailChannel
from resources.channels.retry import SendFailed, Sent
from resources.channels.sms import SmsChannel
from resources.channels.webhooks import post_chat, post_crm

__all__ = [
    "Channels",
    "EmailChannel",
    "SendFailed",
    "Sent",
    "SmsChannel",
    "channels_resource",
    "post_chat",
    "post_crm",
]


class ChannelConfigError(RuntimeError):
    """A channel cannot be used as configured (an unset secret): no retry fixes it."""


class Channels(dg.ConfigurableResource):
    """Where SMS, e-mail, chat and CRM messages go."""

    sms_url: str = "http://127.0.0.1:8765/twilio"
    sms_account_sid_env: str = "AUTERITY_SMS_ACCOUNT_SID"
    sms_auth_token_env: str = "AUTERITY_SMS_AUTH_TOKEN"
    sms_from: str = "+15005550006"
    # Where the provider posts delivery status; {dealership} is filled in per message.
    sms_status_callback: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "automations@auterity.example"
    smtp_username_env: str | None = None
    smtp_password_env: str | None = None
    smtp_starttls: bool = False
    timeout_seconds: float = 10.0
    attempts: int = 4

    def sms(self, dealership_id: str) -> SmsChannel:
        sid, token = _secret(self.sms_account_sid_env), _secret(self.sms_auth_token_env)
        callback = (
            self.sms_status_callback.format(dealership=dealership_id) if self.sms_status_callback else None
        )
        return SmsChannel(
            self.sms_url, sid, token, self.sms_from, callback, self.timeout_seconds, self.attempts
        )

    def email(self) -> EmailChannel:
        return EmailChannel(
            self.smtp_host,
            self.smtp_port,
            self.smtp_from,
            _secret(self.smtp_username_env) if self.smtp_username_env else None,
            _secret(self.smtp_password_env) if self.smtp_password_env else None,
            self.smtp_starttls,
            self.timeout_seconds,
            self.attempts,
        )


def _secret(name: str) -> str:
    value = named_secret(name)
    if not value:
        raise ChannelConfigError(f"{name} is not set")
    return value


def channels_resource() -> Channels:
    """The channels, from AUTERITY_SMS_* and AUTERITY_SMTP_* variables; the demo loopback servers by default
    (the SMS provider of `auterity dms-simulator` on 8765, its mailbox on SMTP port 8025)."""
    env = os.environ
    values = {
        "sms_url": env.get("AUTERITY_SMS_URL"),
        "sms_from": env.get("AUTERITY_SMS_FROM"),
        "sms_status_callback": env.get("AUTERITY_SMS_STATUS_CALLBACK"),
        "smtp_host": env.get("AUTERITY_SMTP_HOST"),
        "smtp_port": int(env["AUTERITY_SMTP_PORT"]) if env.get("AUTERITY_SMTP_PORT") else None,
        "smtp_from": env.get("AUTERITY_SMTP_FROM"),
        # The same variables as failure alerts (resources/alerts.py): STARTTLS when a user is set.
        "smtp_username_env": "AUTERITY_SMTP_USER" if env.get("AUTERITY_SMTP_USER") else None,
        "smtp_password_env": "AUTERITY_SMTP_PASSWORD" if env.get("AUTERITY_SMTP_USER") else None,
        "smtp_starttls": bool(env.get("AUTERITY_SMTP_USER")),
    }
    return Channels(**{k: v for k, v in values.items() if v is not None})
