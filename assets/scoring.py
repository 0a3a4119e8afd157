"""Lead scores: every new lead scored by the champion, a share by the challenger, watched for drift and calibration."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg

from assets.core import CORE_KEYS
from assets.dms import OWNERS
from assets.intake import INBOUND_LEADS
from assets.models import champion_key
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.tracing import traced
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse

LEAD_MODEL = "lead_conversion"
DRIFT_CHECK = "feature_drift_psi"
DECILE_CHECK = "observed_vs_predicted_by_decile"
MIN_DRIFT_ROWS = 100
MIN_MATURED_ROWS = 200
UNSCORED = "unscored_reason"  # metadata of a lead_scores materialization that scored nothing, and why


def current_champion(neuroweaver: NeuroWeaver) -> str | None:
    """The version `champion` names now, or None."""
    from ml.registry import CHAMPION, alias_version

    found = alias_version(neuroweaver.store, LEAD_MODEL, CHAMPION)
    return found.version if found else None


@dataclass
class ScoredPartition:
    frame: Any  # the rooftop's lead features (all leads, for drift and outcomes)
    scores: Any  # model_name, model_version, variant, score per scored lead
    champion: str
    champion_run_id: str
    challenger: str | None


def score_leads(
    warehouse: Warehouse, neuroweaver: NeuroWeaver, dealership_id: str, day: dt.date, run_id: str
) -> ScoredPartition:
    """Score the leads a partition loaded; ModelNotServable when the champion is missing or broken."""
    from ml.features.frames import load_tables
    from ml.models import LEAD_CONVERSION
    from ml.registry import CHALLENGER, CHAMPION, alias_version, load_alias
    from ml.scoring import score_frame

    store = neuroweaver.store
    champion, champion_model = load_alias(store, LEAD_MODEL, CHAMPION)
    candidate = alias_version(store, LEAD_MODEL, CHALLENGER)
    challenger = None
    if neuroweaver.challenger_share > 0 and candidate is not None and candidate.version != champion.version:
        found, model = load_alias(store, LEAD_MODEL, CHALLENGER)
        challenger = (found.version, model)
    ids = set(warehouse.partition_source_ids("leads", dealership_id, day))
    now = dt.datetime.now(dt.UTC)
    frame = LEAD_CONVERSION.build(
        load_tables(warehouse.engine, LEAD_CONVERSION.tables, [dealership_id]), now
    )[1]
    new = frame[frame["lead_id"].isin(ids)]
    scores = score_frame(
        new,
        "lead_id",
        LEAD_MODEL,
        (champion.version, champion_model),
        challenger,
        neuroweaver.challenger_share,
    )
    rows = [
        (dealership_id, lead_id, LEAD_MODEL, s.model_version, float(s.score), s.variant, now, run_id)
        for lead_id, s in zip(new["lead_id"], scores.itertuples())
    ]
    warehouse.upsert("lead_scores", rows)
    return ScoredPartition(
        frame, scores, champion.version, champion.run_id, challenger[0] if challenger else None
    )


def drift_result(neuroweaver: NeuroWeaver, scored: ScoredPartition, day: dt.date) -> dg.AssetCheckResult:
    """PSI per feature between the champion's training sample and the rooftop's last weeks of leads."""
    import pandas as pd

    from ml.drift import feature_psi
    from ml.features.leads import FEATURES
    from ml.registry import run_frame

    frame = scored.frame
    end = pd.Timestamp(day + dt.timedelta(days=1), tz="UTC")
    recent = frame[
        (frame["received_at"] < end)
        & (frame["received_at"] >= end - pd.Timedelta(days=neuroweaver.drift_window_days))
    ]
    if len(recent) < MIN_DRIFT_ROWS:
        return _not_measured(
            DRIFT_CHECK, f"fewer than {MIN_DRIFT_ROWS} recent leads", recent_leads=len(recent)
        )
    reference = run_frame(neuroweaver.store, scored.champion_run_id, "reference")
    psi = feature_psi(reference, recent, FEATURES)
    drifted = psi[psi > neuroweaver.max_feature_psi]
    return dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        passed=drifted.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_psi": float(psi.max()),
            "limit": neuroweaver.max_feature_psi,
            "drifted_features": ", ".join(drifted.index) or "none",
            "recent_leads": len(recent),
            "psi_by_feature": dg.MetadataValue.md(_table(psi.round(4).rename("psi").to_frame())),
        },
    )


def decile_result(
    warehouse: Warehouse, neuroweaver: NeuroWeaver, scored: ScoredPartition, dealership_id: str
) -> dg.AssetCheckResult:
    """Observed conversion against the champion's predictions, by decile, over leads whose 30 days have passed."""
    import pandas as pd
    from sqlalchemy import select

    from auterity_pipelines.schema import lead_scores
    from ml.evaluation import by_decile

    query = select(lead_scores.c.lead_id, lead_scores.c.score).where(
        lead_scores.c.dealership_id == dealership_id,
        lead_scores.c.model_name == LEAD_MODEL,
        lead_scores.c.model_version == scored.champion,
        lead_scores.c.variant == "champion",
    )
    with warehouse.engine.connect() as conn:
        predicted = pd.read_sql(query, conn)
    outcomes = scored.frame.dropna(subset=["converted"])[["lead_id", "converted"]]
    matured = predicted.merge(outcomes, on="lead_id")
    if len(matured) < MIN_MATURED_ROWS:
        return dg.AssetCheckResult(
            check_name=DECILE_CHECK,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "matured_scored_leads": len(matured),
                "note": f"waiting for {MIN_MATURED_ROWS} outcomes",
            },
        )
    table = by_decile(matured["converted"], matured["score"])
    gap = float((table["predicted"] - table["observed"]).abs().max())
    return dg.AssetCheckResult(
        check_name=DECILE_CHECK,
        passed=gap <= neuroweaver.max_decile_gap,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_gap": gap,
            "limit": neuroweaver.max_decile_gap,
            "matured_scored_leads": len(matured),
            "by_decile": dg.MetadataValue.md(_table(table.round(4).set_index("decile"))),
        },
    )


