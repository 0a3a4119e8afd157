"""The answer cache and the usage ledger, both in the warehouse."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable

from sqlalchemy import Engine, insert, select

from auterity_pipelines.schema import ai_cache, ai_usage
from resources.warehouse import dialect_insert


def cache_key(task: str, prompt_version: str, model: str, redacted_input: dict) -> str:
    blob = json.dumps([task, prompt_version, model, redacted_input], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class AnswerCache:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                rows = conn.execute(
                    select(ai_cache.c.cache_key, ai_cache.c.answer).where(ai_cache.c.cache_key.in_(chunk))
                )
                found.update(dict(rows.all()))
        return found

    def put(self, key: str, task: str, prompt_version: str, model: str, answer: str) -> None:
        row = {
            "cache_key": key,
            "task": task,
            "prompt_version": prompt_version,
            "model": model,
            "answer": answer,
            "created_at": dt.datetime.now(dt.UTC),
        }
        with self.engine.begin() as conn:
            conn.execute(dialect_insert(self.engine)(ai_cache).values(row).on_conflict_do_nothing())


class Ledger:
    """Buffers `ai_usage` rows and writes them in batches; `flush` writes what is left."""

    def __init__(self, engine: Engine, batch: int = 100):
        self.engine = engine
        self.batch = batch
        self._rows: list[dict] = []
        self._lock = threading.Lock()

    def record(self, **row) -> None:
        row.setdefault("called_at", dt.datetime.now(dt.UTC))
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(ai_usage), rows)
