"""E-mail over SMTP (STARTTLS and login when configured)."""

from __future__ import annotations

import smtplib
import socket
import time
from email.message import EmailMessage

from resources.channels.retry import SendFailed, Sent, scrub


class EmailChannel:
    def __init__(
        self,
        host: str,
        port: int,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
        attempts: int = 4,
    ):
        self.host, self.port, self.from_address = host, port, from_address
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout, self.attempts = timeout, attempts

    def send(self, to: str, subject: str, body: str, key: str) -> Sent:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.from_address, to, subject
        # The delivery key names the message: a mail system that sees it twice can tell.
        message["Message-ID"] = f"<{key}@auterity>"
        message.set_content(body)
        last = "no attempt"
        for attempt in range(1, self.attempts + 1):
            try:
                with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                    if self.starttls:
                        smtp.starttls()
                    if self.username:
                        smtp.login(self.username, self.password or "")
                    refused = smtp.send_message(message)
                if refused:
                    raise SendFailed("the recipient was refused", attempt, retryable=False)
                return Sent(message["Message-ID"], attempt)
            except smtplib.SMTPResponseException as exc:
                last = f"SMTP {exc.smtp_code}: {scrub(exc.smtp_error.decode(errors='replace')[:300])}"
                if exc.smtp_code >= 500:  # permanent: a retry gets the same answer
                    raise SendFailed(last, attempt, retryable=False) from None
            except smtplib.SMTPRecipientsRefused:
                raise SendFailed("the recipient was refused", attempt, retryable=False) from None
            except (ConnectionError, smtplib.SMTPConnectError, socket.gaierror) as exc:
                last = f"{type(exc).__name__}: {exc}"
            except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
                # After DATA the server may have queued it: not sent twice.
                raise SendFailed(
                    f"no answer ({type(exc).__name__}); it may have arrived, so it is not sent again",
                    attempt,
                    retryable=False,
                ) from None
            if attempt < self.attempts:
                time.sleep(0.5 * 2 ** (attempt - 1))
        raise SendFailed(f"{last} after {self.attempts} attempts", self.attempts, retryable=True)
