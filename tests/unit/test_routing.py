"""Routing policy: cheapest healthy candidate first, local last, splits by record, breakers that rest."""

from resources.ai.config import Candidate, parse_config
from resources.ai.routing import CircuitBreaker, plan, resolve_splits

CHEAP = Candidate("azure", "mini", 0.15, 0.60)
DEAR = Candidate("openai", "big", 2.0, 8.0)
SMALL_CONTEXT = Candidate("neuroweaver", "nw", 0, 0, max_input_tokens=100)
LOCAL = Candidate("local", "nw")


def ordered(candidates, tokens=50, usable=lambda p: True):
    return [c.provider for c in plan(candidates, "L-1", tokens, 300, usable, lambda p: p == "local")]


def test_the_cheapest_candidate_goes_first_and_local_only_last():
    assert ordered([DEAR, LOCAL, CHEAP, SMALL_CONTEXT]) == ["neuroweaver", "azure", "openai", "local"]


def test_a_prompt_too_long_for_a_candidate_skips_it():
    assert ordered([DEAR, LOCAL, CHEAP, SMALL_CONTEXT], tokens=5000) == ["azure", "openai", "local"]


def test_unavailable_or_resting_providers_are_left_out():
    assert ordered([DEAR, LOCAL, CHEAP], usable=lambda p: p != "azure") == ["openai", "local"]


def test_a_weighted_split_sends_each_record_to_one_side_always_and_in_proportion():
    a = Candidate("openai", "model-a", 1, 1, split="ab", weight=80)
    b = Candidate("openai", "model-b", 1, 1, split="ab", weight=20)
    picks = [resolve_splits([a, b, LOCAL], f"L-{i}") for i in range(4000)]
    assert all(len(p) == 2 and p[1] is LOCAL for p in picks)
    share_b = sum(p[0] is b for p in picks) / len(picks)
    assert 0.17 < share_b < 0.23
    assert [resolve_splits([a, b], "L-7")[0] for _ in range(5)] == [resolve_splits([a, b], "L-7")[0]] * 5


def test_the_breaker_opens_after_repeated_failures_and_closes_after_the_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown=30, clock=lambda: now[0])
    assert not breaker.failure("openai") and not breaker.failure("openai")
    breaker.success("openai")  # a success resets the streak
    assert [breaker.failure("openai") for _ in range(3)] == [False, False, True]
    assert not breaker.allows("openai") and breaker.allows("azure")
    now[0] = 31
    assert breaker.allows("openai")


def test_quotas_resolve_default_then_task_then_dealership():
    config = parse_config(
        {
            "providers": {"local": {"kind": "local"}},
            "tasks": {
                "lead_enrichment": {
                    "candidates": [{"provider": "local", "model": "x"}],
                    "quotas": {"tokens_per_day": 10},
                }
            },
            "quotas": {
                "default": {"requests_per_minute": 5, "monthly_budget_usd": 1},
                "dealerships": {
                    "a": {"monthly_budget_usd": 9, "lead_enrichment": {"requests_per_minute": 7}}
                },
            },
        }
    )
    quota = config.quota("a", "lead_enrichment")
    assert (quota.requests_per_minute, quota.tokens_per_day, quota.monthly_budget_usd) == (7, 10, 9)
    assert config.quota("b", "repair_order_enrichment").monthly_budget_usd == 1
