"""Each automation template on a rooftop with months of history, through Dagster, sending over the
real loopback providers (HTTP SMS and chat, SMTP, the CRM), every decision recorded."""

import datetime as dt

from sqlalchemy import and_, func, insert, select

from auterity_pipelines.automations.rules import e164
from auterity_pipelines.schema import customers, deals, events_inbox, leads, repair_order_lines, repair_orders
from tests.integration.automations_world import DAY, HOT, ROOFTOP, STAFF_EMAIL, STAFF_PHONE, automation


def partition_orders(rooftop) -> list[str]:
    ids = rooftop.warehouse.partition_source_ids("repair_orders", ROOFTOP, DAY)
    return sorted(
        r["ro_number"]
        for r in rooftop.rows(select(repair_orders.c.ro_number).where(repair_orders.c.source_id.in_(ids)))
    )


def test_hot_lead_alert_texts_staff_about_each_hot_lead_once_without_the_customers_contact(fresh, instance):
    hot = fresh.score_leads()
    metadata = fresh.run(HOT, instance)["hot"]
    assert metadata["sent"] == len(hot) > 0 and metadata["candidates"] == len(hot)
    messages = fresh.sms()
    assert {m["to"] for m in messages} == {STAFF_PHONE}
    assert len(messages) == len(hot)
    lead_rows = {r["lead_id"]: r for r in fresh.rows(select(leads).where(leads.c.lead_id.in_(hot)))}
    for message in messages:
        assert "Hot lead at Lakeside Honda" in message["body"] and "score 0.90" in message["body"]
        assert "/assets/ml/lead_scores?partition=2026-11-19%7Clakeside-honda" in message["body"]
        for lead in lead_rows.values():  # staff get a name and a link, not the customer's phone or e-mail
            for private in (lead["email"], lead["phone"]):
                assert not private or private not in message["body"]
    rows = fresh.deliveries("hot")
    assert sorted(r["subject"] for r in rows) == sorted(f"lead:{i}" for i in hot)
    assert {(r["decision"], r["recipient"], r["channel"]) for r in rows} == {("sent", "***0100", "sms")}
    assert {r["provider_message_id"] for r in rows} == {m["sid"] for m in messages}


def test_a_rerun_of_the_same_partition_messages_no_one_twice(fresh, instance):
    hot = fresh.score_leads()
    fresh.run(HOT, instance)
    again = fresh.run(HOT, instance)["hot"]
    assert again["sent"] == 0 and again["already_decided"] == len(hot)
    assert len(fresh.sms()) == len(hot)


def test_hot_lead_alert_to_the_crm_carries_the_contact_only_when_asked(fresh, instance):
    hot = fresh.score_leads()
    text = automation(
        "hot-crm",
        "hot_lead_alert",
        "{notify: {channel: crm, include_contact: true}, message: '{{ name }} {{ customer_phone }} {{ customer_email }} {{ link }}'}",
    )
    assert fresh.run(text, instance)["hot-crm"]["sent"] == len(hot)
    tasks = fresh.crm_tasks()
    assert sorted(t["subject"] for t in tasks) == sorted(f"lead:{i}" for i in hot)
    lead = fresh.rows(select(leads).where(leads.c.lead_id == hot[0]))[0]
    task = next(t for t in tasks if t["subject"] == f"lead:{hot[0]}")
    assert task["automation"] == "hot-crm" and task["key"]
    assert (lead["phone"] or "") in task["text"] and (lead["email"] or "") in task["text"]


