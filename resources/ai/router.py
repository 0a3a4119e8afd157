"""RelayCore's router: many providers behind one call, under quotas, with a cache and a ledger.

For each record: redact, look the answer up in the cache, else try the planned candidates in
order — reserve quota, call, validate (once more with the validation error if the answer is
invalid) — failing over on timeouts, 429 and 5xx. Every call leaves an `ai_usage` row. A record
that cannot be enriched comes back failed with its reason; it never raises.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from opentelemetry.trace import SpanKind
from sqlalchemy import Engine

from auterity_pipelines import tracing
from auterity_pipelines.enrichment.redaction import Redactor
from auterity_pipelines.enrichment.tasks import AnswerError, Task
from resources.ai.config import Candidate, RelayConfig
from resources.ai.providers import ProviderError, build_provider, estimate_tokens
from resources.ai.quotas import QuotaExceeded, Quotas
from resources.ai.routing import CircuitBreaker, plan
from resources.ai.store import AnswerCache, Ledger, cache_key


@dataclass(frozen=True)
class WorkItem:
    """One record to enrich: its key, the task's input, and the names in it to redact."""

    key: str
    record: dict
    names: tuple[str, ...] = ()


@dataclass
class Outcome:
    key: str
    status: str  # ok | failed
    answer: dict | None = None
    error: str | None = None
    provider: str | None = None
    model: str | None = None
    cache_hit: bool = False


@dataclass
class RunStats:
    calls: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    failed: int = 0
    by_provider: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)

    def metadata(self) -> dict:
        return {
            "ai_calls": self.calls,
            "cache_hits": self.cache_hits,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "calls_by_provider": ", ".join(f"{p} ×{n}" for p, n in self.by_provider.most_common()) or "none",
            "call_outcomes": ", ".join(f"{o} ×{n}" for o, n in self.outcomes.most_common()) or "none",
        }


