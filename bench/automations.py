"""bench/automations: AutoMatrix end to end and at scale. Prints what it measured.

1. Event → staff SMS for `hot_lead_alert` on the real platform (`auterity dev`'s daemon and
   sensors, `auterity serve-events`, the simulator's Twilio-compatible SMS server): from each
   lead's signed ADF POST to the SMS server receiving the alert naming it, for N lone leads and
   for a load of leads over a minute across several rooftops. Every lead is hot (min_score 0 on
   a registered champion), so each must give exactly one SMS: duplicates and lost are counted.
   Targets: p95 ≤ 30 s under load, 0 duplicates, 0 lost. Baseline in the same run: the same
   leads' post → scored, the step the alert follows in the intake run.
2. `service_due_reminder` over N customers of one rooftop (all due), e-mail to a real SMTP
   server, in a child process: decisions per second and peak RSS (VmHWM of the child), against
   a floor measured in the same run: the child that only imports and reads the candidates.
   Targets: under 60 s and under 500 MB.

    python -m bench.automations [--lone 20] [--load 200] [--rooftops 5] [--seconds 60] [--customers 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS
from bench.events import Crm, Platform, Watcher, free_port, register_champion

PHONE = "+15555550199"
AUTOMATIONS = """rate_limits: {sms: 1000}
automations:
  - name: bench-hot-leads
    template: hot_lead_alert
    dealerships: ["*"]
    params:
      min_score: 0.0
      notify: {channel: sms, to_env: BENCH_SALES_PHONE}
      message: "Hot lead {{ lead_id }} at {{ dealership }} ({{ why }}) {{ link }}"
