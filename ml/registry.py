"""MLflow as NeuroWeaver's system of record: one experiment per model, versions, `champion`/`challenger`.

The tracking URI is `MLFLOW_TRACKING_URI` when set, else an SQLite file with local artifacts
under AUTERITY_HOME, so a laptop needs no server.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from ml.evaluation import calibration_figure, close_figures, importance_figure, roc_figure
from ml.learning_curve import curve_figure
from ml.training import ModelSpec, TrainedModel, model_input

CHAMPION, CHALLENGER = "champion", "challenger"
REFERENCE_ROWS = 20_000  # the training sample kept for drift checks
# Tabular models are scored in every lead-intake run, a fresh process each time. Loading a skops
# file imports every scikit-learn estimator first (about 2 s of CPU a run, most of a run's cost
# under load); a cloudpickle loads only what the model holds. The registry is written by our
# training runs alone (docs/architecture.md, "Tracking").
TABULAR_FORMAT = "cloudpickle"


class ModelNotServable(RuntimeError):
    """The alias names no version, or the version it names cannot be loaded."""


@dataclass(frozen=True)
class Store:
    tracking_uri: str

    @classmethod
    def default(cls, home: Path) -> Store:
        """`MLFLOW_TRACKING_URI` when set, else `mlflow.db` under `home`."""
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return cls(os.environ["MLFLOW_TRACKING_URI"])
        return cls(f"sqlite:///{home / 'mlflow.db'}")

    @property
    def display(self) -> str:
        """The URI without any credentials in it, for logs and messages."""
        parts = urlsplit(self.tracking_uri)
        if parts.username or parts.password:
            return urlunsplit(
                parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
            )
        return self.tracking_uri

    @property
    def artifact_root(self) -> Path | None:
        """With an SQLite store, artifacts live beside the file; a server keeps its own."""
        if self.tracking_uri.startswith("sqlite:///"):
            return Path(self.tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        return None

    def client(self):
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # runs log, they do not draw
        import mlflow
        from mlflow import MlflowClient

        if self.artifact_root:
            self.artifact_root.parent.mkdir(parents=True, exist_ok=True)
        # set_tracking_uri also exports MLFLOW_TRACKING_URI (and the registry's) for subprocesses;
        # put the user's settings back, so that they keep meaning what was configured.
        exported = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        for name, value in exported.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return MlflowClient(self.tracking_uri, self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        client = self.client()
        found = client.get_experiment_by_name(name)
        if found:
            return found.experiment_id
        location = (self.artifact_root / name).as_uri() if self.artifact_root else None
        return client.create_experiment(name, artifact_location=location)


@dataclass(frozen=True)
class LoggedVersion:
    run_id: str
    version: str
    experiment_id: str
    model_uri: str

    def run_url(self, store: Store) -> str:
        """The run's page on a tracking server."""
        return f"{store.display.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