def test_lead_response_watch_raises_only_the_leads_nobody_answered(fresh, instance):
    ids = sorted(fresh.warehouse.partition_source_ids("leads", ROOFTOP, DAY))
    # The day's records include older leads the DMS changed that day; those are not chased.
    cutoff = dt.datetime.now() - dt.timedelta(hours=336)
    times = {
        r["lead_id"]: r["received_at"] for r in fresh.rows(select(leads).where(leads.c.lead_id.in_(ids)))
    }
    old = {i for i, t in times.items() if t < cutoff}
    answered = max(ids, key=lambda i: times[i])
    received = times[answered]
    with fresh.warehouse.engine.begin() as conn:
        conn.execute(
            insert(events_inbox),
            [{"event_id": "evt_answer", "dealership_id": ROOFTOP, "event_type": "lead.responded",
              "received_at": dt.datetime.now(dt.UTC), "status": "done", "channel": "webhook", "dedup_key": "id:a",
              "payload": {"id": "a", "type": "lead.responded", "occurred_at": received.isoformat() + "Z",
                          "data": {"lead_id": answered, "responded_at": (received + dt.timedelta(minutes=5)).isoformat() + "+00:00"}}}],
        )  # fmt: skip
    text = automation(
        "watch",
        "lead_response_watch",
        "{minutes: 15, max_age_hours: 336, notify: {channel: chat, url_env: AUTERITY_TEST_CHAT_URL}}",
    )
    metadata = fresh.run(text, instance)["watch"]
    assert metadata["sent"] == len(ids) - 1 - len(old) > 0 and metadata["suppressed"] == 1 + len(old)
    posts = fresh.chat()
    assert len(posts) == metadata["sent"]
    assert all("has waited 15 minutes" in p["text"] for p in posts)
    row = next(r for r in fresh.deliveries("watch") if r["subject"] == f"lead:{answered}")
    assert row["decision"] == "suppressed" and row["reason"].startswith("answered at")


def test_service_due_reminder_emails_customers_due_who_agreed_to_email(fresh, instance):
    text = automation("due", "service_due_reminder", "{channel: email, months: 6, within_days: 30}")
    metadata = fresh.run(text, instance)["due"]
    # Due: the last repair order closed between 6 months and 6 months + 30 days before the day.
    last = (
        select(repair_orders.c.customer_id, func.max(repair_orders.c.closed_at).label("at"))
        .where(repair_orders.c.dealership_id == ROOFTOP, repair_orders.c.customer_id.is_not(None))
        .group_by(repair_orders.c.customer_id)
        .subquery()
    )
    due = fresh.rows(
        select(customers).join(last, and_(customers.c.customer_id == last.c.customer_id, customers.c.dealership_id == ROOFTOP))
        .where(last.c.at >= dt.datetime(2026, 4, 19, tzinfo=dt.UTC), last.c.at < dt.datetime(2026, 5, 20, tzinfo=dt.UTC))
    )  # fmt: skip
    willing = {c["email"] for c in due if c["email_opt_in"] is True and c["email"]}
    assert metadata["candidates"] == len(due) > 20
    assert {m["to"][0] for m in fresh.mail()} == willing and len(fresh.mail()) == len(willing)
    reasons = {r["reason"] for r in fresh.deliveries("due") if r["decision"] == "suppressed"}
    assert reasons <= {
        "no e-mail consent in the DMS",
        "opted out of e-mail in the DMS",
        "no e-mail address on file",
    }
    assert "opted out of e-mail in the DMS" in reasons and "no e-mail consent in the DMS" in reasons
    mail = fresh.mail()[0]
    assert mail["subject"] == "Your vehicle is due for service at Lakeside Honda"
    assert mail["body"].startswith("Hi ") and "6 months since your last visit" in mail["body"]
    assert len({m["message_id"] for m in fresh.mail()}) == len(willing)


def test_unhappy_service_customer_tells_the_service_manager_with_the_summary(fresh, instance):
    orders = partition_orders(fresh)
    lines = fresh.rows(
        select(repair_order_lines.c.ro_number, repair_order_lines.c.line_number).where(
            repair_order_lines.c.ro_number.in_(orders)
        )
    )
    sentiments = {
        (row["ro_number"], row["line_number"]): (-0.8 if n % 3 == 0 else 0.4) for n, row in enumerate(lines)
    }
    fresh.enrich_lines(sentiments)
    text = automation(
        "unhappy", "unhappy_service_customer", "{notify: {channel: email, to_env: AUTERITY_DEMO_GM_EMAIL}}"
    )
    unhappy = sorted(k for k, v in sentiments.items() if v <= -0.3)
    assert fresh.run(text, instance)["unhappy"]["sent"] == len(unhappy) > 0
    mail = fresh.mail()
    assert {m["to"][0] for m in mail} == {STAFF_EMAIL}
    ro, line = unhappy[0]
    message = next(
        m
        for m in mail
        if m["subject"] == f"Unhappy service customer: RO {ro}" and f"line {line} " in m["body"]
    )
    assert f"summary of {ro}/{line}" in message["body"] and "sentiment -0.8" in message["body"]


