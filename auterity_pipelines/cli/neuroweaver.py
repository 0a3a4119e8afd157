"""`auterity neuroweaver`: NeuroWeaver's text models, served and measured."""

from __future__ import annotations

import json

import click


@click.group()
def neuroweaver():
    """NeuroWeaver: the platform's own models."""


@neuroweaver.command("serve")
@click.option("--port", type=int, default=8766, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency-ms", type=float, default=0.0, help="Answer this much later (benchmarks).")
@click.option("--rate-limit-share", type=float, default=0.0, help="Share of requests answered 429.")
@click.option("--server-error-share", type=float, default=0.0, help="Share of requests answered 500.")
@click.option("--timeout-share", type=float, default=0.0, help="Share of requests that hang.")
@click.option("--invalid-share", type=float, default=0.0, help="Share of answers that break the schema.")
def serve(port, host, latency_ms, rate_limit_share, server_error_share, timeout_share, invalid_share):
    """Serve the text models behind an OpenAI-compatible /v1/chat/completions and /v1/models."""
    import uvicorn

    from ml.serving import MODELS, NeuroWeaverServer, ServingFaults
    from ml.text.complaints import complaint_model

    complaint_model()  # trained or loaded before the first request, not during it
    shares = {
        "rate_limit": rate_limit_share,
        "server_error": server_error_share,
        "timeout": timeout_share,
        "invalid": invalid_share,
    }
    server = NeuroWeaverServer(ServingFaults(latency_ms=latency_ms, shares=shares))
    click.echo(f"NeuroWeaver endpoint on http://{host}:{port}/v1 serving {', '.join(MODELS)}")
    uvicorn.run(server.app(), host=host, port=port, log_level="warning")


@neuroweaver.command("evaluate")
def evaluate():
    """Print the complaint classifier's held-out scores beside a majority-class baseline, as JSON."""
    from ml.text.evaluation import evaluate_complaints

    click.echo(json.dumps(evaluate_complaints(), indent=2))
