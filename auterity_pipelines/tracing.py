"""OpenTelemetry traces: one per event, from the receiver's request to the CRM post or delivery.

Switched on by the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
exported over OTLP/HTTP; with neither set nothing is recorded, stored or sent. The context
travels as a W3C `traceparent`: stored with the event's inbox row, carried by its run's
`auterity/traceparent` tag, and read back by each step of that run.

Attributes name runs, events, rooftops, providers and outcomes, never a person: no name,
address, phone, e-mail or message text is ever set on a span.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_TAG = "auterity/traceparent"
SERVICE = "auterity-pipelines"
_propagator = TraceContextTextMapPropagator()
_providers: dict[str, Any] = {}  # endpoint -> TracerProvider: one per process and endpoint


def _endpoint() -> str | None:
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def tracer() -> trace.Tracer:
    """The platform's tracer: exporting when an OTLP endpoint is set, a no-op otherwise.

    The provider is the process's own, not the global one, so that whoever set the global first
    (a library, a test) neither switches tracing on nor keeps it off."""
    endpoint = _endpoint()
    if not endpoint:
        return trace.NoOpTracer()
    provider = _providers.get(endpoint)
    if provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(
            resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", SERVICE)})
        )
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _providers[endpoint] = provider
    return provider.get_tracer("auterity_pipelines")


def flush(timeout_millis: int = 2_000) -> None:
    """Send what is buffered now (a run's process may end before the batch interval)."""
    for provider in _providers.values():
        provider.force_flush(timeout_millis)


def traceparent() -> str | None:
    """The current span's context as a W3C `traceparent`, or None when nothing is traced."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_of(parent: str | Mapping[str, str] | None) -> otel_context.Context | None:
    """The context a `traceparent` (or a mapping of headers holding one) names; None for none."""
    if not parent:
        return None
    carrier = (
        {"traceparent": parent} if isinstance(parent, str) else {k.lower(): v for k, v in parent.items()}
    )
    found = _propagator.extract(carrier)
    return found if trace.get_current_span(found).get_span_context().is_valid else None


def link_to(parent: str | None) -> list[Link]:
    found = context_of(parent)
    return [Link(trace.get_current_span(found).get_span_context())] if found else []


@contextmanager
def span(
    name: str,
    parent: str | Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    links: list[Link] | None = None,
    **attributes,
) -> Iterator[trace.Span]:
    """A span, current inside the block: a child of `parent` when given, else of the current one.
    Attributes that are None are left out; an exception marks the span as an error and goes on."""
    with tracer().start_as_current_span(
        name,
        context=context_of(parent),
        kind=kind,
        links=links,
        attributes={k.replace("__", "."): v for k, v in attributes.items() if v is not None},
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def carried(fn: Callable) -> Callable:
    """`fn` to run in another thread inside the current trace context (pools do not carry it)."""
    captured = otel_context.get_current()

    def run(*args, **kwargs):
        token = otel_context.attach(captured)
        try:
            return fn(*args, **kwargs)
        finally:
            otel_context.detach(token)

    return run


@contextmanager
def step_span(context) -> Iterator[trace.Span]:
    """A span for one step of a run, the child of the run request that started it (its tag), with
    the run id, job, partition and event id; flushed when the step ends."""
    from auterity_pipelines.events.routes import EVENT_TAG

    tags = context.run.tags
    try:
        with span(
            f"step {context.get_step_execution_context().step.key}",
            parent=tags.get(TRACE_TAG),
            dagster__run_id=context.run.run_id,
            dagster__job=context.run.job_name,
            dagster__partition=context.partition_key if context.has_partition_key else None,
            auterity__event_id=tags.get(EVENT_TAG),
        ) as current:
            yield current
    finally:
        flush()


def traced(fn: Callable) -> Callable:
    """An asset's body inside its step's span (`step_span`); the signature Dagster reads is `fn`'s."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def each(context, *args, **kwargs):
            with step_span(context):
                yield from fn(context, *args, **kwargs)

        return each

    @functools.wraps(fn)
    def run(context, *args, **kwargs):
        with step_span(context):
            return fn(context, *args, **kwargs)

    return run
