"""NeuroWeaver's MLflow store and the policies its training, promotion and scoring follow."""

import os

import dagster as dg

from auterity_pipelines.settings import auterity_home
from ml.registry import Store


class NeuroWeaver(dg.ConfigurableResource):
    """Where models are tracked and registered, and the thresholds that decide what ships."""

    tracking_uri: str
    # What a challenger must gain over the champion on the same holdout, in the metric its model is
    # judged by: ROC AUC for the tabular models, macro-F1 for the complaint classifier.
    promotion_margins: dict[str, float] = {"roc_auc": 0.005, "macro_f1": 0.01}  # noqa: RUF012 (pydantic copies it)
    challenger_share: float = 0.1  # leads scored by the challenger, chosen by lead id
    min_holdout_auc: float = 0.6  # blocking: a version below it never becomes champion
    max_calibration_error: float = 0.05  # blocking: expected calibration error on the holdout
    min_new_outcomes: int = 500  # labelled outcomes since the last version that trigger retraining
    max_feature_psi: float = 0.2  # drift check warns above it
    max_decile_gap: float = 0.1  # calibration-by-decile check warns above it
    drift_window_days: int = 30

    def promotion_margin(self, metric: str) -> float:
        """The margin for `metric`; a metric with none configured is an error, not a zero margin."""
        if metric not in self.promotion_margins:
            raise ValueError(
                f"no promotion margin for {metric!r} (promotion_margins: {self.promotion_margins})"
            )
        return self.promotion_margins[metric]

    @property
    def store(self) -> Store:
        return Store(self.tracking_uri)


def neuroweaver_resource() -> NeuroWeaver:
    # A tracking server's URI may carry credentials: EnvVar keeps it out of the UI and run config.
    if "MLFLOW_TRACKING_URI" in os.environ:
        return NeuroWeaver(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"))
    return NeuroWeaver(tracking_uri=Store.default(auterity_home()).tracking_uri)
