"""The warehouse schema: the contract of ../shared/DESIGN.md, plus bookkeeping columns.

Changes go through an Alembic migration (auterity_pipelines/migrations); a test checks that
the migrations build exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from auterity_pipelines.records import ENTITIES

metadata = MetaData()
Payload = JSON().with_variant(JSONB(), "postgresql")


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _id(name: str) -> Column:
    return Column(name, String(128), primary_key=True)


Money = Numeric(12, 2)

dealerships = Table(
    "dealerships",
    metadata,
    _id("dealership_id"),
    Column("name", String(200), nullable=False),
    Column("dms_vendor", String(40)),
    Column("timezone", String(64), nullable=False),
)

RAW_TABLES = {
    entity: Table(
        f"raw_{entity}",
        metadata,
        _id("dealership_id"),
        _id("source_id"),
        Column("payload", Payload, nullable=False),
        _ts("source_modified_at", nullable=False),
        _ts("synced_at", nullable=False),
        Column("run_id", String(64), nullable=False),
        # The partition whose load wrote the current version: what that partition's conform step reads.
        Column("partition_day", Date, nullable=False),
        Index(f"ix_raw_{entity}_partition", "dealership_id", "partition_day"),
    )
    for entity in ENTITIES
}

customers = Table(
    "customers",
    metadata,
    _id("dealership_id"),
    _id("customer_id"),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("postal_code", String(20)),
    _ts("updated_at", nullable=False),
    # The DMS's contact preferences: True opted in, False opted out, None never asked (no consent).
    Column("email_opt_in", Boolean),
    Column("sms_opt_in", Boolean),
)
vehicles = Table(
    "vehicles",
    metadata,
    _id("dealership_id"),
    _id("vin"),
    Column("vin_valid", Boolean, nullable=False),
    Column("vin_model_year", Integer),
    Column("model_year", Integer),
    Column("make", String(60)),
    Column("model", String(80)),
    Column("trim", String(80)),
    Column("mileage", Integer),
    Column("stock_number", String(40)),
    Column("status", String(40)),
    Column("list_price", Money),
    _ts("updated_at", nullable=False),
    Column("source_id", String(128), nullable=False),
)
deals = Table(
    "deals",
    metadata,
    _id("dealership_id"),
    _id("deal_id"),
    Column("customer_id", String(128)),
    Column("vin", String(17)),
    Column("deal_type", String(40)),
    Column("sale_price", Money),
    _ts("sold_at", nullable=False),
    Column("lead_id", String(128)),
    _ts("updated_at", nullable=False),
)
repair_orders = Table(
    "repair_orders",
    metadata,
    _id("dealership_id"),
    _id("ro_number"),
    Column("customer_id", String(128)),
    Column("vin", String(17)),
    _ts("opened_at", nullable=False),
    _ts("closed_at"),
    Column("total_amount", Money),
    Column("source_id", String(128), nullable=False),
    _ts("updated_at", nullable=False),
)
repair_order_lines = Table(
    "repair_order_lines",
    metadata,
    _id("dealership_id"),
    _id("ro_number"),
    Column("line_number", Integer, primary_key=True),
    Column("op_code", String(20)),
    Column("complaint", Text),
    Column("cause", Text),
    Column("correction", Text),
    Column("labor_hours", Numeric(6, 2)),
    Column("amount", Money),
    _ts("updated_at", nullable=False),
)
leads = Table(
    "leads",
    metadata,
    _id("dealership_id"),
    _id("lead_id"),
    Column("source", String(80)),
    _ts("received_at", nullable=False),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("vehicle_year", Integer),
    Column("vehicle_make", String(60)),
    Column("vehicle_model", String(80)),
    Column("vehicle_vin", String(17)),
    Column("comments", Text),
    _ts("first_response_at"),
    _ts("updated_at", nullable=False),
)
quarantine = Table(
    "quarantine",
    metadata,
    _id("entity"),
    _id("dealership_id"),
    _id("source_id"),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    _ts("first_seen_at", nullable=False),
    _ts("last_seen_at", nullable=False),
)


def _enrichment_columns() -> list[Column]:
    """What every enrichment row carries: how it was made, from what, and whether it worked."""
    return [
        _id("prompt_version"),
        Column("input_hash", String(64), nullable=False),  # of the record as the task read it
        Column("status", String(16), nullable=False),  # ok | failed
        Column("error", Text),
        Column("provider", String(60)),
        Column("model", String(120)),
        Column("result", Text),  # the validated answer as JSON
        _ts("enriched_at", nullable=False),
        Column("run_id", String(64), nullable=False),
    ]


lead_enrichments = Table(
    "lead_enrichments",
    metadata,
    _id("dealership_id"),
    _id("lead_id"),
    *_enrichment_columns(),
    Column("intent", String(20)),
    Column("vehicle_year", Integer),
    Column("vehicle_make", String(60)),
    Column("vehicle_model", String(80)),
    Column("urgency", Float),
    Column("urgency_reason", Text),
    Column("contact_channel", String(10)),
    Column("summary", Text),
)
repair_order_enrichments = Table(
    "repair_order_enrichments",
    metadata,
    _id("dealership_id"),
    _id("ro_number"),
    Column("line_number", Integer, primary_key=True),
    *_enrichment_columns(),
    Column("category", String(30)),
    Column("sentiment", Float),
    Column("warranty_likely", Boolean),
    Column("summary", Text),
)
ai_usage = Table(
    "ai_usage",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _ts("called_at", nullable=False),
    Column("dealership_id", String(128), nullable=False),
    Column("task", String(60), nullable=False),
    Column("provider", String(60), nullable=False),
    Column("model", String(120), nullable=False),
    Column("prompt_version", String(60), nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Numeric(14, 8), nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("cache_hit", Boolean, nullable=False),
    Column("outcome", String(30), nullable=False),  # ok | invalid | rate_limited | timeout | server_error | …
    Column("error", Text),
    Column("record_key", String(200)),
    Column("run_id", String(64)),
    Index("ix_ai_usage_dealership_task", "dealership_id", "task", "called_at"),
)
ai_cache = Table(
    "ai_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),  # task, prompt version, model, redacted input
    Column("task", String(60), nullable=False),
    Column("prompt_version", String(60), nullable=False),
    Column("model", String(120), nullable=False),
    Column("answer", Text, nullable=False),
    _ts("created_at", nullable=False),
)
ai_quota_usage = Table(
    "ai_quota_usage",
    metadata,
    _id("dealership_id"),
    Column("task", String(60), primary_key=True),
    Column("metric", String(20), primary_key=True),  # requests | tokens | spend_micro_usd
    Column("period", String(20), primary_key=True),  # the minute, day or month it counts
    Column("used", BigInteger, nullable=False),
)
lead_scores = Table(
    "lead_scores",
    metadata,
    _id("dealership_id"),
    _id("lead_id"),
    Column("model_name", String(120), primary_key=True),
    Column("model_version", String(20), primary_key=True),
    Column("score", Float, nullable=False),
    Column("variant", String(20), nullable=False),  # champion | challenger
    _ts("scored_at", nullable=False),
    Column("run_id", String(64)),
)
events_inbox = Table(
    "events_inbox",
    metadata,
    # The order events arrived in; sensors page through it.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),  # from the dealership and dedup key
    Column("dealership_id", String(128), nullable=False),
    Column("event_type", String(40), nullable=False),
    _ts("received_at", nullable=False),
    Column("payload", Payload, nullable=False),
    Column("status", String(20), nullable=False),  # received | done | failed (deliveries have their own rows)
    Column("channel", String(20), nullable=False),  # webhook | amqp | file
    Column("dedup_key", String(200), nullable=False),  # the sender's id, else the body's hash
    _ts("processed_at"),
    Column("error", Text),
    Column("traceparent", String(64)),  # the W3C trace context it was stored in (tracing.py)
    Index("ix_events_inbox_status", "status", "seq"),
)
# Every decision an automation took about a subject on a channel: one row per (automation,
# subject, channel, window), claimed before anything is sent, so nothing is sent twice.
automation_deliveries = Table(
    "automation_deliveries",
    metadata,
    Column(
        "delivery_key", String(64), primary_key=True
    ),  # hash of automation, rooftop, subject, channel, window
    Column("automation", String(120), nullable=False),
    Column("dealership_id", String(128), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("channel", String(20), nullable=False),  # sms | email | chat | crm
    Column("window", String(40), nullable=False),
    Column("recipient", String(120)),  # masked: never the whole address or number
    Column("decision", String(20), nullable=False),  # sending | sent | deferred | suppressed | failed
    Column("reason", Text),
    Column(
        "retryable", Boolean, nullable=False, default=False
    ),  # failed before anything reached the provider
    Column("provider_message_id", String(200)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("partition_key", String(200), nullable=False),  # the run that takes it up again
    _ts("send_after"),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    Column("run_id", String(64)),
    Index("ix_automation_deliveries_due", "decision", "send_after"),
    Index("ix_automation_deliveries_rooftop", "dealership_id", "created_at"),
)
# Customers who replied STOP (or were opted out by hand), per rooftop and channel.
contact_opt_outs = Table(
    "contact_opt_outs",
    metadata,
    _id("dealership_id"),
    Column("channel", String(20), primary_key=True),
    Column("address", String(320), primary_key=True),  # E.164 phone or lower-cased e-mail
    Column("source", String(40), nullable=False),
    _ts("received_at", nullable=False),
)
# The outcome of each data quality check on each rooftop-day, for the steps of other runs that
# must not read a partition a blocking check failed (enrichment), and for people to query.
quality_results = Table(
    "quality_results",
    metadata,
    _id("dealership_id"),
    Column("day", Date, primary_key=True),
    Column("table_name", String(64), primary_key=True),
    Column("check_name", String(64), primary_key=True),
    Column("passed", Boolean, nullable=False),
    Column("blocking", Boolean, nullable=False),
    Column("severity", String(10), nullable=False),  # ERROR | WARN
    Column("summary", Text, nullable=False),
    _ts("evaluated_at", nullable=False),
    Column("run_id", String(64)),
)
# Rows each rooftop-day's conform step wrote per table: the history the volume check compares with.
partition_volumes = Table(
    "partition_volumes",
    metadata,
    _id("dealership_id"),
    Column("table_name", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    _ts("updated_at", nullable=False),
)
# One person across rooftops, and the customer records that are that person (identity/).
customer_profiles = Table(
    "customer_profiles",
    metadata,
    Column("profile_id", String(40), primary_key=True),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("email", String(320)),  # normalised
    Column("phone", String(20)),  # E.164
    Column("postal_code", String(20)),
    Column("members", Integer, nullable=False),
    Column("rooftops", Integer, nullable=False),
    _ts("updated_at"),
)
customer_identity_links = Table(
    "customer_identity_links",
    metadata,
    _id("dealership_id"),
    _id("customer_id"),
    Column("profile_id", String(40), nullable=False, index=True),
    Column("rule", String(20), nullable=False),  # email | phone+name | name+postal | single
)
# One vehicle by VIN across rooftops and over time, and each sighting of it.
vehicle_profiles = Table(
    "vehicle_profiles",
    metadata,
    Column("vin", String(17), primary_key=True),
    Column("vin_valid", Boolean, nullable=False),
    Column("model_year", Integer),
    Column("manufacturer", String(60)),
    Column("country", String(40)),
    Column("make", String(60)),
    _ts("first_seen_at"),
    _ts("last_seen_at"),
    Column("rooftops", Integer, nullable=False),
    Column("events", Integer, nullable=False),
)
vehicle_history = Table(
    "vehicle_history",
    metadata,
    Column("vin", String(17), primary_key=True),
    _id("dealership_id"),
    Column("event", String(20), primary_key=True),  # stocked | sold | serviced
    _id("source_id"),
    _ts("occurred_at"),
)
ENRICHMENT_TABLES = {t.name: t for t in (lead_enrichments, repair_order_enrichments)}

CONFORMED_TABLES = {t.name: t for t in (customers, vehicles, deals, repair_orders, repair_order_lines, leads)}
