"""NeuroWeaver's models as assets: trained and registered as challenger, checked, then promoted or not."""

import datetime as dt

import dagster as dg

from assets.core import CORE_KEYS
from assets.dms import OWNERS
from auterity_pipelines.k8s import SCORING_POD, TRAINING_STEP
from auterity_pipelines.schema import ENRICHMENT_TABLES
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse

AUC_CHECK = "holdout_auc_above_floor"
CALIBRATION_CHECK = "calibration_error_within_limit"
BASELINE_CHECK = "beats_majority_baseline"
KINDS = {"python", "scikitlearn", "mlflow"}
_TABLE_KEYS = {
    **{key.path[-1]: key for key in CORE_KEYS.values()},
    **{name: dg.AssetKey(["enrichment", name]) for name in ENRICHMENT_TABLES},
}


def model_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["ml", name])


def champion_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["ml", f"{name}_champion"])


def _version_metadata(neuroweaver: NeuroWeaver, name: str, logged) -> dict:
    metadata = {
        "mlflow_run_id": logged.run_id,
        "mlflow_experiment_id": logged.experiment_id,
        "model_version": logged.version,
        "model_uri": f"models:/{name}/{logged.version}",
    }
    if neuroweaver.store.display.startswith("http"):  # an embedded store has no page to link to
        metadata["mlflow_run"] = dg.MetadataValue.url(logged.run_url(neuroweaver.store))
    return metadata


def _name_challenger(context, neuroweaver: NeuroWeaver, name: str, version: str, checks: list) -> None:
    from ml.registry import name_challenger

    failed = [c.check_name for c in checks if not c.passed]
    if name_challenger(neuroweaver.store, name, version, failed):
        context.log.info(f"{name} version {version} passed its checks: it is the challenger")
    else:
        context.log.warning(
            f"{name} version {version} failed {', '.join(failed)}: registered, given no alias"
        )


def _tabular_model_asset(model) -> dg.AssetsDefinition:
    key = model_key(model.name)

    @dg.asset(
        key=key,
        deps=[_TABLE_KEYS[t] for t in model.tables],
        group_name="ml",
        kinds=KINDS,
        owners=OWNERS,
        op_tags=TRAINING_STEP,
        description=f"{model.description} Trained on every labelled record, registered as `challenger`.",
        check_specs=[
            dg.AssetCheckSpec(
                AUC_CHECK, asset=key, blocking=True, description="Holdout ROC AUC is above the floor."
            ),
            dg.AssetCheckSpec(
                CALIBRATION_CHECK,
                asset=key,
                blocking=True,
                description="Holdout calibration error is within the limit.",
            ),
        ],
    )
    def _train(context: dg.AssetExecutionContext, warehouse: Warehouse, neuroweaver: NeuroWeaver):
        from ml.features.frames import load_tables, without_blocked_days
        from ml.lifecycle import train_challenger
        from ml.training import TrainingSetError

        as_of = dt.datetime.now(dt.UTC)
        # Never learn from a rooftop-day a blocking quality check stopped.
        tables, excluded = without_blocked_days(warehouse.engine, load_tables(warehouse.engine, model.tables))
        context.log.info(
            f"{model.name}: features from {', '.join(f'{t} ({len(f)})' for t, f in tables.items())}; "
            f"{excluded} rows of days that failed a blocking quality check left out"
        )
        try:
            trained, logged = train_challenger(
                neuroweaver.store, model, tables, as_of, {"dagster_run_id": context.run.run_id}
            )
        except TrainingSetError as exc:
            raise dg.Failure(description=f"nothing registered: {exc}", allow_retries=False) from exc
        scores = trained.scores
        context.log.info(
            f"{model.name} version {logged.version}: holdout ROC AUC {scores.roc_auc:.4f}, "
            f"calibration error {scores.calibration_error:.4f}"
        )
        yield dg.MaterializeResult(
            metadata={
                **_version_metadata(neuroweaver, model.name, logged),
                "roc_auc": scores.roc_auc,
                "pr_auc": scores.pr_auc,
                "brier": scores.brier,
                "calibration_error": scores.calibration_error,
                "positive_rate": scores.positive_rate,
                "training_rows": len(trained.train),
                "rows_left_out_by_quality_checks": excluded,
                "holdout_rows": len(trained.holdout),
                "labelled_outcomes": model.matured_outcomes(warehouse.engine, as_of),
                "top_features": ", ".join(trained.importances.sort_values(ascending=False).index[:5]),
                "learning_curve": dg.MetadataValue.md(
                    "| labelled rows | holdout ROC AUC |\n| ---: | ---: |\n"
                    + "\n".join(f"| {p.rows:,} | {p.roc_auc:.4f} |" for p in trained.curve)
                ),
            }
        )
        checks = [
            dg.AssetCheckResult(
                check_name=AUC_CHECK,
                passed=scores.roc_auc >= neuroweaver.min_holdout_auc,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"roc_auc": scores.roc_auc, "floor": neuroweaver.min_holdout_auc},
            ),
            dg.AssetCheckResult(
                check_name=CALIBRATION_CHECK,
                passed=scores.calibration_error <= neuroweaver.max_calibration_error,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "calibration_error": scores.calibration_error,
                    "limit": neuroweaver.max_calibration_error,
                },
            ),
        ]
        _name_challenger(context, neuroweaver, model.name, logged.version, checks)
        yield from checks

    return _train


