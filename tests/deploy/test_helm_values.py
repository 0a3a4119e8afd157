"""deploy/helm/values.yaml holds the wiring a deploy depends on, in the keys of the Dagster chart
the operations guide names (1.13.27, the pinned Dagster set), and agrees with deploy/dagster.yaml.

No cluster and no `helm` here: the values are read as the chart reads them. The known keys below
are those of the chart's values schema at 1.13.27 for the sections we set; a misspelt key, which
the chart would ignore or reject, fails here first.
"""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_VERSION = "1.13.27"

USER_DEPLOYMENT_KEYS = {
    "name", "image", "port", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
    "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity", "tolerations",
    "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
    "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName", "initContainers",
    "sidecarContainers", "deploymentStrategy", "replicaCount", "service",
}  # fmt: skip
K8S_RUN_LAUNCHER_KEYS = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
    "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
    "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig",
}  # fmt: skip
RUN_K8S_CONFIG_KEYS = {
    "containerConfig",
    "podSpecConfig",
    "podTemplateSpecMetadata",
    "jobSpecConfig",
    "jobMetadata",
}
POSTGRESQL_KEYS = {
    "enabled", "image", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
    "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service",
}  # fmt: skip
CONCURRENCY_KEYS = {"enabled": None, "pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
                    "runs": {"maxConcurrentRuns", "tagConcurrencyLimits"}}  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_guide_names_the_chart_version_of_the_pinned_dagster_set():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"dagster=={CHART_VERSION}" in pins
    assert f"--version {CHART_VERSION}" in (ROOT / "docs" / "operations.md").read_text()
    assert f"chart, version {CHART_VERSION}" in (ROOT / "deploy" / "helm" / "values.yaml").read_text()


def test_the_user_deployment_serves_this_code_location_from_our_image(helm_values):
    subchart = helm_values["dagster-user-deployments"]
    assert subchart["enabled"] and subchart["enableSubchart"]
    (deployment,) = subchart["deployments"]
    assert set(deployment) <= USER_DEPLOYMENT_KEYS, set(deployment) - USER_DEPLOYMENT_KEYS
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["codeServerArgs"] == ["--module-name", module]
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == module
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert f"EXPOSE {deployment['port']}" in dockerfile


def test_secrets_come_from_kubernetes_secrets_and_are_never_written(helm_values):
    (deployment,) = helm_values["dagster-user-deployments"]["deployments"]
    launcher = helm_values["runLauncher"]["config"]["k8sRunLauncher"]
    names = [s["name"] for s in deployment["envSecrets"]]
    assert names == ["auterity-warehouse", "auterity-providers", "auterity-dms"]
    assert [s["name"] for s in launcher["envSecrets"]] == names
    plain = {e["name"] for e in deployment["env"]}
    assert not plain & {
        "AUTERITY_WAREHOUSE_URL",
        "MLFLOW_TRACKING_URI",
        "OPENAI_API_KEY",
        "DAGSTER_POSTGRES_URL",
    }
    assert not any(re.search(r"KEY|SECRET|PASSWORD|TOKEN", name) for name in plain)
    assert "postgresqlPassword" not in helm_values["postgresql"]
    assert helm_values["generatePostgresqlPasswordSecret"] is False
    assert helm_values["global"]["postgresqlSecretName"]


def test_runs_launch_as_kubernetes_jobs_against_an_external_postgresql(helm_values):
    launcher = helm_values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    config = launcher["config"]["k8sRunLauncher"]
    assert set(config) <= K8S_RUN_LAUNCHER_KEYS, set(config) - K8S_RUN_LAUNCHER_KEYS
    assert set(config["runK8sConfig"]) <= RUN_K8S_CONFIG_KEYS
    postgresql = helm_values["postgresql"]
    assert set(postgresql) <= POSTGRESQL_KEYS, set(postgresql) - POSTGRESQL_KEYS
    assert postgresql["enabled"] is False and postgresql["postgresqlHost"]
    assert postgresql["postgresqlScheme"] == "postgresql+psycopg2"  # as deploy/dagster.yaml explains
    assert postgresql["service"]["port"] == 5432


def test_the_queue_limits_retries_and_monitoring_are_those_of_the_production_instance(
    helm_values, production_instance_yaml
):
    concurrency = helm_values["concurrency"]
    assert concurrency["enabled"] is True
    for section, keys in CONCURRENCY_KEYS.items():
        if keys:
            assert set(concurrency[section]) <= keys, (section, set(concurrency[section]) - keys)
    # The chart refuses limits given both here and on the run coordinator.
    queued = helm_values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert set(queued) == {"dequeueIntervalSeconds"}

    instance = production_instance_yaml
    runs = concurrency["runs"]
    assert runs["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert runs["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert concurrency["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert (
        queued["dequeueIntervalSeconds"] == instance["run_coordinator"]["config"]["dequeue_interval_seconds"]
    )
    daemon = helm_values["dagsterDaemon"]
    for helm_key, instance_key in (("runMonitoring", "run_monitoring"), ("runRetries", "run_retries")):
        mirrored = {_snake(k): v for k, v in daemon[helm_key].items() if k != "maxResumeRunAttempts"}
        assert mirrored == instance[instance_key], helm_key


def test_the_image_holds_every_package_of_the_code_location():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \./\1$", dockerfile, re.M))
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
        "include"
    ]
    assert {pattern.rstrip("*") for pattern in include} <= copied
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
