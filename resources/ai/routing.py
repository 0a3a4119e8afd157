"""Routing policy, pure: which candidates a record tries, in which order, and which are resting."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from resources.ai.config import Candidate


def bucket(key: str, salt: str) -> float:
    """A stable number in [0, 1) for a record: the same record lands on the same side of a split."""
    return int(hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:12], 16) / 16**12


def resolve_splits(candidates: list[Candidate], record_key: str) -> list[Candidate]:
    """Keep one member of each split group, chosen by weight and the record's key."""
    chosen: dict[str, Candidate] = {}
    for name in {c.split for c in candidates if c.split}:
        members = [c for c in candidates if c.split == name]
        point = bucket(record_key, name) * sum(c.weight for c in members)
        for member in members:
            point -= member.weight
            if point < 0:
                chosen[name] = member
                break
        else:
            chosen[name] = members[-1]
    return [c for c in candidates if not c.split or chosen[c.split] is c]


def plan(
    candidates: list[Candidate],
    record_key: str,
    tokens_in: int,
    max_tokens_out: int,
    usable: Callable[[str], bool],
    is_local: Callable[[str], bool],
) -> list[Candidate]:
    """The candidates to try for one record, cheapest first; the local provider only ever last.

    A candidate is left out when its provider is unavailable or resting (`usable`), or when the
    prompt does not fit its context. Local is the offline floor: free, so never chosen ahead of
    a configured external provider, only when none is left.
    """
    fitting = [
        c
        for c in resolve_splits(candidates, record_key)
        if usable(c.provider) and (c.max_input_tokens is None or tokens_in <= c.max_input_tokens)
    ]
    return sorted(fitting, key=lambda c: (is_local(c.provider), c.cost(tokens_in, max_tokens_out)))


class CircuitBreaker:
    """Per provider: after `failures` consecutive failures, skip it for `cooldown` seconds, then try again."""

    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.failures, self.cooldown, self.clock = failures, cooldown, clock
        self._lock = threading.Lock()
        self._streak: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    def allows(self, provider: str) -> bool:
        with self._lock:
            return self.clock() >= self._open_until.get(provider, 0.0)

    def failure(self, provider: str) -> bool:
        """Count a failure; True when this one opens the breaker."""
        with self._lock:
            self._streak[provider] = self._streak.get(provider, 0) + 1
            if self._streak[provider] >= self.failures:
                self._streak[provider] = 0
                self._open_until[provider] = self.clock() + self.cooldown
                return True
            return False

    def success(self, provider: str) -> None:
        with self._lock:
            self._streak[provider] = 0
