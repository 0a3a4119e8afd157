"""NeuroWeaver's MLflow store and the policies its training, promotion and scoring follow."""

import os

import dagster as dg

from auterity_pipelines.settings import auterity_home
from ml.registry import Store


class NeuroWeaver(dg.ConfigurableResource):
    """Where models are tracked and registered, and the thresholds that decide what ships."""

    tracking_uri: str
    promotion_margin: float = 0.005  # ROC AUC a challenger must gain on the same holdout
    challenger_share: float = 0.1  # leads scored by the challenger, chosen by lead id
    min_holdout_auc: float = 0.6  # blocking: a version below it never becomes champion
    max_calibration_error: float = 0.05  # blocking: expected calibration error on the holdout
    min_new_outcomes: int = 500  # labelled outcomes since the last version that trigger retraining
    max_feature_psi: float = 0.2  # drift check warns above it
    max_decile_gap: float = 0.1  # calibration-by-decile check warns above it
    drift_window_days: int = 30

    @property
    def store(self) -> Store:
        return Store(self.tracking_uri)


def neuroweaver_resource() -> NeuroWeaver:
    # A tracking server's URI may carry credentials: EnvVar keeps it out of the UI and run config.
    if "MLFLOW_TRACKING_URI" in os.environ:
        return NeuroWeaver(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"))
    return NeuroWeaver(tracking_uri=Store.default(auterity_home()).tracking_uri)
