"""The rules every automation action obeys, called directly: quiet hours (DST too), decisions,
rate limits, masking, and the message sandbox."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from auterity_pipelines.automations.decide import DEFERRED, SEND, SUPPRESSED, RateLimit, decide
from auterity_pipelines.automations.library import Contact, Subject
from auterity_pipelines.automations.render import RenderError, render, variables_of
from auterity_pipelines.automations.rules import QuietHours, delivery_key, e164, local_window, mask

CHICAGO = "America/Chicago"
NIGHT = QuietHours.parse({"start": "21:00", "end": "08:00"})


def at(text: str, timezone: str = CHICAGO) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def local(moment: dt.datetime, timezone: str = CHICAGO) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def test_a_moment_outside_quiet_hours_is_allowed_as_it_is():
    assert NIGHT.next_allowed(at("2026-11-30T12:00"), CHICAGO) is None
    assert NIGHT.next_allowed(at("2026-11-30T20:59"), CHICAGO) is None


def test_quiet_hours_across_midnight_defer_to_the_next_morning():
    assert local(NIGHT.next_allowed(at("2026-11-30T21:00"), CHICAGO)) == "2026-12-01 08:00 CST"
    assert local(NIGHT.next_allowed(at("2026-12-01T03:30"), CHICAGO)) == "2026-12-01 08:00 CST"


def test_quiet_hours_within_a_day():
    lunch = QuietHours.parse({"start": "12:00", "end": "13:30"})
    assert local(lunch.next_allowed(at("2026-11-30T12:10"), CHICAGO)) == "2026-11-30 13:30 CST"
    assert lunch.next_allowed(at("2026-11-30T13:30"), CHICAGO) is None


def test_quiet_hours_ending_in_the_hour_a_spring_forward_skips_end_at_its_first_real_minute():
    # 2026-03-08 in Chicago: 02:00 CST jumps to 03:00 CDT, so 02:30 never happens.
    quiet = QuietHours.parse({"start": "23:00", "end": "02:30"})
    allowed = quiet.next_allowed(at("2026-03-08T01:15"), CHICAGO)
    assert local(allowed) == "2026-03-08 03:30 CDT"
    assert allowed == dt.datetime(2026, 3, 8, 8, 30, tzinfo=dt.UTC)


def test_quiet_hours_across_a_fall_back_end_at_the_wall_time_in_the_new_offset():
    # 2026-11-01 in Chicago: 02:00 CDT falls back to 01:00 CST; the night is an hour longer.
    allowed = NIGHT.next_allowed(at("2026-10-31T22:00"), CHICAGO)
    assert local(allowed) == "2026-11-01 08:00 CST"
    assert allowed - at("2026-10-31T22:00") == dt.timedelta(hours=11)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"start": "9pm", "end": "08:00"}, "start '9pm' is not a 24-hour HH:MM time"),
        ({"start": "21:00", "end": "24:00"}, "end '24:00' is not a 24-hour HH:MM time"),
        ({"start": "21:00"}, 'must be {start: "HH:MM", end: "HH:MM"}'),
        ({"start": "08:00", "end": "08:00"}, "start and end are the same time"),
        ("21:00-08:00", 'must be {start: "HH:MM", end: "HH:MM"}'),
    ],
)
def test_malformed_quiet_hours_say_what_is_wrong(value, reason):
    with pytest.raises(ValueError, match="^" + __import__("re").escape(reason)):
        QuietHours.parse(value)


def customer(email_opt_in=True, sms_opt_in=True) -> Subject:
    return Subject(
        "customer:C1",
        "ro:R1",
        {"first_name": "Ana"},
        Contact("C1", "ana@example.com", "(312) 555-0101", email_opt_in, sms_opt_in),
    )


NOON = at("2026-11-30T12:00")


@pytest.mark.parametrize(
    ("subject", "channel", "opted_out", "expected"),
    [
        (customer(), "email", False, (SEND, None)),
        (customer(email_opt_in=None), "email", False, (SUPPRESSED, "no e-mail consent in the DMS")),
        (customer(sms_opt_in=False), "sms", False, (SUPPRESSED, "opted out of SMS in the DMS")),
        (customer(), "sms", True, (SUPPRESSED, "opted out of SMS (STOP)")),
    ],
)
def test_a_customer_message_needs_consent_to_its_channel(subject, channel, opted_out, expected):
    address = subject.contact.address(channel)
    found = decide(subject, "customer", channel, address, opted_out, None, CHICAGO, NOON)
    assert (found.decision, found.reason) == expected


def test_a_customer_without_the_address_is_suppressed_not_failed():
    subject = Subject("customer:C2", "ro:R2", {}, Contact("C2", None, None, True, True))
    assert (
        decide(subject, "customer", "email", None, False, None, CHICAGO, NOON).reason
        == "no e-mail address on file"
    )


def test_quiet_hours_defer_a_customer_message_and_never_a_staff_one():
    late = at("2026-11-30T22:15")
    deferred = decide(customer(), "customer", "email", "ana@example.com", False, NIGHT, CHICAGO, late)
    assert deferred.decision == DEFERRED
    assert local(deferred.send_after) == "2026-12-01 08:00 CST"
    assert deferred.reason == "quiet hours until 2026-12-01 08:00 CST"
    staff = Subject("lead:L1", "once", {})
    assert decide(staff, "staff", "sms", "+13125550100", False, NIGHT, CHICAGO, late).decision == SEND


def test_a_wait_the_template_asks_for_comes_before_consent_is_judged():
    waiting = Subject(
        "deal:D1", "once", {}, Contact("C1", None, None, None, None), not_before=NOON + dt.timedelta(hours=2)
    )
    found = decide(waiting, "customer", "email", None, False, None, CHICAGO, NOON)
    assert (found.decision, found.send_after) == (DEFERRED, NOON + dt.timedelta(hours=2))


def test_a_cancelled_subject_is_suppressed_with_its_reason():
    answered = Subject("lead:L1", "once", {}, cancelled="answered at 12:03")
    assert decide(answered, "staff", "sms", "+1", False, None, CHICAGO, NOON).reason == "answered at 12:03"


def test_the_rate_limit_gives_each_message_over_the_budget_a_later_minute():
    limit = RateLimit(per_minute=3, used_last_minute=1, now=NOON + dt.timedelta(seconds=20))
    slots = [limit.slot() for _ in range(7)]
    assert slots[:2] == [None, None]
    assert slots[2:] == [NOON + dt.timedelta(minutes=m) for m in (1, 1, 1, 2, 2)]


def test_the_delivery_key_is_the_same_for_every_rerun_and_different_per_window():
    assert delivery_key("a", "r", "customer:C1", "sms", "ro:R1") == delivery_key(
        "a", "r", "customer:C1", "sms", "ro:R1"
    )
    assert delivery_key("a", "r", "customer:C1", "sms", "ro:R1") != delivery_key(
        "a", "r", "customer:C1", "sms", "ro:R2"
    )


def test_recipients_are_masked_in_what_is_recorded():
    assert mask("sms", "+13125550142") == "***0142"
    assert mask("email", "ana.lopez@example.com") == "a***@example.com"
    assert mask("chat", "https://hooks.example/services/T/B/secret") == "chat webhook"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("(312) 555-0101", "+13125550101"), ("1-312-555-0101", "+13125550101"), ("+44 20 7946 0958", "+442079460958"),
     ("555-0101", None), ("", None), (None, None)],
)  # fmt: skip
def test_phone_numbers_become_e164(raw, expected):
    assert e164(raw) == expected


def test_windows_are_rooftop_local_days_and_iso_weeks():
    late_sunday = at("2026-11-29T23:30")  # Monday 05:30 UTC
    assert local_window(late_sunday, CHICAGO, "day") == "2026-11-29"
    assert local_window(late_sunday, CHICAGO, "week") == "2026-W48"


def test_a_message_renders_its_variables():
    assert (
        render("Hi {{ name }}, {{ items | length }} items", {"name": "Ana", "items": [1, 2]})
        == "Hi Ana, 2 items"
    )


def test_a_missing_variable_is_an_error_that_names_it():
    with pytest.raises(RenderError, match="missing variable: 'phone' is undefined"):
        render("Call {{ phone }}", {"name": "Ana"})


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ name.__class__.__init__.__globals__ }}",
        "{{ items.append(3) }}",
        "{{ name.format.__self__ }}",
        "{% include '/etc/passwd' %}",
        "{% import 'os' as os %}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ range(10**9) | list }}",
        "{{ self.__init__.__globals__ }}",
    ],
)
def test_a_template_cannot_reach_python_objects_or_files(source):
    with pytest.raises(RenderError):
        render(source, {"name": "Ana", "items": [1, 2]})


def test_a_syntax_error_is_reported_with_its_line():
    with pytest.raises(RenderError, match="line 2"):
        variables_of("fine\n{{ broken")


def test_what_a_template_reads_is_known_before_it_runs():
    assert variables_of("{{ a }} {% for i in items %}{{ i.x }}{% endfor %}") == {"a", "items"}
