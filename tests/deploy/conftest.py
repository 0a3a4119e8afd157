import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy.engine import make_url

from auterity_pipelines.cli.instance import PRODUCTION_INSTANCE_ENV, dagster_postgres_url

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
users: [{name: none, user: {token: unused}}]
"""


def libpq(url: str) -> str:
    """A database URL as an operator writes it, and as pg_dump takes it (no SQLAlchemy driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def production_instance(url: str, home: Path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    """deploy/dagster.yaml as the instance in `home`, on the database at `url`.

    Under SQLAlchemy 2.1 a plain postgresql:// URL means psycopg 3, on which dagster-postgres
    fails to write its first event (NOTIFY with a bound parameter): the CLI's rewrite to psycopg2
    is applied, as for every process the CLI starts.
    """
    monkeypatch.setenv(PRODUCTION_INSTANCE_ENV, dagster_postgres_url(libpq(url)))
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


@pytest.fixture
def kubeconfig(tmp_path) -> str:
    """A kubeconfig naming a cluster that is never called: dagster-k8s loads one to build its client."""
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return str(path)


@pytest.fixture(autouse=True)
def live_instance():
    # Resolving definitions reads Dagster's process-wide defs-state storage, which still names the
    # last test instance after it is closed: give it a live one (as tests/test_definitions.py does).
    with dg.instance_for_test():
        yield


@pytest.fixture(scope="session")
def helm_values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


@pytest.fixture(scope="session")
def production_instance_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
