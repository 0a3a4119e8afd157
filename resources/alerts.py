"""Failure alerts: a Slack-compatible webhook and/or email over SMTP, configured only by environment.

AUTERITY_ALERT_WEBHOOK_URL (a Slack incoming-webhook URL is a secret), AUTERITY_ALERT_EMAIL_TO
with AUTERITY_SMTP_HOST, AUTERITY_SMTP_PORT (25), AUTERITY_SMTP_FROM, AUTERITY_SMTP_USER and
AUTERITY_SMTP_PASSWORD (STARTTLS when a user is set); AUTERITY_UI_URL for the run links.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import httpx


@dataclass(frozen=True)
class Alert:
    title: str
    run_url: str
    error: str

    def slack(self) -> dict:
        return {
            "text": f"{self.title}\n<{self.run_url}|Open the run>\n```{self.error[:2500]}```",
        }

    def email(self, sender: str, to: list[str]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.title
        message["From"], message["To"] = sender, ", ".join(to)
        message.set_content(f"{self.title}\n\nRun: {self.run_url}\n\n{self.error}\n")
        return message


def run_alert(job: str, run_id: str, partition: str | None, error: str, ui_url: str | None = None) -> Alert:
    base = (ui_url or os.environ.get("AUTERITY_UI_URL") or "http://127.0.0.1:3000").rstrip("/")
    where = f" for {partition}" if partition else ""
    return Alert(f"Auterity: {job}{where} failed", f"{base}/runs/{run_id}", error)


def send(alert: Alert) -> list[str]:
    """Deliver to every configured channel; returns the channels used (none configured: an empty list)."""
    used = []
    webhook = os.environ.get("AUTERITY_ALERT_WEBHOOK_URL")
    if webhook:
        httpx.post(webhook, json=alert.slack(), timeout=10).raise_for_status()
        used.append("webhook")
    recipients = [a.strip() for a in os.environ.get("AUTERITY_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if recipients:
        host = os.environ.get("AUTERITY_SMTP_HOST", "127.0.0.1")
        port = int(os.environ.get("AUTERITY_SMTP_PORT", "25"))
        sender = os.environ.get("AUTERITY_SMTP_FROM", "auterity@localhost")
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            user = os.environ.get("AUTERITY_SMTP_USER")
            if user:
                smtp.starttls()
                smtp.login(user, os.environ.get("AUTERITY_SMTP_PASSWORD", ""))
            smtp.send_message(alert.email(sender, recipients))
        used.append("email")
    return used
