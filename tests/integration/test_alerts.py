"""A failed run is announced on the alert webhook and by email, with its link and its error."""

import socket

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines.loopback import serve_app_in_thread
from sensors.alerts import alert_on_run_failure


@dg.op
def refuse_the_feed():
    raise ValueError("the DMS answered 503 for three hours")


@dg.job
def doomed_job():
    refuse_the_feed()


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def channels(monkeypatch):
    posts = []

    async def hook(request: Request) -> JSONResponse:
        posts.append(await request.json())
        return JSONResponse({"ok": True})

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    with serve_app_in_thread(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])]), "alert webhook"
    ) as url:
        monkeypatch.setenv("AUTERITY_ALERT_WEBHOOK_URL", f"{url}/hook")
        monkeypatch.setenv("AUTERITY_ALERT_EMAIL_TO", "data-oncall@example.com")
        monkeypatch.setenv("AUTERITY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AUTERITY_SMTP_PORT", str(port))
        monkeypatch.setenv("AUTERITY_UI_URL", "http://dagster.internal:3000")
        yield posts, inbox
    smtp.stop()


def test_a_failed_run_is_posted_and_emailed_with_its_link_and_error(channels):
    posts, inbox = channels
    with dg.instance_for_test() as instance:
        result = doomed_job.execute_in_process(instance=instance, raise_on_error=False)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure,
        ).for_run_failure()
        alert_on_run_failure(context)
    link = f"http://dagster.internal:3000/runs/{result.run_id}"
    (post,) = posts
    assert "doomed_job failed" in post["text"] and link in post["text"]
    assert "the DMS answered 503 for three hours" in post["text"]
    ((to, email),) = inbox.messages
    assert to == ["data-oncall@example.com"] and link in email and "503 for three hours" in email


def test_the_freshness_check_flags_a_rooftop_without_a_sync_in_26_hours(tmp_path, monkeypatch):
    from assets.dms import RAW_KEYS
    from assets.freshness import freshness_job, sync_freshness
    from auterity_pipelines.partitions import partition_key
    from tests.conftest import write_fleet

    monkeypatch.setenv("AUTERITY_FLEET", str(write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:1")))
    defs = dg.Definitions(asset_checks=[sync_freshness], jobs=[freshness_job])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda", "northgate-ford"])
        import datetime as dt

        today = dt.datetime.now(dt.UTC).date()
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                RAW_KEYS["customers"], partition=str(partition_key("lakeside-honda", today))
            )
        )
        result = defs.resolve_job_def("freshness_job").execute_in_process(instance=instance)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["stale_rooftops"].value == "northgate-ford"
