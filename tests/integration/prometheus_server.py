"""A real Prometheus (Debian's `prometheus` package) on loopback, scraping the platform's `/metrics`
every second and evaluating `deploy/prometheus/rules.yml`, for the dashboard and rule tests."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from auterity_pipelines.cli.dev import wait_for
from tests.conftest import free_port, service_missing

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def query(self, expr: str) -> list[dict]:
        """An instant query now; fails on any error Prometheus reports (a bad expression included)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def finite(self, expr: str) -> list[dict]:
        """The query's samples that are numbers (a quantile over no observations is NaN)."""
        return [r for r in self.query(expr) if math.isfinite(float(r["value"][1]))]

    def scraped_since(self, moment: float, timeout: float = 60) -> None:
        """Wait until Prometheus holds a scrape serving figures read after `moment`, and every rule
        group has been evaluated since that scrape.

        `/metrics` serves the latest background reading: a scrape taken just after a change may
        still serve figures read before it (the reading takes seconds on a loaded machine), so the
        scrape's time alone says nothing of what it holds."""
        deadline = time.monotonic() + timeout
        read = "timestamp(auterity_metrics_snapshot_age_seconds) - auterity_metrics_snapshot_age_seconds"
        scraped = None
        while scraped is None:
            assert time.monotonic() < deadline, f"Prometheus holds no reading of /metrics made after {moment}"
            found = self.query(f"timestamp(auterity_metrics_snapshot_age_seconds) and ({read}) > {moment}")
            if found:
                scraped = float(found[0]["value"][1])
            else:
                time.sleep(0.3)
        while not all(self._evaluated_after(scraped)):
            assert time.monotonic() < deadline, f"the rules were not evaluated after the scrape at {scraped}"
            time.sleep(0.3)

    def _evaluated_after(self, moment: float) -> list[bool]:
        groups = httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return [dt.datetime.fromisoformat(g["lastEvaluation"]).timestamp() > moment for g in groups]

    def settle(self) -> None:
        self.scraped_since(time.time())

    def metric_names(self) -> set[str]:
        return set(httpx.get(f"{self.url}/api/v1/label/__name__/values", timeout=10).json()["data"])

    def rules(self) -> list[dict]:
        groups = httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


@contextmanager
def prometheus(tmp_path: Path, metrics_port: int):
    binary = shutil.which("prometheus")
    if binary is None:
        service_missing("Prometheus", "PATH (apt-get install prometheus)", FileNotFoundError("prometheus"))
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "auterity", "scrape_timeout": "1s",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }))  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(f"{url}/-/ready", process, 60, "Prometheus")
        except Exception as exc:
            raise AssertionError((tmp_path / "prometheus.log").read_text()) from exc
        yield Prometheus(url)
    finally:
        process.terminate()
        process.wait(timeout=30)
