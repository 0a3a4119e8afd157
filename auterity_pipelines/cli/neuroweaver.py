"""`auterity neuroweaver`: NeuroWeaver's text models, served and measured."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from auterity_pipelines.cli.binding import host_option, warn_if_exposed


@click.group()
def neuroweaver():
    """NeuroWeaver: the platform's own models."""


@neuroweaver.command("serve")
@click.option("--port", type=int, default=8766, show_default=True)
@host_option("model endpoint")
@click.option("--latency-ms", type=float, default=0.0, help="Answer this much later (benchmarks).")
@click.option("--rate-limit-share", type=float, default=0.0, help="Share of requests answered 429.")
@click.option("--server-error-share", type=float, default=0.0, help="Share of requests answered 500.")
@click.option("--timeout-share", type=float, default=0.0, help="Share of requests that hang.")
@click.option("--invalid-share", type=float, default=0.0, help="Share of answers that break the schema.")
def serve(port, host, latency_ms, rate_limit_share, server_error_share, timeout_share, invalid_share):
    """Serve the registry's champion text models behind an OpenAI-compatible /v1/chat/completions and /v1/models."""
    import uvicorn

    warn_if_exposed(host, "NeuroWeaver endpoint", "anyone who reaches it can use the models, unauthenticated")

    from ml.serving import MODELS, NeuroWeaverServer, ServingFaults
    from ml.text import complaints

    version = _champion_complaint_model()
    complaints.use_model(version.model)
    shares = {
        "rate_limit": rate_limit_share,
        "server_error": server_error_share,
        "timeout": timeout_share,
        "invalid": invalid_share,
    }
    server = NeuroWeaverServer(ServingFaults(latency_ms=latency_ms, shares=shares))
    click.echo(
        f"NeuroWeaver endpoint on http://{host}:{port}/v1 serving {', '.join(MODELS)} "
        f"(complaint classifier version {version.number}, champion, from {version.store})"
    )
    uvicorn.run(server.app(), host=host, port=port, log_level="warning")


@dataclass
class _Champion:
    model: object
    number: str
    store: str


def _champion_complaint_model() -> _Champion:
    """The champion complaint classifier; on a store with none yet, one is trained and registered first."""
    from auterity_pipelines.settings import auterity_home
    from ml.registry import CHAMPION, ModelNotServable, Store, alias_version, load_alias
    from ml.text import registry

    store = Store.default(auterity_home())
    if alias_version(store, registry.COMPLAINT_MODEL, CHAMPION) is None:
        click.echo(f"no champion for {registry.COMPLAINT_MODEL} in {store.display}: training one", err=True)
        registry.train_challenger(store, {"trigger": "neuroweaver serve"})
        registry.promote(store, margin=0.0)
    try:
        found, model = load_alias(store, registry.COMPLAINT_MODEL, CHAMPION, flavor="sklearn")
    except ModelNotServable as exc:
        raise click.ClickException(str(exc)) from exc
    return _Champion(model, found.version, store.display)


@neuroweaver.command("evaluate")
def evaluate():
    """Print the complaint classifier's held-out scores beside a majority-class baseline, as JSON."""
    from ml.text.evaluation import evaluate_complaints

    click.echo(json.dumps(evaluate_complaints(), indent=2))
