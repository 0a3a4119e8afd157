"""Chat (Slack-compatible incoming webhooks) and the rooftop's CRM webhook (signed JSON)."""

from __future__ import annotations

import json

import httpx

from auterity_pipelines.events.signing import headers
from resources.channels.retry import Sent, send_with_retries


def post_chat(url: str, text: str, timeout: float = 10.0, attempts: int = 4) -> Sent:
    """Post `text` to a Slack-compatible incoming webhook, which answers 200 `ok`."""
    with httpx.Client(timeout=timeout) as client:
        _, tries = send_with_retries(lambda: client.post(url, json={"text": text}), attempts)
    return Sent(None, tries)


def post_crm(
    url: str,
    secret: str,
    dealership_id: str,
    message: dict,
    key: str,
    timeout: float = 10.0,
    attempts: int = 4,
) -> Sent:
    """Post `message` to a CRM webhook, signed like every webhook the platform sends; the key
    rides along as `Idempotency-Key`, so a CRM that keeps it can drop a repeat."""
    body = json.dumps(message, default=str).encode()
    with httpx.Client(timeout=timeout) as client:
        _, tries = send_with_retries(
            lambda: client.post(
                url,
                content=body,
                headers={
                    **headers(secret, body, dealership_id),
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                },
            ),
            attempts,
            on_ambiguous=lambda: None,  # the key makes a second copy harmless: send it again
        )
    return Sent(key, tries)