"""


class AlertPlatform(Platform):
    def __init__(self, root: Path, rooftops: list[str], crm_url: str):
        super().__init__(root, rooftops, crm_url)
        (root / "automations.yaml").write_text(AUTOMATIONS)
        self.smtp_port = free_port()
        self.env.update(
            AUTERITY_AUTOMATIONS=str(root / "automations.yaml"),
            AUTERITY_SMS_ACCOUNT_SID=DEMO_CREDENTIALS["AUTERITY_SMS_ACCOUNT_SID"],
            AUTERITY_SMS_AUTH_TOKEN=DEMO_CREDENTIALS["AUTERITY_SMS_AUTH_TOKEN"],
            BENCH_SALES_PHONE=PHONE,
        )

    def start_dev(self) -> None:
        from bench.events import _wait

        self.dev = self._start(
            "dev", "--port", str(self.ui_port), "--simulator-port", str(self.sim_port), "--extract-days", "0",
            "--smtp-port", str(self.smtp_port),
        )  # fmt: skip
        _wait(f"http://127.0.0.1:{self.ui_port}/server_info", 300)

    def alerts(self) -> list[dict]:
        try:
            return httpx.get(f"http://127.0.0.1:{self.sim_port}/_sms/messages", timeout=5).json()["messages"]
        except (httpx.HTTPError, ValueError):
            return []


class AlertWatcher:
    """When the SMS naming each lead first reached the provider, and how many named it."""

    def __init__(self, platform: AlertPlatform):
        self.platform = platform
        self.first: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            now, counts = time.monotonic(), {}
            for message in self.platform.alerts():
                # "Hot lead bench:<id> at …": the lead id is the ADF source and id.
                lead = (
                    message["body"].split()[2].removeprefix("bench:")
                    if message["body"].startswith("Hot lead ")
                    else None
                )
                if lead:
                    counts[lead] = counts.get(lead, 0) + 1
                    self.first.setdefault(lead, now)
            self.count = counts
            time.sleep(0.25)

    def latencies(self, posted: dict[str, float], seconds: float) -> dict[str, float]:
        deadline = time.monotonic() + seconds
        while set(posted) - set(self.first) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # long enough for a duplicate to show
        self._stop.set()
        self._thread.join()
        return {lead: self.first[lead] - at for lead, at in posted.items() if lead in self.first}


def summary(name: str, latencies: dict[str, float], posted: dict, counts: dict, target: float) -> None:
    values = sorted(latencies.values())
    duplicates = sum(1 for lead in posted if counts.get(lead, 0) > 1)
    lost = len(posted) - len(values)
    if not values:
        print(f"{name}: no alert of {len(posted)}")
        return
    p95 = values[max(0, round(0.95 * len(values)) - 1)]
    print(
        f"{name}: {len(values)}/{len(posted)} alerted; POST → SMS p50 {statistics.median(values):.1f} s, "
        f"p95 {p95:.1f} s, max {values[-1]:.1f} s (target p95 ≤ {target:.0f} s); "
        f"duplicates {duplicates}, lost {lost} (targets 0, 0)"
    )


def end_to_end(args) -> None:
    rooftops = [f"bench-rooftop-{i}" for i in range(args.rooftops)]
    crm = Crm()
    from starlette.applications import Starlette
    from starlette.routing import Route

    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
        serve_app_in_thread(
            Starlette(routes=[Route("/leads", crm.post, methods=["POST"])]), "CRM"
        ) as crm_url,
    ):
        platform = AlertPlatform(Path(tmp), rooftops, f"{crm_url}/leads")
        register_champion(platform.home)
        platform.start_dev()
        platform.start_receiver()
        try:
            lone, scored, posted = {}, {}, {}
            for n in range(args.lone):
                lead = f"bench-lone-{n}"
                alerts, scores = AlertWatcher(platform), Watcher(platform)
                posted[lead] = platform.post_until_accepted(rooftops[0], lead)
                lone |= alerts.latencies({lead: posted[lead]}, 180)
                scored |= scores.latencies({f"bench:{lead}": posted[lead]}, 5)
            counts = AlertWatcher(platform)
            time.sleep(1)
            summary("lone leads", lone, posted, counts.count, 30)
            counts._stop.set()
            if scored:
                print(f"baseline, the same lone leads: POST → scored p50 {statistics.median(scored.values()):.1f} s "
                      f"(the alert is the intake run's step after the score); alert/scored p50 "
                      f"{statistics.median(lone.values()) / statistics.median(scored.values()):.2f}×")  # fmt: skip
            schedule = sorted(
                (random.uniform(0, args.seconds), f"bench-load-{n}", random.choice(rooftops))
                for n in range(args.load)
            )
            load_posted: dict[str, float] = {}
            begin = time.monotonic()
            watcher = AlertWatcher(platform)

            def sender(at: float, lead: str, rooftop: str) -> None:
                time.sleep(max(0.0, begin + at - time.monotonic()))
                load_posted[lead] = platform.post_until_accepted(rooftop, lead)

            threads = [threading.Thread(target=sender, args=item) for item in schedule]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            latencies = watcher.latencies(load_posted, 300)
            summary(
                f"load ({args.load} leads, {args.rooftops} rooftops, {args.seconds:.0f} s)",
                latencies, load_posted, watcher.count, 30,
            )  # fmt: skip
        finally:
            platform.stop(platform.receiver)
            platform.stop(platform.dev)


CHILD = """
import datetime as dt, json, sys, time
args = json.loads(sys.argv[1])
started = time.perf_counter()
from sqlalchemy import create_engine
from auterity_pipelines.automations.config import load_automations
from auterity_pipelines.automations.library import Scope
from auterity_pipelines.automations.runner import Context, run_automation
from auterity_pipelines.fleet import load_fleet
from pathlib import Path
from resources.channels import Channels
from resources.channels.outbox import Outbox
from resources.warehouse import Warehouse
warehouse = Warehouse(url=args["warehouse"])
fleet = load_fleet(Path(args["fleet"]))
found = load_automations(Path(args["automations"]), fleet=fleet)
(automation,) = found.automations
scope = Scope("bench-rooftop", "Bench Motors", "America/Chicago", dt.date.fromisoformat(args["day"]),
              dt.datetime.fromisoformat(args["now"]), warehouse.engine, "p", "http://ui")
imported = time.perf_counter() - started
started = time.perf_counter()
if args["floor"]:
    decisions = sum(1 for _ in automation.template.find(scope, automation.params))
    counts = {"candidates": decisions}