def log_trained(
    store: Store,
    trained: TrainedModel,
    tags: dict[str, str],
    figures: dict | None = None,
) -> LoggedVersion:
    """One MLflow run: params, holdout metrics, plots, the holdout and a training sample; a new version,
    with no alias until its checks pass (`name_challenger`). Its learning curve, when it has
    one, is logged as `learning_curve_roc_auc` by rows trained on (the metric's step) and as a plot."""
    import mlflow
    from mlflow.models import infer_signature

    spec = trained.spec
    experiment = store.experiment_id(spec.name)
    store.client()
    holdout_input = model_input(trained.holdout, spec)
    with mlflow.start_run(experiment_id=experiment, tags=tags) as run:
        mlflow.log_params(
            {
                **trained.params,
                "features": ",".join(spec.features),
                "label": spec.label,
                "rows": len(trained.train),
            }
        )
        mlflow.log_metrics({f"holdout_{k}": v for k, v in trained.scores.as_dict().items()})
        for point in trained.curve or ():
            mlflow.log_metric("learning_curve_roc_auc", point.roc_auc, step=point.rows)
        y, p = trained.holdout[spec.label].astype(int), trained.predict(trained.holdout)
        plots = {
            "roc.png": roc_figure(y, p, f"{spec.name}: holdout ROC"),
            "calibration.png": calibration_figure(y, p, f"{spec.name}: calibration by decile"),
            **(figures or {}),
        }
        if trained.curve:
            plots["learning_curve.png"] = curve_figure(
                trained.curve, f"{spec.name}: holdout ROC AUC by labelled rows"
            )
        if trained.importances is not None:
            plots["feature_importance.png"] = importance_figure(
                trained.importances, f"{spec.name}: importance"
            )
        for name, figure in plots.items():
            mlflow.log_figure(figure, f"plots/{name}")
        close_figures(plots.values())
        with tempfile.TemporaryDirectory() as tmp:
            trained.holdout.to_parquet(Path(tmp) / "holdout.parquet")
            sample = trained.train.sample(min(len(trained.train), REFERENCE_ROWS), random_state=0)
            sample.to_parquet(Path(tmp) / "reference.parquet")
            mlflow.log_artifacts(tmp, "data")
        info = mlflow.sklearn.log_model(
            trained.pipeline,
            name="model",
            registered_model_name=spec.name,
            signature=infer_signature(holdout_input.head(200), p[:200]),
            input_example=holdout_input.head(5),
            pyfunc_predict_fn="predict_proba",
            serialization_format=TABULAR_FORMAT,
        )
    version = str(info.registered_model_version)
    return LoggedVersion(run.info.run_id, version, experiment, info.model_uri)


CHECKS_TAG = "auterity.checks"  # on a model version: "passed", or the blocking checks it failed


def name_challenger(store: Store, name: str, version: str, failed: list[str]) -> bool:
    """Give `version` the `challenger` alias if it failed no blocking check; tag it either way.

    Only a checked version may hold an alias that serves traffic (lead_scores sends a share of
    leads to `@challenger`): one that failed keeps its number, its tag says why, and no alias.
    """
    client = store.client()
    client.set_model_version_tag(name, version, CHECKS_TAG, ", ".join(failed) if failed else "passed")
    if failed:
        return False
    client.set_registered_model_alias(name, CHALLENGER, version)
    return True


@dataclass(frozen=True)
class Registered:
    version: str
    run_id: str


def alias_version(store: Store, name: str, alias: str) -> Registered | None:
    """The registered version an alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        found = store.client().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return Registered(str(found.version), found.run_id)


def set_alias(store: Store, name: str, alias: str, version: str) -> None:
    store.client().set_registered_model_alias(name, alias, version)


def load_alias(store: Store, name: str, alias: str, flavor: str = "pyfunc"):
    """(the registered version, its model) behind `name@alias` in an MLflow flavor; ModelNotServable else."""
    import importlib

    found = alias_version(store, name, alias)
    if found is None:
        raise ModelNotServable(f"model {name!r} has no {alias!r} version in {store.display}")
    store.client()
    try:
        loader = importlib.import_module(f"mlflow.{flavor}").load_model
        # pyfunc compares the model's pip requirements with this environment (a second of CPU a
        # load, on every scoring run); both are the same pinned project.
        quiet = {"suppress_warnings": True} if flavor == "pyfunc" else {}
        return found, loader(f"models:/{name}@{alias}", **quiet)
    except Exception as exc:
        raise ModelNotServable(f"{name}@{alias} (version {found.version}) cannot be loaded: {exc}") from exc


def run_frame(store: Store, run_id: str, name: str) -> pd.DataFrame:
    """A frame the training run logged under data/ (holdout or reference)."""
    import mlflow

    store.client()
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"data/{name}.parquet", dst_path=tmp
        )
        return pd.read_parquet(path)


def probabilities(model, frame: pd.DataFrame) -> pd.Series:
    """The positive-class probability a logged pyfunc model gives each row, its signature deciding the input."""
    from mlflow.types import DataType

    schema = model.metadata.get_input_schema()
    text = [c.name for c in schema.inputs if c.type == DataType.string]
    numbers = [c.name for c in schema.inputs if c.name not in text]
    spec = ModelSpec("", "", "", tuple(text), tuple(numbers))
    out = model.predict(model_input(frame, spec))
    values = out.to_numpy() if hasattr(out, "to_numpy") else out
    return pd.Series(values[:, 1] if values.ndim == 2 else values, index=frame.index)
