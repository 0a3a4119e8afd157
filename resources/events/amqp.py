"""`auterity consume-events`: the RabbitMQ bridge from the `dealership.events` topic exchange into the inbox.

A message is acknowledged only after its event is committed, so a crash redelivers it and the
inbox's derived event id makes the redelivery a no-op. A message that cannot be read is
quarantined and acknowledged: requeueing it would only loop. Routing keys are
`<dealership_id>.<event type>`, for instance `lakeside-honda.ro.closed`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from auterity_pipelines import tracing
from auterity_pipelines.adf import AdfError, parse_adf
from auterity_pipelines.events.schemas import parse_event, validation_reason
from auterity_pipelines.fleet import Fleet, FleetError, LiveFleet
from resources.events.inbox import Incoming, Stored, dms_event, lead_events, quarantine, store
from resources.warehouse import Warehouse

EXCHANGE = "dealership.events"
QUEUE = "auterity.events"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
log = logging.getLogger(__name__)


def declare(channel, queue: str = QUEUE) -> None:
    """The exchange, a durable queue and its binding: declared by both sides, idempotently."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, EXCHANGE, routing_key="#")


def incoming(
    fleet: Fleet, routing_key: str, content_type: str | None, body: bytes
) -> tuple[str, list[Incoming]]:
    """(dealership, events) from one message; ValueError saying why it cannot be read."""
    dealership_id = routing_key.split(".", 1)[0]
    try:
        timezone = fleet.get(dealership_id).timezone
    except FleetError:
        raise ValueError(f"routing key {routing_key!r} names no dealership of the fleet") from None
    if (content_type or "").endswith("xml"):
        try:
            result = parse_adf(body, timezone)
        except AdfError as exc:
            raise ValueError(f"ADF: {exc}") from None
        if not result.leads:
            raise ValueError("; ".join(f"prospect {n}: {r}" for n, r in result.rejected))
        return dealership_id, lead_events(result.leads)
    try:
        event = parse_event(body)
    except ValidationError as exc:
        raise ValueError(validation_reason(exc)) from None
    return dealership_id, [dms_event(event)]


def consume(
    url: str,
    fleet: Fleet | LiveFleet,
    warehouse: Warehouse,
    queue: str = QUEUE,
    on_stored: Callable[[list[Stored]], None] | None = None,
    stop_after: int | None = None,
) -> int:
    """Move messages into the inbox until stopped (or `stop_after` messages); returns how many were handled."""
    import pika

    fleets = fleet if isinstance(fleet, LiveFleet) else LiveFleet.fixed(fleet)
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    declare(channel, queue)
    channel.basic_qos(prefetch_count=50)
    handled = 0
    try:
        for method, properties, body in channel.consume(queue, inactivity_timeout=1):
            if method is None:
                if stop_after is not None and handled >= stop_after:
                    break
                continue
            try:
                dealership_id, events = incoming(
                    fleets.current(), method.routing_key, properties.content_type, body
                )
            except Exception as exc:  # one unreadable message is kept and passed over, never a stop
                why = str(exc) if isinstance(exc, ValueError) else f"could not be read ({type(exc).__name__})"
                owner = method.routing_key.split(".", 1)[0]
                quarantine(warehouse, owner, "amqp", body, why)
                log.warning("quarantined a message on %s: %s", method.routing_key, why)
            else:
                # A consumer span, the child of the publisher's when it sent a `traceparent` header.
                with tracing.span(
                    f"consume {queue}",
                    parent={k: str(v) for k, v in (properties.headers or {}).items()},
                    kind=SpanKind.CONSUMER,
                    auterity__dealership=dealership_id,
                ):
                    stored = store(warehouse, dealership_id, events, "amqp")  # commits before the ack
                if on_stored:
                    on_stored(stored)
            channel.basic_ack(method.delivery_tag)
            handled += 1
            if stop_after is not None and handled >= stop_after:
                break
    finally:
        channel.cancel()
        connection.close()
    return handled


def publish(url: str, routing_key: str, body: bytes | dict, content_type: str = "application/json") -> None:
    """Publish one persistent message to the exchange (tests, benchmarks and demos)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        declare(channel)
        channel.confirm_delivery()
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        channel.basic_publish(
            EXCHANGE,
            routing_key,
            data,
            pika.BasicProperties(content_type=content_type, delivery_mode=pika.DeliveryMode.Persistent),
        )
    finally:
        connection.close()