else:
    outbox = Outbox(Channels(smtp_port=args["smtp_port"]), fleet)
    report = run_automation(Context(automation, scope, warehouse.engine, outbox, found.rate_limits["email"], "bench"))
    counts = dict(report.counts)
seconds = time.perf_counter() - started
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "imported": imported, "peak_kb": peak, "counts": counts}))
"""


def seed(warehouse_url: str, customers: int, day: dt.date) -> None:
    from resources.warehouse import Warehouse

    warehouse = Warehouse(url=warehouse_url)
    warehouse.upgrade()
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    due = dt.datetime.combine(day, dt.time(12), dt.UTC) - dt.timedelta(days=183)
    people, orders = [], []
    for n in range(customers):
        cid = f"C{n:07d}"
        people.append(("bench-rooftop", cid, "Pat", f"Bench{n}", f"pat{n}@example.com", f"312555{n % 10000:04d}",
                       "60601", now, rng.random() < 0.7, rng.random() < 0.4))  # fmt: skip
        closed = due - dt.timedelta(days=rng.randint(0, 25), minutes=rng.randint(0, 1000))
        orders.append(
            (
                "bench-rooftop",
                f"R{n:07d}",
                cid,
                None,
                closed - dt.timedelta(hours=3),
                closed,
                250,
                f"R{n:07d}",
                now,
            )
        )
    warehouse.upsert("customers", people)
    warehouse.upsert("repair_orders", orders)


def reminders(args) -> None:
    import yaml

    from auterity_pipelines.simulator.messaging import Mailbox

    day = dt.date(2026, 11, 19)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'warehouse.db'}"
        started = time.perf_counter()
        seed(url, args.customers, day)
        print(f"seeded {args.customers:,} customers, each with a last repair order about 6 months before {day}, "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        (root / "fleet.yaml").write_text(yaml.safe_dump({"dealerships": [{
            "id": "bench-rooftop", "name": "Bench Motors", "timezone": "America/Chicago",
            "dms": {"kind": "extract", "path": str(root)}}]}))  # fmt: skip
        (root / "automations.yaml").write_text(
            "rate_limits: {email: 120}\nautomations:\n  - name: bench-due\n    template: service_due_reminder\n"
            "    dealerships: ['*']\n    params: {channel: email, months: 6, within_days: 30}\n"
        )
        mailbox = Mailbox()
        smtp_port = mailbox.start(0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_")}
        results = {}
        for floor in (True, False):
            child_args = {"warehouse": url, "fleet": str(root / "fleet.yaml"), "automations": str(root / "automations.yaml"),
                          "day": day.isoformat(), "now": dt.datetime.now(dt.UTC).isoformat(), "floor": floor,
                          "smtp_port": smtp_port}  # fmt: skip
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(child_args)], env=env, capture_output=True,
                                 text=True, check=True)  # fmt: skip
            results[floor] = json.loads(out.stdout.strip().splitlines()[-1])
        mailbox.stop()
        floor, run = results[True], results[False]
        decided = sum(run["counts"].get(k, 0) for k in ("sent", "deferred", "suppressed", "failed"))
        print(f"floor: reading the {floor['counts']['candidates']:,} candidates alone: {floor['seconds']:.1f} s, "
              f"peak RSS {floor['peak_kb'] / 1024:.0f} MB")  # fmt: skip
        print(
            f"service_due_reminder: {decided:,} decisions ({json.dumps({k: v for k, v in run['counts'].items()})}) "
            f"in {run['seconds']:.1f} s = {decided / run['seconds']:,.0f} decisions/s (target under 60 s); "
            f"peak RSS {run['peak_kb'] / 1024:.0f} MB (target under 500 MB); "
            f"{run['seconds'] / floor['seconds']:.1f}× the floor's time, {run['peak_kb'] / floor['peak_kb']:.2f}× its memory; "
            f"{len(mailbox.messages)} e-mails reached the SMTP server"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lone", type=int, default=20)
    parser.add_argument("--load", type=int, default=200)
    parser.add_argument("--rooftops", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()
    reminders(args)
    if not args.skip_end_to_end:
        end_to_end(args)


if __name__ == "__main__":
    main()
