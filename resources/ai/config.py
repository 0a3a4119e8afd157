"""RelayCore's configuration: providers, task routes and quotas, from one YAML file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from auterity_pipelines.settings import PACKAGE_DIR

DEFAULT_CONFIG = PACKAGE_DIR / "relaycore.yaml"
PROVIDER_KINDS = ("openai", "azure", "anthropic", "openai_compatible", "local")


class ConfigError(ValueError):
    """The RelayCore file is wrong; the message names the entry and why."""


def config_path() -> Path:
    return Path(os.environ.get("AUTERITY_RELAYCORE_CONFIG") or DEFAULT_CONFIG)


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    kind: str
    api_key_env: str | None = None
    base_url: str | None = None
    base_url_env: str | None = None
    endpoint_env: str | None = None
    api_version: str | None = None
    max_concurrency: int = 8
    timeout_seconds: float = 30.0
    max_retries: int = 2  # the openai SDK's own retries (429, 5xx, timeouts) before RelayCore fails over
    structured_output: bool | None = None  # None: every kind but anthropic

    @property
    def external(self) -> bool:
        return self.kind != "local"

    def resolved_base_url(self) -> str | None:
        return (os.environ.get(self.base_url_env) if self.base_url_env else None) or self.base_url

    def available(self) -> bool:
        """Whether the environment configures this provider; no secret is read into the result."""
        if self.kind == "local":
            return True
        if self.kind == "openai_compatible":
            return bool(self.resolved_base_url())
        if not (self.api_key_env and os.environ.get(self.api_key_env)):
            return False
        return self.kind != "azure" or bool(self.endpoint_env and os.environ.get(self.endpoint_env))

    def uses_response_format(self) -> bool:
        return self.structured_output if self.structured_output is not None else self.kind != "anthropic"


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str
    input_per_million: float = 0.0
    output_per_million: float = 0.0
    max_input_tokens: int | None = None
    split: str | None = None  # candidates sharing a split name take records by weight (A/B)
    weight: float = 1.0

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input_per_million + tokens_out * self.output_per_million) / 1_000_000


@dataclass(frozen=True)
class Quota:
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    monthly_budget_usd: float | None = None
    on_budget_exhausted: str = "error"  # "local": fall back to the local provider; "error": fail the record


@dataclass(frozen=True)
class RelayConfig:
    providers: dict[str, ProviderConfig]
    routes: dict[str, list[Candidate]]
    default_quota: Quota = field(default_factory=Quota)
    task_quotas: dict[str, dict] = field(default_factory=dict)
    dealership_quotas: dict[str, dict] = field(default_factory=dict)
    concurrency: int = 32
    max_failure_share: float = 0.05
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 30.0

    def quota(self, dealership_id: str, task: str) -> Quota:
        """The default, then the task's overrides, then the dealership's (all tasks or one)."""
        values = dict(self.default_quota.__dict__)
        values.update(self.task_quotas.get(task, {}))
        dealer = self.dealership_quotas.get(dealership_id, {})
        values.update({k: v for k, v in dealer.items() if k in _QUOTA_FIELDS})
        values.update(dealer.get(task, {}) if isinstance(dealer.get(task), dict) else {})
        return Quota(**values)


_QUOTA_FIELDS = {f.name for f in fields(Quota)}


def _build(cls, data: dict, where: str, **extra):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {', '.join(unknown)}")
    try:
        return cls(**data, **extra)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_config(data: dict, source: str = "RelayCore config") -> RelayConfig:
    providers = {
        name: _build(ProviderConfig, spec or {}, f"{source}: provider {name}", name=name)
        for name, spec in (data.get("providers") or {}).items()
    }
    for p in providers.values():
        if p.kind not in PROVIDER_KINDS:
            raise ConfigError(
                f"{source}: provider {p.name}: kind {p.kind!r} is not one of {', '.join(PROVIDER_KINDS)}"
            )
    routes, task_quotas = {}, {}
    for task, spec in (data.get("tasks") or {}).items():
        candidates = [
            _build(Candidate, c, f"{source}: task {task} candidate {i + 1}")
            for i, c in enumerate(spec.get("candidates") or [])
        ]
        for c in candidates:
            if c.provider not in providers:
                raise ConfigError(
                    f"{source}: task {task}: candidate names provider {c.provider!r}, which is not defined"
                )
        if not candidates:
            raise ConfigError(f"{source}: task {task} has no candidates")
        routes[task] = candidates
        if spec.get("quotas"):
            task_quotas[task] = spec["quotas"]
    quotas = data.get("quotas") or {}
    breaker = data.get("circuit_breaker") or {}
    default_quota = _build(Quota, quotas.get("default") or {}, f"{source}: quotas.default")
    if default_quota.on_budget_exhausted not in ("local", "error"):
        raise ConfigError(f"{source}: quotas.default.on_budget_exhausted must be local or error")
    return RelayConfig(
        providers=providers,
        routes=routes,
        default_quota=default_quota,
        task_quotas=task_quotas,
        dealership_quotas=quotas.get("dealerships") or {},
        concurrency=int(data.get("concurrency", 32)),
        max_failure_share=float(data.get("max_failure_share", 0.05)),
        breaker_failures=int(breaker.get("failures", 5)),
        breaker_cooldown_seconds=float(breaker.get("cooldown_seconds", 30)),
    )


def load_config(path: Path | str | None = None) -> RelayConfig:
    path = Path(path) if path else config_path()
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"RelayCore config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"RelayCore config {path} is not valid YAML: {exc}") from None
    return parse_config(data or {}, str(path))