def test_warranty_digest_sends_one_message_for_the_day(fresh, instance):
    orders = partition_orders(fresh)[:4]
    lines = {(ro, 1): 0.0 for ro in orders}
    fresh.enrich_lines(lines, warranty=set(list(lines)[:3]))
    text = automation(
        "warranty", "warranty_digest", "{notify: {channel: chat, url_env: AUTERITY_TEST_CHAT_URL}}"
    )
    assert fresh.run(text, instance)["warranty"]["sent"] == 1
    fresh.run(text, instance)
    (post,) = fresh.chat()
    assert "2026-11-19: 3 likely warranty line(s)" in post["text"]
    assert all(f"RO {ro}/1" in post["text"] for ro in orders[:3]) and f"RO {orders[3]}/1" not in post["text"]
    (row,) = fresh.deliveries("warranty")
    assert (row["subject"], row["window"]) == ("digest:2026-11-19", "2026-11-19")


def test_an_empty_digest_is_a_recorded_suppression_not_a_message(fresh, instance):
    text = automation(
        "warranty", "warranty_digest", "{notify: {channel: chat, url_env: AUTERITY_TEST_CHAT_URL}}"
    )
    assert fresh.run(text, instance)["warranty"]["suppressed"] == 1
    assert fresh.chat() == []
    assert fresh.deliveries("warranty")[0]["reason"] == "no line was flagged as likely warranty"


def test_aged_inventory_digest_lists_what_sat_longer_than_days(fresh, instance):
    fresh.add_vehicles({"1HGCM82633A000001": 90, "1HGCM82633A000002": 61, "1HGCM82633A000003": 10})
    fresh.add_vehicles({"1HGCM82633A000004": 200}, status="sold")
    text = automation(
        "aged",
        "aged_inventory_digest",
        "{days: 60, notify: {channel: email, to_env: AUTERITY_DEMO_GM_EMAIL}}",
    )
    assert fresh.run(text, instance)["aged"]["sent"] == 1
    (mail,) = fresh.mail()
    assert "2 vehicle(s) in stock over 60 days" in mail["body"]
    assert (
        "S0001" in mail["body"]
        and "S0002" in mail["body"]
        and "S0003" not in mail["body"]
        and "S0004" not in mail["body"]
    )


def test_deal_thank_you_texts_customers_who_agreed_to_sms(fresh, instance):
    sold = fresh.rows(
        select(deals).where(deals.c.deal_id.in_(fresh.warehouse.partition_source_ids("deals", ROOFTOP, DAY)))
    )
    people = {
        c["customer_id"]: c
        for c in fresh.rows(
            select(customers).where(customers.c.customer_id.in_([d["customer_id"] for d in sold]))
        )
    }
    willing = {
        e164(people[d["customer_id"]]["phone"])
        for d in sold
        if d["customer_id"] in people and people[d["customer_id"]]["sms_opt_in"] is True
    }
    text = automation("thanks", "deal_thank_you", "{channel: sms, delay_hours: 0, max_age_days: 365}")
    metadata = fresh.run(text, instance)["thanks"]
    assert metadata["candidates"] == len(sold) > 0
    assert {m["to"] for m in fresh.sms()} == willing - {None}
    assert all(m["body"].startswith("Hi ") and "Reply STOP to opt out." in m["body"] for m in fresh.sms())


def test_deal_thank_you_waits_delay_hours_and_is_recorded_as_deferred(fresh, instance):
    text = automation("thanks", "deal_thank_you", "{channel: sms, delay_hours: 720, max_age_days: 365}")
    metadata = fresh.run(text, instance)["thanks"]
    assert metadata["deferred"] == metadata["candidates"] > 0 and fresh.sms() == []
    rows = fresh.deliveries("thanks")
    assert all(r["decision"] == "deferred" and r["reason"].startswith("waits until") for r in rows)
    assert all(r["send_after"] is not None for r in rows)
