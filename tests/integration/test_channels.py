"""Each channel against a real server: what it retries, what it records, and that it sends once."""

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette

from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.simulator.messaging import DemoChat, DemoSms
from resources.channels import EmailChannel, SendFailed, SmsChannel, post_chat
from resources.channels.retry import retry_after


class Relay:
    """An SMTP server answering the codes it is given, one per message, then 250."""

    def __init__(self, answers: list[str]):
        self.answers = list(answers)
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.answers:
            return self.answers.pop(0)
        self.accepted.append(envelope.content)
        return "250 OK"


@pytest.fixture
def relay():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Relay([])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_email_retries_a_temporary_refusal_and_sends_once(relay):
    handler, port = relay
    handler.answers = ["451 4.3.0 try again later", "421 4.7.0 busy"]
    sent = EmailChannel("127.0.0.1", port, "a@auterity.example", attempts=4).send(
        "ana@example.com", "Service due", "Hi Ana", "key123"
    )
    assert sent.attempts == 3 and sent.message_id == "<key123@auterity>"
    assert len(handler.accepted) == 1 and b"Message-ID: <key123@auterity>" in handler.accepted[0]


def test_email_records_a_permanent_refusal_without_retrying(relay):
    handler, port = relay
    handler.answers = ["550 5.1.1 no such mailbox"]
    with pytest.raises(SendFailed) as failed:
        EmailChannel("127.0.0.1", port, "a@auterity.example").send("gone@example.com", "s", "b", "k")
    assert failed.value.reason.startswith("SMTP 550") and not failed.value.retryable
    assert failed.value.attempts == 1 and handler.accepted == []


def test_email_to_a_server_that_is_not_there_is_retryable():
    with pytest.raises(SendFailed) as failed:
        EmailChannel("127.0.0.1", 1, "a@auterity.example", attempts=2, timeout=2).send(
            "x@example.com", "s", "b", "k"
        )
    assert failed.value.retryable and "after 2 attempts" in failed.value.reason


def test_chat_waits_out_a_429_and_a_500_and_posts_once():
    chat = DemoChat()
    chat.faults.queue.extend(["429", "500"])
    chat.faults.retry_after = 1
    with serve_app_in_thread(Starlette(routes=chat.routes()), "chat") as url:
        sent = post_chat(f"{url}/_chat/services/T/B/x", "Hot lead", attempts=3)
    assert sent.attempts == 3
    assert [p["text"] for p in chat.posts] == ["Hot lead"]


def test_chat_with_no_answer_is_not_posted_again():
    chat = DemoChat()
    chat.faults.queue.append("timeout")
    chat.faults.hang_seconds = 3
    with (
        serve_app_in_thread(Starlette(routes=chat.routes()), "chat") as url,
        pytest.raises(SendFailed) as failed,
    ):
        post_chat(f"{url}/_chat/services/T/B/x", "Hot lead", timeout=1, attempts=3)
    assert not failed.value.retryable and "it may have arrived" in failed.value.reason
    assert failed.value.attempts == 1


def test_sms_refused_for_bad_credentials_says_so_and_is_not_retried():
    sms = DemoSms({"ACtest": "right-token"})
    with serve_app_in_thread(Starlette(routes=sms.routes()), "sms") as url:
        with pytest.raises(SendFailed) as failed:
            SmsChannel(f"{url}/twilio", "ACtest", "wrong", "+15005550006").send("+13125550101", "hi")
        assert failed.value.reason.startswith("HTTP 401") and not failed.value.retryable
        sent = SmsChannel(f"{url}/twilio", "ACtest", "right-token", "+15005550006").send("+13125550101", "hi")
    assert sent.message_id.startswith("SM") and [m["to"] for m in sms.messages] == ["+13125550101"]


def test_a_retry_after_is_read_as_seconds_or_as_a_date():
    import httpx

    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after(httpx.Response(429)) is None


def test_a_refusal_that_echoes_the_number_or_address_is_kept_without_them():
    from resources.channels.retry import scrub

    said = "The 'To' number +1 (312) 555-0101 is not valid; ana.lopez@example.com bounced"
    assert scrub(said) == "The 'To' number *** is not valid; ***@example.com bounced"