def _champion_asset(name: str, promote) -> dg.AssetsDefinition:
    @dg.asset(
        key=champion_key(name),
        deps=[model_key(name)],
        group_name="ml",
        kinds={"python", "mlflow"},
        owners=OWNERS,
        op_tags=SCORING_POD,  # scores the holdout with both versions
        description=f"The `champion` alias of {name}: moved to the challenger only when it wins on the same holdout.",
    )
    def _champion(context: dg.AssetExecutionContext, neuroweaver: NeuroWeaver) -> dg.MaterializeResult:
        promoted, reason, champion, metadata = promote(neuroweaver)
        context.log.info(f"{name}: {reason}")
        return dg.MaterializeResult(
            metadata={"promoted": promoted, "reason": reason, "champion_version": champion, **metadata}
        )

    return _champion


def _promote_tabular(name: str):
    def promote(neuroweaver: NeuroWeaver):
        from ml.lifecycle import promote

        result = promote(neuroweaver.store, name, neuroweaver.promotion_margin("roc_auc"))
        champion = result.challenger_version if result.decision.promote else result.champion_version
        metadata = {
            "challenger_version": result.challenger_version,
            "challenger_roc_auc": result.challenger_scores.roc_auc,
            **(
                {"previous_champion_roc_auc": result.champion_scores.roc_auc}
                if result.champion_scores
                else {}
            ),
        }
        return result.decision.promote, result.decision.reason, champion, metadata

    return promote


def _promote_complaints(neuroweaver: NeuroWeaver):
    from ml.text import registry

    decision, champion = registry.promote(neuroweaver.store, neuroweaver.promotion_margin("macro_f1"))
    return decision.promote, decision.reason, champion, {}


@dg.asset(
    key=model_key("complaint_classifier"),
    group_name="ml",
    kinds=KINDS,
    owners=OWNERS,
    op_tags=TRAINING_STEP,
    description="The text classifier behind the `local` enrichment provider and `neuroweaver serve`, "
    "trained on NHTSA complaints and service requests, registered as `challenger`.",
    check_specs=[
        dg.AssetCheckSpec(
            BASELINE_CHECK,
            asset=model_key("complaint_classifier"),
            blocking=True,
            description="Holdout macro-F1 beats always answering the commonest category.",
        )
    ],
)
def complaint_classifier(context: dg.AssetExecutionContext, neuroweaver: NeuroWeaver):
    from ml.text import registry

    found = registry.train_challenger(neuroweaver.store, {"dagster_run_id": context.run.run_id})
    if not found.new:
        context.log.info(
            f"training data and code unchanged: version {found.version} stands, nothing registered"
        )
    scores = found.scores
    yield dg.MaterializeResult(
        metadata={
            "mlflow_run_id": found.run_id,
            "model_version": found.version,
            "registered_new_version": found.new,
            "accuracy": scores.accuracy,
            "macro_f1": scores.macro_f1,
            "holdout_rows": scores.n,
            "unsure_share": found.unsure.share,  # answered `other` for want of certainty
            "accuracy_when_sure": found.unsure.accuracy_when_sure,
        }
    )
    yield dg.AssetCheckResult(
        check_name=BASELINE_CHECK,
        passed=scores.macro_f1 > found.baseline.macro_f1,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"macro_f1": scores.macro_f1, "baseline_macro_f1": found.baseline.macro_f1},
    )


def _models():
    from ml.models import MODELS

    built = []
    for name, model in MODELS.items():
        built += [_tabular_model_asset(model), _champion_asset(name, _promote_tabular(name))]
    return built


model_assets = [
    *_models(),
    complaint_classifier,
    _champion_asset("complaint_classifier", _promote_complaints),
]