def _not_measured(check: str, why: str, **counts) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check, passed=True, severity=dg.AssetCheckSeverity.WARN, metadata={**counts, "note": why}
    )


def _table(frame) -> str:
    header = "| " + " | ".join([frame.index.name or "", *map(str, frame.columns)]) + " |"
    rule = "|" + "---|" * (len(frame.columns) + 1)
    body = [
        "| " + " | ".join([str(i), *map(str, row)]) + " |" for i, row in zip(frame.index, frame.to_numpy())
    ]
    return "\n".join([header, rule, *body])


LEAD_SCORES = dg.AssetKey(["ml", "lead_scores"])


# A multi-asset of one, because only a multi-asset can run without its checks (the intake job).
@dg.multi_asset(
    name="lead_scores",
    specs=[
        dg.AssetSpec(
            LEAD_SCORES,
            deps=[
                CORE_KEYS["leads"],
                INBOUND_LEADS,
                dg.AssetKey(["enrichment", "lead_enrichments"]),
                champion_key(LEAD_MODEL),
            ],
            group_name="scoring",
            kinds={"python", "mlflow", "sql"},
            owners=OWNERS,
            description="The conversion score of each lead a partition loaded: champion, or challenger for a share by lead id.",
        )
    ],
    partitions_def=rooftop_days,
    check_specs=[
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset=LEAD_SCORES,
            description="No feature's PSI against training data is above the limit.",
        ),
        dg.AssetCheckSpec(
            DECILE_CHECK,
            asset=LEAD_SCORES,
            description="Observed conversion tracks predicted, by decile, once outcomes arrive.",
        ),
    ],
    can_subset=True,
)
@traced
def lead_scores(context: dg.AssetExecutionContext, warehouse: Warehouse, neuroweaver: NeuroWeaver):
    from ml.registry import ModelNotServable

    dealership_id, day = split_key(context.partition_key)
    selected = {key.name for key in context.selected_asset_check_keys}
    try:
        scored = score_leads(warehouse, neuroweaver, dealership_id, day, context.run.run_id)
    except ModelNotServable as exc:
        # A lead never waits for a model: it goes on unscored, with the reason, and is scored when
        # a champion appears (sensors/models.py, score_new_leads).
        context.log.warning(f"{dealership_id} {day}: leads not scored: {exc}")
        champion = current_champion(neuroweaver)
        # Said to the CRM too: what happened, not where the registry lives.
        reason = (
            f"{LEAD_MODEL} version {champion} (champion) cannot be loaded"
            if champion
            else f"no {LEAD_MODEL} champion yet"
        )
        yield dg.MaterializeResult(
            metadata={
                "dealership": dealership_id,
                "day": day.isoformat(),
                "rows": 0,
                UNSCORED: reason,
                "champion_version": champion or "none",
            }
        )
        for check in sorted(selected):  # the scoring job runs only once there is a champion: say it broke
            yield dg.AssetCheckResult(
                check_name=check,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"note": f"no lead scored: {exc}"},
            )
        return
    variants = scored.scores["variant"].value_counts().to_dict()
    rows = len(scored.scores)
    context.log.info(f"{dealership_id} {day}: {rows} leads scored ({variants})")
    yield dg.MaterializeResult(
        metadata={
            "dealership": dealership_id,
            "day": day.isoformat(),
            "rows": rows,
            "champion_version": scored.champion,
            "challenger_version": scored.challenger or "none",
            "challenger_rows": int(variants.get("challenger", 0)),
            **({"mean_score": float(scored.scores["score"].mean())} if rows else {}),
        }
    )
    # The intake job leaves the monitoring checks to the scoring job: a lead waits for neither.
    if DRIFT_CHECK in selected:
        yield drift_result(neuroweaver, scored, day)
    if DECILE_CHECK in selected:
        yield decile_result(warehouse, neuroweaver, scored, dealership_id)
