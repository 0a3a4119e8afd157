"""The providers RelayCore routes to: every external one through the official `openai` SDK, and `local`."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass

from auterity_pipelines.enrichment.tasks import Task
from resources.ai.config import ProviderConfig


@dataclass(frozen=True)
class Completion:
    content: str
    tokens_in: int
    tokens_out: int
    seconds: float


class ProviderError(Exception):
    """A call that failed; `outcome` says how (rate_limited, timeout, server_error, …)."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome


def estimate_tokens(text: str) -> int:
    """An upper bound on the tokens of `text`: byte-pair tokens are at least one byte each."""
    return len(text.encode()) + 4


class OpenAIProvider:
    """OpenAI, Azure OpenAI, Anthropic's OpenAI-compatible endpoint, or any OpenAI-compatible server."""

    external = True

    def __init__(self, config: ProviderConfig):
        import openai

        self.config = config
        self.slots = threading.BoundedSemaphore(config.max_concurrency)
        common = {"timeout": config.timeout_seconds, "max_retries": config.max_retries}
        # Keys are read here, from the environment, into the client only.
        if config.kind == "azure":
            self.client = openai.AzureOpenAI(
                api_key=os.environ[config.api_key_env],
                azure_endpoint=os.environ[config.endpoint_env],
                api_version=config.api_version,
                **common,
            )
        else:
            key = os.environ.get(config.api_key_env) if config.api_key_env else None
            self.client = openai.OpenAI(
                api_key=key or "not-needed", base_url=config.resolved_base_url(), **common
            )

    def complete(self, task: Task, messages: list[dict], model: str, record: dict) -> Completion:
        import openai

        extra = {"response_format": task.response_format()} if self.config.uses_response_format() else {}
        started = time.perf_counter()
        try:
            with self.slots:
                response = self.client.chat.completions.create(
                    model=model, messages=messages, max_tokens=task.max_output_tokens, temperature=0, **extra
                )
        except openai.APITimeoutError as exc:
            raise ProviderError("timeout", f"{self.config.name}: timed out ({exc})") from None
        except openai.RateLimitError as exc:
            raise ProviderError("rate_limited", f"{self.config.name}: 429 {_message(exc)}") from None
        except openai.APIStatusError as exc:
            outcome = "server_error" if exc.status_code >= 500 else "client_error"
            raise ProviderError(outcome, f"{self.config.name}: {exc.status_code} {_message(exc)}") from None
        except openai.APIConnectionError as exc:
            raise ProviderError("connection_error", f"{self.config.name}: {exc}") from None
        usage = response.usage
        content = response.choices[0].message.content if response.choices else None
        return Completion(
            content or "",
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
            time.perf_counter() - started,
        )


def _message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error", {}).get("message", ""))[:200]
    return str(exc)[:200]


class LocalProvider:
    """NeuroWeaver's text models, in process: offline, free, and allowed to see raw text."""

    external = False

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.slots = threading.BoundedSemaphore(config.max_concurrency)

    def complete(self, task: Task, messages: list[dict], model: str, record: dict) -> Completion:
        from ml.text.enricher import enrich

        started = time.perf_counter()
        with self.slots:
            answer = json.dumps(enrich(task.name, record))
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        return Completion(answer, prompt // 4, estimate_tokens(answer) // 4, time.perf_counter() - started)


def build_provider(config: ProviderConfig) -> OpenAIProvider | LocalProvider:
    return LocalProvider(config) if config.kind == "local" else OpenAIProvider(config)
