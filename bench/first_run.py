"""bench/first_run: the README's two steps on a fresh home, timed from `auterity dev`'s first start.

Starts `auterity dev` (the bundled demo fleet, its simulator on 8765) and `auterity serve-events`
on an empty AUTERITY_HOME, posts one signed ADF lead as soon as the receiver answers, and prints:
- when the lead reached the demo CRM (unscored: there is no model yet), after start and after the post;
- when it had a score (the demo_bootstrap sensor loads history and trains the first champion;
  `score_new_leads` then scores it), after start (target ≤ 600 s);
- the baseline, measured in the same run: a second lead posted once the champion exists,
  post to scored (the warm path), and the first lead's time over it.

    python -m bench.first_run [--timeout 900]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from auterity_pipelines.schema import lead_scores
from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS
from bench.events import _wait, free_port
from resources.warehouse import Warehouse

ROOFTOP = "lakeside-honda"
SIMULATOR = "http://127.0.0.1:8765"  # the demo fleet's base_url
TARGET_SECONDS = 600


def post_lead(port: int, lead_id: str) -> float:
    """Post one signed lead, as the README shows; returns when it was accepted."""
    body = (
        f"<adf><prospect><id source='bench'>{lead_id}</id><requestdate>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
        "</requestdate><vehicle interest='buy'><year>2026</year><make>Honda</make><model>CR-V</model></vehicle>"
        "<customer><contact><name part='first'>Maria</name><name part='last'>Lopez</name>"
        "<email>maria@example.com</email><phone>312-555-0199</phone></contact>"
        "<comments>Can I test drive it Saturday?</comments></customer></prospect></adf>"
    ).encode()
    stamp = str(int(time.time()))
    secret = DEMO_CREDENTIALS["AUTERITY_DEMO_WEBHOOK_SECRET"].encode()
    digest = hmac.new(secret, f"{stamp}.{ROOFTOP}.".encode() + body, hashlib.sha256).hexdigest()
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/dealerships/{ROOFTOP}/leads",
        content=body,
        headers={
            "Content-Type": "application/xml",
            "X-Auterity-Timestamp": stamp,
            "X-Auterity-Signature": f"v1={digest}",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return time.monotonic()


def delivered(lead_id: str) -> dict | None:
    posts = httpx.get(f"{SIMULATOR}/_crm/{ROOFTOP}/leads", timeout=5).json()["leads"]
    return next((p for p in posts if p["lead"]["source_id"] == f"bench:{lead_id}"), None)


def scored(warehouse: Warehouse, lead_id: str) -> bool:
    with warehouse.engine.connect() as conn:
        query = select(lead_scores.c.score).where(lead_scores.c.lead_id == f"bench:{lead_id}")
        return conn.execute(query).first() is not None


def until(condition, deadline: float, every: float = 1.0):
    while time.monotonic() < deadline:
        try:
            found = condition()
        except Exception:  # the stores and the CRM may not be there yet
            found = None
        if found:
            return found
        time.sleep(every)
    raise TimeoutError("not reached before the timeout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="auterity-first-run-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTERITY_", "DAGSTER_", "MLFLOW_"))}
    env["AUTERITY_HOME"] = str(home)
    cli = [sys.executable, "-m", "auterity_pipelines.cli.main"]
    ui_port, events_port = free_port(), free_port()
    quiet = {
        "env": env,
        "start_new_session": True,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    started = time.monotonic()
    dev = subprocess.Popen([*cli, "dev", "--port", str(ui_port)], **quiet)
    receiver = None
    try:
        _wait(f"{SIMULATOR}/_sim/health", 300)
        receiver = subprocess.Popen([*cli, "serve-events", "--port", str(events_port)], **quiet)
        _wait(f"http://127.0.0.1:{events_port}/health", 120)
        warehouse = Warehouse(url=f"sqlite:///{home / 'warehouse.db'}")
        deadline = started + args.timeout
        posted = post_lead(events_port, "first")
        message = until(lambda: delivered("first"), deadline)
        reached = time.monotonic()
        until(lambda: scored(warehouse, "first"), deadline, every=2.0)
        first_scored = time.monotonic()
        warm_posted = post_lead(events_port, "warm")
        until(lambda: scored(warehouse, "warm"), deadline + 120, every=0.5)
        warm = time.monotonic() - warm_posted
    finally:
        for process in (receiver, dev):
            if process is not None:
                os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
                process.wait(timeout=180)
    print(f"posted {posted - started:.0f} s after `auterity dev` started")
    print(
        f"delivered to the CRM unscored: {reached - started:.0f} s after start, {reached - posted:.0f} s after "
        f"the post (score {message['score']}, reason: {message.get('unscored_reason')})"
    )
    print(
        f"scored: {first_scored - started:.0f} s after start (target ≤ {TARGET_SECONDS} s: "
        f"{(first_scored - started) / TARGET_SECONDS:.2f} of it)"
    )
    print(
        f"baseline, the warm path in the same run: a lead posted once the champion exists was scored "
        f"{warm:.1f} s after its post; the first lead took {(first_scored - posted) / warm:.0f}× that"
    )


if __name__ == "__main__":
    main()
