from pathlib import Path

import dagster as dg
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


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
