"""bench/events: from a signed ADF POST to a scored lead, through the receiver and the real Dagster daemon.

Prints, with the `inbox_events` sensor (minimum interval 2 s; the daemon loops every 5 s) and the run queue read every second:
- lone leads: post→scored latency over N leads posted one at a time (target p95 ≤ 15 s);
- load: leads from several rooftops posted at random over a minute (target p95 ≤ 30 s, none
  left behind);
- crash: leads posted while the receiver is killed and restarted and the daemon is killed
  and restarted; events acknowledged but never scored (lost) and leads posted twice to the
  CRM (duplicated), targets 0 and 0;
- the baseline, measured in the same run: the same intake materialized in-process, no daemon.

    python -m bench.events [--lone 20] [--load 200] [--rooftops 5] [--seconds 60] [--crash 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines.events.signing import headers
from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.schema import events_inbox, lead_scores
from resources.warehouse import Warehouse

SECRET = "bench-webhook-secret"
NOW = dt.datetime.now(dt.UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def adf(lead_id: str) -> bytes:
    return f"""<?xml version="1.0"?><adf><prospect><id source="bench">{lead_id}</id>
<requestdate>{NOW.isoformat()}</requestdate>
<vehicle interest="buy"><year>2026</year><make>Honda</make><model>CR-V</model></vehicle>
<customer><contact><name part="full">Pat Bench</name><email>pat{lead_id}@example.com</email>
<phone>312-555-0100</phone></contact><comments>Ready to buy this week, can I test drive?</comments></customer>
<provider><name part="full">dealer website</name></provider></prospect></adf>""".encode()


class Crm:
    def __init__(self):
        self.posts: Counter = Counter()

    async def post(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.posts[body["lead"]["source_id"]] += 1
        return JSONResponse({"ok": True})


class Platform:
    """`auterity dev` and `auterity serve-events` on a temporary home, each restartable."""

    def __init__(self, root: Path, rooftops: list[str], crm_url: str):
        self.home = root / "home"
        self.ui_port, self.sim_port, self.events_port = free_port(), free_port(), free_port()
        fleet = {
            "dealerships": [
                {
                    "id": r,
                    "name": r,
                    "timezone": "America/Chicago",
                    "webhook_secret_env": "BENCH_WEBHOOK_SECRET",
                    "crm_webhook_url": crm_url,
                    "dms": {"kind": "extract", "path": str(root / "extracts" / r)},
                }
                for r in rooftops
            ]
        }
        (root / "fleet.yaml").write_text(yaml.safe_dump(fleet))
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AUTERITY_", "DAGSTER_", "MLFLOW_"))
        }
        self.env.update(
            AUTERITY_HOME=str(self.home), AUTERITY_FLEET=str(root / "fleet.yaml"), BENCH_WEBHOOK_SECRET=SECRET
        )
        self.dev = self.receiver = None
        self.warehouse = Warehouse(url=f"sqlite:///{self.home / 'warehouse.db'}")

    def _start(self, *args) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "auterity_pipelines.cli.main", *args],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_dev(self) -> None:
        self.dev = self._start(
            "dev", "--port", str(self.ui_port), "--simulator-port", str(self.sim_port), "--extract-days", "0"
        )
        _wait(f"http://127.0.0.1:{self.ui_port}/server_info", 300)

    def start_receiver(self) -> None:
        self.receiver = self._start("serve-events", "--port", str(self.events_port))
        _wait(f"http://127.0.0.1:{self.events_port}/health", 60)

    def stop(self, process: subprocess.Popen, sig=signal.SIGINT) -> None:
        os.killpg(process.pid, sig)
        process.wait(timeout=120)

    def post(self, rooftop: str, lead_id: str) -> bool:
        body = adf(lead_id)
        try:
            answer = httpx.post(
                f"http://127.0.0.1:{self.events_port}/v1/dealerships/{rooftop}/leads",
                content=body,
                headers={**headers(SECRET, body, rooftop), "Content-Type": "application/xml"},
                timeout=10,
            )
        except httpx.TransportError:
            return False
        return answer.status_code == 202

    def post_until_accepted(self, rooftop: str, lead_id: str) -> float:
        """Post like a real sender: again after a refusal or a dropped connection; returns when accepted."""
        while not self.post(rooftop, lead_id):
            time.sleep(0.5)
        return time.monotonic()

    def scored(self) -> set[str]:
        try:
            with self.warehouse.engine.connect() as conn:
                return set(conn.execute(select(lead_scores.c.lead_id)).scalars())
        except Exception:
            return set()

    def statuses(self) -> Counter:
        with self.warehouse.engine.connect() as conn:
            return Counter(conn.execute(select(events_inbox.c.status)).scalars())


def _wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def register_champion(home: Path) -> None:
    """A lead conversion champion trained on simulated history, in the store the runs read."""
    from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.frames import contract_frames
    from ml.lifecycle import promote, train_challenger
    from ml.models import LEAD_CONVERSION
    from ml.registry import Store, name_challenger

    dms = RooftopDms("bench-history", SimulatorSettings(now=NOW))
    tables = contract_frames(
        dms, "bench-history", ["leads", "customers", "deals", "repair_orders"], EPOCH, NOW
    )
    tables["lead_enrichments"] = None
    store = Store.default(home)
    _, logged = train_challenger(store, LEAD_CONVERSION, tables, NOW, {"purpose": "bench/events"})
    name_challenger(store, "lead_conversion", logged.version, [])
    promote(store, "lead_conversion", 0.0)


def baseline(root: Path, fleet_file: Path, home: Path) -> tuple[float, float]:
    """The intake of one lead materialized in this process (modules already imported), twice: the work without a daemon."""
    import dagster as dg

    from assets.enrichment import lead_enrichments
    from assets.intake import crm_deliveries, inbound_leads, local_day
    from assets.scoring import lead_scores as lead_scores_asset
    from auterity_pipelines.adf import parse_adf
    from auterity_pipelines.partitions import partition_key
    from ml.registry import Store
    from resources.ai import RelayCore
    from resources.dms.fleet import DmsFleet
    from resources.events.inbox import Incoming, store
    from resources.mlflow import NeuroWeaver

    warehouse = Warehouse(url=f"sqlite:///{root / 'baseline.db'}")
    warehouse.upgrade()
    assets = [inbound_leads, lead_enrichments, lead_scores_asset, crm_deliveries]
    resources = {
        "dms": DmsFleet(fleet_file=str(fleet_file)),
        "warehouse": warehouse,
        "relaycore": RelayCore(),
        "neuroweaver": NeuroWeaver(tracking_uri=Store.default(home).tracking_uri),
    }
    timings = []
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealerships", ["bench-rooftop-0"])
        for n in range(2):
            (lead,) = parse_adf(adf(f"baseline-{n}")).leads
            store(
                warehouse,
                "bench-rooftop-0",
                [Incoming("lead.received", lead, f"lead:{lead['source_id']}")],
                "webhook",
            )
            key = partition_key("bench-rooftop-0", local_day(dt.datetime.now(dt.UTC), "America/Chicago"))
            started = time.perf_counter()
            dg.materialize(
                assets,
                resources=resources,
                partition_key=key,
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            timings.append(time.perf_counter() - started)
    return timings[0], timings[1]


class Watcher:
    """Notes when each lead's score first appears, polling the warehouse from the start of a phase."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for lead in self.platform.scored() - set(self.first_seen):
                self.first_seen[lead] = now
            time.sleep(0.25)

    def latencies(self, posted: dict[str, float], seconds: float) -> dict[str, float]:
        """Post→scored per lead, waiting up to `seconds` for the stragglers; then the watcher stops."""
        deadline = time.monotonic() + seconds
        while set(posted) - set(self.first_seen) and time.monotonic() < deadline:
            time.sleep(0.5)
        self._stop.set()
        self._thread.join()
        return {lead: self.first_seen[lead] - at for lead, at in posted.items() if lead in self.first_seen}


