"""SMS through a Twilio-compatible REST API: Basic auth with the account SID and token, form posts."""

from __future__ import annotations

import datetime as dt
import email.utils

import httpx

from resources.channels.retry import SendFailed, Sent, scrub, send_with_retries


class SmsChannel:
    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str | None = None,
        timeout: float = 10.0,
        attempts: int = 4,
    ):
        self.base = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.from_number = from_number
        self.status_callback = status_callback
        self.timeout = timeout
        self.attempts = attempts

    def send(self, to: str, body: str) -> Sent:
        form = {"To": to, "From": self.from_number, "Body": body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        with httpx.Client(auth=self.auth, timeout=self.timeout) as client:
            answer, attempts = send_with_retries(
                lambda: client.post(self.base, data=form),
                self.attempts,
                # Twilio takes no idempotency key: a send whose answer was lost is looked up instead.
                on_ambiguous=lambda: self._found(client, to, body, since),
            )
        if isinstance(answer, Sent):
            return answer
        try:
            return Sent(answer.json()["sid"], attempts)
        except (ValueError, KeyError):
            raise SendFailed(
                f"the provider's answer has no message sid: {scrub(answer.text[:200])}", attempts, False
            ) from None

    def find(self, to: str, body: str, since: dt.datetime) -> str | None:
        """The sid of a message to `to` with exactly `body` sent since `since`, if the provider has one."""
        with httpx.Client(auth=self.auth, timeout=self.timeout) as client:
            found = self._found(client, to, body, since)
        return found.message_id if found else None

    def _found(self, client: httpx.Client, to: str, body: str, since: dt.datetime) -> Sent | None:
        url, params = self.base, {"To": to, "DateSent>": since.date().isoformat(), "PageSize": 100}
        for _ in range(20):  # pages
            response = client.get(url, params=params)
            response.raise_for_status()
            page = response.json()
            for message in page.get("messages", []):
                sent_at = message.get("date_created") or message.get("date_sent")
                when = email.utils.parsedate_to_datetime(sent_at) if sent_at else since
                if message.get("body") == body and when >= since.replace(microsecond=0) - dt.timedelta(
                    seconds=1
                ):
                    return Sent(message["sid"], 0)
            following = page.get("next_page_uri")
            if not following:
                return None
            url, params = str(httpx.URL(self.base).join(following)), None
        return None
