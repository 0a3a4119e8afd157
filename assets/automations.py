"""AutoMatrix automations: one asset per automation in the automations file, downstream of the
tables its template reads, partitioned like them by rooftop and local day.

The file is read when the code location loads. A problem in it leaves out only the automation
it is in; the `automations_file` sensor names every problem in the UI until the file is fixed.
"""

import datetime as dt
import os

import dagster as dg

from assets.dms import OWNERS
from auterity_pipelines.automations.config import Automation, AutomationsFile, load_automations
from auterity_pipelines.automations.library import Scope
from auterity_pipelines.fleet import FleetError, load_fleet
from auterity_pipelines.jobs import run_is_live
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.settings import fleet_path
from auterity_pipelines.tracing import traced
from resources.channels import Channels
from resources.dms.fleet import DmsFleet
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse

GROUP = "automations"
UI_URL_ENV = "AUTERITY_UI_URL"  # where a staff message's link points; the local UI by default
RETENTION_MODEL = "service_retention"
_KINDS = {"sms": "twilio", "email": "email", "chat": "slack", "crm": "webhook"}


def automation_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


def retention_scorer(neuroweaver: NeuroWeaver, engine, dealership_id: str, now: dt.datetime):
    """ro_number → the service_retention champion's score, for the orders asked about."""

    def scores(ro_numbers: list[str]) -> dict[str, float]:
        from ml.features.frames import load_tables
        from ml.models import SERVICE_RETENTION
        from ml.registry import CHAMPION, ModelNotServable, load_alias, probabilities

        try:
            _, model = load_alias(neuroweaver.store, RETENTION_MODEL, CHAMPION)
        except ModelNotServable as exc:
            raise LookupError(f"no {RETENTION_MODEL} champion to score customers with: {exc}") from None
        frame = SERVICE_RETENTION.build(load_tables(engine, SERVICE_RETENTION.tables, [dealership_id]), now)[
            1
        ]
        frame = frame[frame["ro_number"].isin(set(ro_numbers))]
        return dict(zip(frame["ro_number"], probabilities(model, frame).astype(float)))

    return scores


# Automations started by what lead intake writes run inside the intake run itself, as its last
# steps: a hot lead's alert leaves seconds after the score, with no second run to launch.
RUNS_WITH = "auterity/runs-with"
INTAKE_WRITES = frozenset({("ml", "lead_scores"), ("events", "inbound_leads")})


def runs_with_intake(automation: Automation) -> bool:
    return bool(set(automation.template.triggered_by) & INTAKE_WRITES)


# A step retry sends again only what failed before reaching the provider (the ledger knows which).
SEND_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL)


def build_automation_asset(
    automation: Automation, rate_limits: dict[str, int], retry_policy: dg.RetryPolicy = SEND_RETRY
) -> dg.AssetsDefinition:
    template, channel = automation.template, automation.channel

    @dg.asset(
        key=automation_key(automation.name),
        deps=[dg.AssetKey(list(k)) for k in template.reads],
        partitions_def=rooftop_days,
        group_name=GROUP,
        kinds={"python", _KINDS[channel]},
        owners=OWNERS,
        tags={
            "auterity/template": template.name,
            **({RUNS_WITH: "intake"} if runs_with_intake(automation) else {}),
        },
        description=f"{automation.name} ({template.name}): {template.description}",
        retry_policy=retry_policy,
    )
    @traced
    def automation_asset(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        channels: Channels,
        dms: DmsFleet,
        neuroweaver: NeuroWeaver,
    ) -> dg.MaterializeResult:
        from auterity_pipelines.automations.runner import Context, run_automation
        from resources.channels.outbox import Outbox

        dealership_id, day = split_key(context.partition_key)
        if not automation.covers(dealership_id):
            return dg.MaterializeResult(
                metadata={"skipped": f"{automation.name} does not cover {dealership_id}"}
            )
        fleet = dms.fleet()
        dealership = fleet.get(dealership_id)
        now = dt.datetime.now(dt.UTC)
        scope = Scope(
            dealership_id=dealership_id,
            dealership_name=dealership.name,
            timezone=dealership.timezone,
            day=day,
            now=now,
            engine=warehouse.engine,
            partition_key=str(context.partition_key),
            link_base=os.environ.get(UI_URL_ENV, "http://127.0.0.1:3000"),
            retention_scores=retention_scorer(neuroweaver, warehouse.engine, dealership_id, now),
        )
        ctx = Context(
            automation=automation,
            scope=scope,
            engine=warehouse.engine,
            outbox=Outbox(channels, fleet),
            rate_limit=rate_limits[channel],
            run_id=context.run.run_id,
            run_alive=lambda run_id: run_is_live(context.instance, run_id),
            log=context.log.info,
        )
        try:
            report = run_automation(ctx)
        except LookupError as exc:  # a model the automation needs is not there: no retry brings it
            raise dg.Failure(description=f"{automation.name}: {exc}", allow_retries=False) from exc
        metadata = {
            "dealership": dealership_id,
            "day": day.isoformat(),
            "channel": channel,
            **report.metadata(),
        }
        context.log.info(
            f"{automation.name} {dealership_id} {day}: "
            + ", ".join(f"{k} {v}" for k, v in metadata.items() if isinstance(v, int))
        )
        if report.counts["retryable"]:
            # Recorded first; the retry sends only what has not gone (the claims say which).
            raise dg.Failure(
                description=f"{automation.name}: {report.counts['retryable']} message(s) failed "
                "before reaching the provider and will be retried",
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return automation_asset


def _fleet_or_none():
    try:
        return load_fleet(fleet_path())
    except FleetError:
        return None


AUTOMATIONS: AutomationsFile = load_automations(fleet=_fleet_or_none())
automation_assets = [build_automation_asset(a, AUTOMATIONS.rate_limits) for a in AUTOMATIONS.automations]
