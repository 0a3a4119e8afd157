"""The delivery ledger on SQLite and PostgreSQL: one claim wins, a final decision is never
overwritten, due waits come back, opt-outs are kept per rooftop and channel."""

import datetime as dt
import threading

from resources.channels import ledger

NOW = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


def row(key: str, decision: str = "sending", **changes) -> dict:
    return {
        "delivery_key": key, "automation": "hot", "dealership_id": "lakeside-honda", "subject": f"lead:{key}",
        "channel": "sms", "window": "once", "recipient": "***0100", "decision": decision, "reason": None,
        "retryable": False, "provider_message_id": None, "attempts": 0, "partition_key": "2026-11-30|lakeside-honda",
        "send_after": None, "created_at": NOW, "updated_at": NOW, "run_id": "r1", **changes,
    }  # fmt: skip


def test_of_runs_claiming_one_message_at_once_exactly_one_wins(warehouse):
    wins = []
    barrier = threading.Barrier(8)

    def claim(n: int) -> None:
        barrier.wait()
        if ledger.claim(warehouse.engine, row("k1", run_id=f"r{n}"), None):
            wins.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert ledger.existing(warehouse.engine, ["k1"])["k1"]["run_id"] == f"r{wins[0]}"


def test_an_open_decision_is_claimed_once_and_only_from_the_state_that_was_read(warehouse):
    ledger.record(warehouse.engine, [row("k2", "deferred", send_after=NOW)])
    seen = ledger.existing(warehouse.engine, ["k2"])["k2"]
    assert ledger.claim(
        warehouse.engine, row("k2", run_id="r2", updated_at=NOW + dt.timedelta(seconds=1)), seen
    )
    assert not ledger.claim(warehouse.engine, row("k2", run_id="r3"), seen)  # read before r2 took it


def test_recording_again_never_overwrites_a_final_decision(warehouse):
    ledger.claim(warehouse.engine, row("k3"), None)
    ledger.finish(warehouse.engine, "k3", "sent", None, False, "SM1", 1)
    ledger.record(warehouse.engine, [row("k3", "deferred", send_after=NOW, reason="quiet hours")])
    stored = ledger.existing(warehouse.engine, ["k3"])["k3"]
    assert (stored["decision"], stored["provider_message_id"], stored["attempts"]) == ("sent", "SM1", 1)
    ledger.record(warehouse.engine, [row("k4", "failed", reason="HTTP 400", retryable=False)])
    ledger.record(warehouse.engine, [row("k4", "suppressed", reason="later")])
    assert ledger.existing(warehouse.engine, ["k4"])["k4"]["reason"] == "HTTP 400"


def test_a_retryable_failure_and_a_wait_are_taken_up_again(warehouse):
    ledger.record(warehouse.engine, [row("k5", "failed", reason="HTTP 503", retryable=True)])
    ledger.record(warehouse.engine, [row("k5", "deferred", send_after=NOW, reason="rate limit")])
    assert ledger.existing(warehouse.engine, ["k5"])["k5"]["decision"] == "deferred"
    assert ledger.due(warehouse.engine, NOW - dt.timedelta(minutes=1)) == []
    (due,) = ledger.due(warehouse.engine, NOW)
    assert (due["automation"], due["partition_key"]) == ("hot", "2026-11-30|lakeside-honda")


def test_sends_in_the_last_minute_are_counted_per_rooftop_and_channel(warehouse):
    ledger.claim(warehouse.engine, row("k6"), None)
    ledger.finish(warehouse.engine, "k6", "sent", None, False, "SM6", 1)
    ledger.claim(warehouse.engine, row("k7", channel="email"), None)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert ledger.sends_since(warehouse.engine, "lakeside-honda", "sms", since) == 1
    assert ledger.sends_since(warehouse.engine, "northgate-ford", "sms", since) == 0


def test_opt_outs_are_kept_per_rooftop_and_channel(warehouse):
    ledger.set_opt_out(warehouse.engine, "lakeside-honda", "sms", "+13125550101", True, "sms_reply")
    ledger.set_opt_out(warehouse.engine, "lakeside-honda", "sms", "+13125550101", True, "sms_reply")  # again
    assert ledger.opted_out(warehouse.engine, "lakeside-honda", "sms", ["+13125550101", "+13125550102"]) == {
        "+13125550101"
    }
    assert ledger.opted_out(warehouse.engine, "northgate-ford", "sms", ["+13125550101"]) == set()
    assert ledger.opted_out(warehouse.engine, "lakeside-honda", "email", ["+13125550101"]) == set()
    ledger.set_opt_out(warehouse.engine, "lakeside-honda", "sms", "+13125550101", False, "sms_reply")
    assert ledger.opted_out(warehouse.engine, "lakeside-honda", "sms", ["+13125550101"]) == set()