def report(name: str, latencies: dict[str, float], posted: int, target: float) -> None:
    values = sorted(latencies.values())
    if not values:
        print(f"{name}: nothing scored of {posted}")
        return
    p95 = values[max(0, round(0.95 * len(values)) - 1)]
    print(
        f"{name}: {len(values)}/{posted} scored; latency p50 {statistics.median(values):.1f} s, "
        f"p95 {p95:.1f} s, max {values[-1]:.1f} s (target p95 ≤ {target:.0f} s); "
        f"left behind {posted - len(values)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lone", type=int, default=20)
    parser.add_argument("--load", type=int, default=200)
    parser.add_argument("--rooftops", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--crash", type=int, default=60)
    args = parser.parse_args()
    rooftops = [f"bench-rooftop-{i}" for i in range(args.rooftops)]
    crm = Crm()
    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,  # the daemon may still be writing
        serve_app_in_thread(
            Starlette(routes=[Route("/leads", crm.post, methods=["POST"])]), "CRM"
        ) as crm_url,
    ):
        platform = Platform(Path(tmp), rooftops, f"{crm_url}/leads")
        started = time.perf_counter()
        register_champion(platform.home)
        print(
            f"champion registered in {time.perf_counter() - started:.0f} s; inbox_events sensor: minimum interval 2 s, evaluated at most every 5 s by the daemon; run queue read every 1 s; intake runs: 1 per rooftop-day, 2 in all"
        )
        os.environ["BENCH_WEBHOOK_SECRET"] = SECRET
        cold, warm = baseline(Path(tmp), Path(tmp) / "fleet.yaml", platform.home)
        print(f"baseline: one lead's intake in this process, no daemon: {cold:.1f} s, then {warm:.1f} s")
        platform.start_dev()
        platform.start_receiver()

        posted: dict[str, float] = {}
        lone: dict[str, float] = {}
        for n in range(args.lone):
            lead = f"bench:lone-{n}"
            watcher = Watcher(platform)
            posted[lead] = platform.post_until_accepted(rooftops[0], lead.split(":")[1])
            lone |= watcher.latencies({lead: posted[lead]}, 120)
        report("lone leads", lone, args.lone, 15)

        load_posted: dict[str, float] = {}
        schedule = sorted(
            (random.uniform(0, args.seconds), f"bench:load-{n}", random.choice(rooftops))
            for n in range(args.load)
        )
        begin = time.monotonic()

        def sender(at: float, lead: str, rooftop: str) -> None:
            time.sleep(max(0.0, begin + at - time.monotonic()))
            load_posted[lead] = platform.post_until_accepted(rooftop, lead.split(":")[1])

        watcher = Watcher(platform)
        threads = [threading.Thread(target=sender, args=item) for item in schedule]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report(
            f"load ({args.load} leads, {args.rooftops} rooftops, {args.seconds:.0f} s)",
            watcher.latencies(load_posted, 300),
            args.load,
            30,
        )

        if not args.crash:
            platform.stop(platform.receiver)
            platform.stop(platform.dev)
            return
        crash_posted: dict[str, float] = {}
        crash_leads = [(f"bench:crash-{n}", random.choice(rooftops)) for n in range(args.crash)]

        def crash_sender() -> None:
            for lead, rooftop in crash_leads:
                crash_posted[lead] = platform.post_until_accepted(rooftop, lead.split(":")[1])
                time.sleep(0.3)

        watcher = Watcher(platform)
        thread = threading.Thread(target=crash_sender)
        thread.start()
        time.sleep(5)
        platform.stop(platform.receiver, signal.SIGKILL)
        time.sleep(2)
        platform.start_receiver()
        time.sleep(5)
        platform.stop(platform.dev, signal.SIGKILL)  # the daemon, the webserver and their runs
        time.sleep(2)
        platform.start_dev()
        thread.join()
        scored = watcher.latencies(crash_posted, 420)
        lost = sorted(set(crash_posted) - set(scored))
        duplicated = sorted(lead for lead, n in crm.posts.items() if n > 1)
        print(
            f"crash (receiver killed -9 and restarted, daemon killed -9 and restarted): "
            f"{len(crash_posted)} accepted, {len(scored)} scored; lost {len(lost)}, "
            f"posted twice to the CRM {len(duplicated)} (targets 0 and 0)"
        )
        print(f"inbox statuses at the end: {dict(platform.statuses())}")
        platform.stop(platform.receiver)
        platform.stop(platform.dev)


if __name__ == "__main__":
    main()