def redact_record(record: dict, names: Iterable[str]) -> dict:
    """The record as an external provider may see it: every string passed through one Redactor."""
    redactor = Redactor(tuple(names))

    def walk(value):
        if isinstance(value, str):
            return redactor(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(record)


class Router:
    def __init__(
        self,
        config: RelayConfig,
        engine: Engine,
        run_id: str | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.run_id = run_id
        self.log = log or (lambda message: None)
        self.quotas = Quotas(engine)
        self.cache = AnswerCache(engine)
        self.ledger = Ledger(engine)
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown_seconds)
        self.providers = {name: build_provider(p) for name, p in config.providers.items() if p.available()}
        self.stats = RunStats()
        self._lock = threading.Lock()

    def usable(self, provider: str) -> bool:
        return provider in self.providers and self.breaker.allows(provider)

    def is_local(self, provider: str) -> bool:
        return not self.config.providers[provider].external

    def run(self, task: Task, dealership_id: str, items: list[WorkItem]) -> Iterator[Outcome]:
        """Enrich every item, concurrently; outcomes arrive in completion order."""
        route = self.config.routes.get(task.name)
        if route is None:
            raise KeyError(f"RelayCore config has no route for task {task.name}")
        prepared = [(item, redact_record(item.record, item.names)) for item in items]
        # One query answers every record whose first choice is cached: a rerun makes no call.
        first_choice = {}  # record key -> (first candidate, its cache key)
        for item, redacted in prepared:
            planned = self._plan(route, item, redacted, task)
            if planned:
                key = cache_key(task.name, task.prompt_version, planned[0].model, redacted)
                first_choice[item.key] = (planned[0], key)
        cached = self.cache.get_many(key for _, key in first_choice.values())
        pending = []
        for item, redacted in prepared:
            candidate, key = first_choice.get(item.key, (None, None))
            if key in cached:
                yield self._cache_hit(task, dealership_id, item, candidate, cached[key])
            else:
                pending.append((item, redacted))
        try:
            with ThreadPoolExecutor(
                max_workers=self.config.concurrency, thread_name_prefix="relaycore"
            ) as pool:
                enrich = tracing.carried(lambda pair: self._enrich(task, dealership_id, route, *pair))
                yield from pool.map(enrich, pending)
        finally:
            self.ledger.flush()

    def _plan(self, route: list[Candidate], item: WorkItem, redacted: dict, task: Task) -> list[Candidate]:
        tokens = estimate_tokens(json.dumps(redacted)) + estimate_tokens(task.instructions)
        return plan(route, item.key, tokens, task.max_output_tokens, self.usable, self.is_local)

    def _cache_hit(
        self, task: Task, dealership_id: str, item: WorkItem, candidate: Candidate, answer: str
    ) -> Outcome:
        usage = self._usage(task, dealership_id, item, candidate, 0, 0, 0.0, 0.0, True)
        self._count("ok", candidate.provider, usage)
        self.ledger.record(**usage, outcome="ok", error=None)
        return Outcome(
            item.key, "ok", json.loads(answer), None, candidate.provider, candidate.model, cache_hit=True
        )

    def _enrich(
        self, task: Task, dealership_id: str, route: list[Candidate], item: WorkItem, redacted: dict
    ) -> Outcome:
        try:
            return self._enrich_record(task, dealership_id, route, item, redacted)
        except Exception as exc:  # one record's surprise never fails the others or the asset
            return self._failed(item, f"unexpected {type(exc).__name__}: {exc}")

    def _enrich_record(
        self, task: Task, dealership_id: str, route: list[Candidate], item: WorkItem, redacted: dict
    ) -> Outcome:
        errors: list[str] = []
        candidates = self._plan(route, item, redacted, task)
        quota = self.config.quota(dealership_id, task.name)
        budget_spent = False
        for candidate in candidates:
            provider = self.providers[candidate.provider]
            if budget_spent and provider.external:
                continue
            key = cache_key(task.name, task.prompt_version, candidate.model, redacted)
            hit = self.cache.get_many([key]).get(key)
            if hit is not None:
                return self._cache_hit(task, dealership_id, item, candidate, hit)
            record = redacted if provider.external else item.record
            messages = task.messages(record)
            try:
                answer = self._call_validated(
                    task, dealership_id, item, candidate, provider, messages, record, quota
                )
            except QuotaExceeded as exc:
                errors.append(str(exc))
                if quota.on_budget_exhausted != "local":
                    break
                budget_spent = True
                continue
            except ProviderError as exc:
                errors.append(str(exc))
                if self.breaker.failure(candidate.provider):
                    self.log(
                        f"{candidate.provider}: circuit open for {self.config.breaker_cooldown_seconds:.0f} s after repeated failures"
                    )
                continue
            except AnswerError as exc:
                return self._failed(
                    item,
                    f"invalid answer from {candidate.provider}/{candidate.model} after one retry: {exc}",
                    candidate,
                )
            self.breaker.success(candidate.provider)
            self.cache.put(key, task.name, task.prompt_version, candidate.model, json.dumps(answer))
            return Outcome(item.key, "ok", answer, None, candidate.provider, candidate.model)
        return self._failed(item, "; ".join(errors) or "no provider is available for this task")

    def _call_validated(
        self, task, dealership_id, item, candidate, provider, messages, record, quota
    ) -> dict:
        """One call, and one more with the validation error if the answer does not validate."""
        for attempt in (1, 2):
            content, usage = self._call(
                task, dealership_id, item, candidate, provider, messages, record, quota
            )
            try:
                answer = task.validate(content).model_dump(mode="json")
            except AnswerError as exc:
                self._count("invalid", candidate.provider, usage)
                self.ledger.record(**usage, outcome="invalid", error=str(exc)[:1000])
                if attempt == 2:
                    raise
                messages = [
                    *messages,
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer was invalid: {exc}. Answer again with one JSON object that matches the schema.",
                    },
                ]
                continue
            self._count("ok", candidate.provider, usage)
            self.ledger.record(**usage, outcome="ok", error=None)
            return answer
        raise AssertionError("unreachable")

    def _call(
        self, task, dealership_id, item, candidate, provider, messages, record, quota
    ) -> tuple[str, dict]:
        """The answer's text and its ledger row (without outcome); quota reserved before, settled after."""
        reservation = None
        if provider.external:
            tokens = sum(estimate_tokens(m["content"]) for m in messages) + task.max_output_tokens
            worst = candidate.cost(tokens - task.max_output_tokens, task.max_output_tokens)
            reservation = self.quotas.reserve(dealership_id, task.name, quota, tokens, worst)
        started = time.perf_counter()
        try:
            with tracing.span(
                f"ai {candidate.provider}",
                kind=SpanKind.CLIENT,
                auterity__provider=candidate.provider,
                auterity__model=candidate.model,
                auterity__task=task.name,
                auterity__dealership=dealership_id,
            ) as span:
                completion = provider.complete(task, messages, candidate.model, record)
                span.set_attribute("auterity.tokens_in", completion.tokens_in)
                span.set_attribute("auterity.tokens_out", completion.tokens_out)
        except ProviderError as exc:
            if reservation:
                self.quotas.settle(reservation, 0, 0.0)
            usage = self._usage(
                task, dealership_id, item, candidate, 0, 0, 0.0, time.perf_counter() - started, False
            )
            self._count(exc.outcome, candidate.provider, usage)
            self.ledger.record(**usage, outcome=exc.outcome, error=str(exc)[:1000])
            raise
        cost = candidate.cost(completion.tokens_in, completion.tokens_out)
        if reservation:
            self.quotas.settle(reservation, completion.tokens_in + completion.tokens_out, cost)
        usage = self._usage(
            task,
            dealership_id,
            item,
            candidate,
            completion.tokens_in,
            completion.tokens_out,
            cost,
            completion.seconds,
            False,
        )
        return completion.content, usage

    def _usage(
        self, task, dealership_id, item, candidate, tokens_in, tokens_out, cost, seconds, cache_hit
    ) -> dict:
        return {
            "dealership_id": dealership_id,
            "task": task.name,
            "provider": candidate.provider,
            "model": candidate.model,
            "prompt_version": task.prompt_version,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost_usd": round(cost, 8),
            "latency_ms": round(seconds * 1000),
            "cache_hit": cache_hit,
            "record_key": item.key[:200],
            "run_id": self.run_id,
        }

    def _count(self, outcome: str, provider: str, usage: dict) -> None:
        with self._lock:
            if usage["cache_hit"]:
                self.stats.cache_hits += 1
                return
            self.stats.calls += 1
            self.stats.outcomes[outcome] += 1
            self.stats.by_provider[provider] += 1
            self.stats.tokens_in += usage["tokens_in"]
            self.stats.tokens_out += usage["tokens_out"]
            self.stats.cost_usd += usage["cost_usd"]

    def _failed(self, item: WorkItem, reason: str, candidate: Candidate | None = None) -> Outcome:
        with self._lock:
            self.stats.failed += 1
        return Outcome(
            item.key,
            "failed",
            None,
            reason[:2000],
            candidate.provider if candidate else None,
            candidate.model if candidate else None,
        )
