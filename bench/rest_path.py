"""The REST path of bench/dms_load: the sync's Fortellis client against the simulator (in a
process of its own, as a DMS is), beside a plain page loop against the same simulator and the
simulator's own generation measured in process, in the same run."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
import uuid

from bench.dms_load import DAY, ROOFTOP, TZ, free_port

REST_PAGE = 500  # the fleet's default page size


def rest_generation(scale: float) -> dict:
    """The simulator's own cost for the window, in process, no HTTP: what no client can beat."""
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from resources.dms.window import Window

    settings = SimulatorSettings(now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC), scale=scale, outcomes=False)
    window = Window.local_day(DAY, TZ)
    dms = RooftopDms(ROOFTOP, settings)
    started = time.perf_counter()
    records = sum(
        1 + len(r.get("lines") or []) for _, r in dms.stream("repair_orders", window.start, window.end)
    )
    return {"records": records, "seconds": time.perf_counter() - started}


def plain_client(base: str) -> dict:
    """A page loop and nothing else: token, pages, JSON; the records counted, not kept."""
    import httpx

    from auterity_pipelines.records import format_time
    from resources.dms.window import Window

    window = Window.local_day(DAY, TZ)
    span = {"startDate": format_time(window.start), "endDate": format_time(window.end), "pageSize": REST_PAGE}
    started = time.perf_counter()
    with httpx.Client(timeout=300) as http:
        grant = {
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-client-secret",
        }
        token = http.post(f"{base}/fortellis/oauth2/token", data=grant).json()["access_token"]
        records, page, first = 0, 1, None
        while True:
            headers = {
                "Authorization": f"Bearer {token}",
                "Subscription-Id": ROOFTOP,
                "Request-Id": str(uuid.uuid4()),
            }
            body = http.get(
                f"{base}/fortellis/v1/repair-orders", headers=headers, params={**span, "page": page}
            ).json()
            first = first or time.perf_counter() - started
            records += sum(1 + len(item.get("lines") or []) for item in body["items"])
            if not body["paging"]["hasNext"]:
                break
            page += 1
    return {"records": records, "seconds": time.perf_counter() - started, "first_page_s": first}


def client_pages(base: str) -> dict:
    """The Fortellis client's pages alone (token, retries, conversion), counted, not kept."""
    from resources.dms.fortellis import FortellisClient
    from resources.dms.window import Window

    client = FortellisClient(base, "demo-client", "demo-client-secret", ROOFTOP, page_size=REST_PAGE)
    started = time.perf_counter()
    records = sum(
        1 + len(r.get("lines") or [])
        for page in client.batches("repair_orders", Window.local_day(DAY, TZ))
        for r in page
    )
    client.close()
    return {"records": records, "seconds": time.perf_counter() - started, "first_page_s": 0.0}


def client_path(base: str) -> dict:
    """The sync's REST path at its defaults: the Fortellis client paging into RawLoader (SQLite)."""
    from assets.sync import RawLoader
    from resources.dms.fortellis import FortellisClient
    from resources.dms.window import Window
    from resources.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(url=f"sqlite:///{tmp}/rest.db")
        warehouse.upgrade()
        client = FortellisClient(base, "demo-client", "demo-client-secret", ROOFTOP, page_size=REST_PAGE)
        window = Window.local_day(DAY, TZ)
        loader = RawLoader(warehouse, ROOFTOP, TZ, window, "bench")
        started, first = time.perf_counter(), []

        def progress(entity: str, n: int) -> None:
            if not first:
                first.append(time.perf_counter() - started)

        loader.load("repair_orders", client.batches("repair_orders", window), progress=progress)
        elapsed = time.perf_counter() - started
        client.close()
        return {
            "records": loader.stats["repair_orders"].rows + loader.stats["repair_order_lines"].rows,
            "seconds": elapsed,
            "first_page_s": first[0] if first else elapsed,
            "http_s": client.http_seconds,
            "retries": dict(client.retries),
        }


def rest_path(rows_target: int, page_wait: float = 0.0) -> dict:
    """The REST path against the simulator (its own process, as a DMS is), beside a plain page
    loop against the same simulator and the simulator's own generation, in the same run;
    `page_wait`: every page also waits that long, as a DMS across a network does."""
    import httpx

    scale = max(1, rows_target / (22 * 3.5))
    port = free_port()
    command = [sys.executable, "-m", "auterity_pipelines.cli.main", "dms-simulator", "--port", str(port),
               "--now", "2026-11-20T00:00:00", "--scale", f"{scale:.1f}", "--no-outcomes", "--smtp-port", "0"]  # fmt: skip
    if page_wait:
        command += ["--slow-every", "1", "--slow-seconds", str(page_wait)]
    sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/_sim/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        # Alternated, best of two each: the first to ask for the window pays the simulator's scan.
        runs = {"plain": [], "pages": [], "client": []}
        for _ in range(2):
            runs["plain"].append(plain_client(base))
            runs["pages"].append(client_pages(base))
            runs["client"].append(client_path(base))
        best = {name: min(results, key=lambda r: r["seconds"]) for name, results in runs.items()}
        best["first_pages"] = [r["first_page_s"] for name in ("plain", "client") for r in runs[name]]
        best["generation"] = rest_generation(scale)
        return best
    finally:
        sim.terminate()
        sim.wait()
