"""AI enrichment of leads and repair-order lines through RelayCore, partitioned like their upstream."""

import dagster as dg

from assets.core import CORE_KEYS
from assets.dms import OWNERS
from assets.enrich import LEADS, REPAIR_ORDER_LINES, EnrichmentSpec, enrich_partition
from assets.intake import INBOUND_LEADS
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.tracing import traced
from resources.ai import RelayCore
from resources.warehouse import Warehouse

FAILURE_CHECK = "failure_share_within_limit"


def _enrichment_asset(
    spec: EnrichmentSpec, upstream: str, description: str, also: tuple[dg.AssetKey, ...] = ()
) -> dg.AssetsDefinition:
    key = dg.AssetKey(["enrichment", spec.table])

    @dg.asset(
        key=key,
        deps=[CORE_KEYS[upstream], *also],
        partitions_def=rooftop_days,
        group_name="enrichment",
        kinds={"python", "openai", "sql"},
        owners=OWNERS,
        pool="ai",
        description=description,
        check_specs=[
            dg.AssetCheckSpec(
                FAILURE_CHECK,
                asset=key,
                blocking=True,
                description="The share of records that could not be enriched stays under the configured limit.",
            )
        ],
        retry_policy=dg.RetryPolicy(
            max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
        ),
    )
    @traced
    def _asset(context: dg.AssetExecutionContext, relaycore: RelayCore, warehouse: Warehouse):
        from auterity_pipelines.quality.store import failed_blocking

        dealership_id, day = split_key(context.partition_key)
        blocked = failed_blocking(warehouse.engine, dealership_id, day, [upstream])
        if blocked:
            # A broken day costs no AI spend; a rerun after the sync is fixed goes through.
            raise dg.Failure(
                description=f"{dealership_id} {day}: not enriched, a blocking quality check failed: "
                + "; ".join(blocked),
                allow_retries=False,
            )
        router = relaycore.router(warehouse.engine, run_id=context.run.run_id, log=context.log.warning)
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            if done % 500 == 0:
                context.log.info(f"{spec.table}: {done} records through RelayCore")

        stats = enrich_partition(warehouse, router, spec, dealership_id, day, context.run.run_id, progress)
        limit = router.config.max_failure_share
        context.log.info(
            f"{spec.table}: {stats.records} records, {stats.unchanged} unchanged, {stats.ok} enriched, "
            f"{stats.failed} failed; {router.stats.calls} calls, {router.stats.cache_hits} cache hits, "
            f"${router.stats.cost_usd:.4f}"
        )
        yield dg.MaterializeResult(
            metadata={
                "dealership": dealership_id,
                "day": day.isoformat(),
                "prompt_version": spec.task.prompt_version,
                **stats.metadata(),
                **router.stats.metadata(),
            }
        )
        yield dg.AssetCheckResult(
            check_name=FAILURE_CHECK,
            passed=stats.failure_share <= limit,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failure_share": round(stats.failure_share, 4),
                "limit": limit,
                "failed": stats.failed,
                "sent": stats.sent,
                **(
                    {"top_reasons": "; ".join(f"{r} ×{n}" for r, n in stats.reasons.most_common(3))}
                    if stats.reasons
                    else {}
                ),
            },
        )

    return _asset


lead_enrichments = _enrichment_asset(
    LEADS,
    "leads",
    "One row per lead and prompt version: intent, vehicle of interest, urgency with its reason, "
    "preferred channel and a one-line summary.",
    also=(INBOUND_LEADS,),
)
repair_order_enrichments = _enrichment_asset(
    REPAIR_ORDER_LINES,
    "repair_order_lines",
    "One row per repair-order line and prompt version: complaint category, customer sentiment, "
    "warranty-likely flag and a short summary.",
)
