"""The Kubernetes Jobs that dagster-k8s would submit for our runs and steps, built without a cluster.

The run launcher is dagster-k8s's own `K8sRunLauncher`, configured as deploy/helm/values.yaml
configures it; only the Kubernetes API client that would receive the Job is replaced by one that
keeps it. Step Jobs come from `k8s_job_executor`'s own step handler, with the same stand-in.
"""

import os
import subprocess
import sys

import dagster as dg
import pytest
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.test_utils import create_run_for_test
from dagster_k8s import K8sRunLauncher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import get_user_defined_k8s_config
from kubernetes.client import ApiClient

from auterity_pipelines.definitions import defs
from auterity_pipelines.k8s import K8S_CONFIG_TAG

IMAGE = "ghcr.io/auterity/auterity-pipelines:3f2c1ab"


class KeptJobs:
    """Stands where the cluster's batch API would: keeps each Job instead of creating it."""

    def __init__(self):
        self.jobs: list[tuple[str, dict]] = []

    def create_namespaced_job(self, body, namespace, **_):
        self.jobs.append((namespace, ApiClient().sanitize_for_serialization(body)))


def _user_deployment(values: dict) -> dict:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def _container_context(deployment: dict) -> dict:
    """What the chart hands the code server when includeConfigInLaunchedRuns is on: the
    deployment's env, secrets and volumes, which every run of the code location inherits."""
    return {
        "k8s": {
            "env": deployment["env"],
            "env_secrets": [s["name"] for s in deployment["envSecrets"]],
            "volumes": deployment["volumes"],
            "volume_mounts": deployment["volumeMounts"],
        }
    }


@pytest.fixture
def launcher(helm_values, kubeconfig):
    config = helm_values["runLauncher"]["config"]["k8sRunLauncher"]
    kept = KeptJobs()
    launcher = K8sRunLauncher(
        service_account_name="dagster",
        instance_config_map="dagster-instance",
        postgres_password_secret=helm_values["global"]["postgresqlSecretName"],
        dagster_home="/opt/dagster/dagster_home",
        image_pull_policy=config["imagePullPolicy"],
        load_incluster_config=False,
        kubeconfig_file=kubeconfig,
        job_namespace="auterity",
        env_secrets=[s["name"] for s in config["envSecrets"]],
        # The chart writes runK8sConfig.containerConfig as run_k8s_config.container_config.
        run_k8s_config={"container_config": config["runK8sConfig"]["containerConfig"]},
        k8s_client_batch_api=kept,
    )
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        yield launcher, instance, kept


def _origin(job_name: str, deployment: dict) -> JobPythonOrigin:
    return JobPythonOrigin(
        job_name,
        RepositoryPythonOrigin(
            executable_path=sys.executable,
            code_pointer=ModuleCodePointer("auterity_pipelines.definitions", "defs", None),
            container_image=IMAGE,
            entry_point=["dagster"],
            container_context=_container_context(deployment),
        ),
    )


def _resources(job: dict) -> dict:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container["resources"]


JOBS = [job.name for job in defs.jobs]  # as declared: resolving them needs a live instance


@pytest.mark.parametrize("job_name", JOBS)
def test_each_job_runs_in_a_pod_of_our_image_with_the_secrets_and_its_own_size(
    job_name, launcher, helm_values
):
    launcher, instance, kept = launcher
    deployment = _user_deployment(helm_values)
    job_def = defs.resolve_job_def(job_name)
    run = create_run_for_test(
        instance, job_name=job_name, tags=job_def.tags, job_code_origin=_origin(job_name, deployment)
    )
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))

    ((namespace, job),) = kept.jobs
    assert namespace == "auterity"
    assert job["metadata"]["labels"]["dagster/job"] == job_name
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["args"][:3] == ["dagster", "api", "execute_run"]
    secrets = {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    assert secrets == {"auterity-warehouse", "auterity-providers", "auterity-dms"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AUTERITY_STEP_EXECUTOR"] == "k8s" and env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    # Secrets arrive by reference only: no value of one is written into the Job.
    assert not any("KEY" in name or "SECRET" in name for name in env)
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/opt/dagster/fleet"}

    tagged = get_user_defined_k8s_config(job_def.tags).container_config.get("resources")
    default = helm_values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]
    assert _resources(job) == (tagged or default["resources"])


def test_syncs_and_training_get_the_sizes_they_need(launcher, helm_values):
    launcher, instance, kept = launcher
    deployment = _user_deployment(helm_values)
    for name in ("dms_sync_job", "model_training_job"):
        run = create_run_for_test(
            instance,
            job_name=name,
            tags=defs.resolve_job_def(name).tags,
            job_code_origin=_origin(name, deployment),
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    sync, training_run = (_resources(job) for _, job in kept.jobs)
    assert sync["limits"]["memory"] == "1Gi"
    # The training run only hands its steps to pods of their own: it is the smallest of all.
    assert training_run["limits"]["memory"] == "512Mi"


def _training_executor(env: dict) -> str:
    """The training job's executor in a code location loaded afresh with `env`."""
    code = (
        "import dagster as dg\n"
        "from auterity_pipelines.definitions import defs\n"
        "with dg.instance_for_test():\n"
        "    print(defs.resolve_job_def('model_training_job').executor_def.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_training_runs_a_pod_per_step_where_the_deployment_says_so(helm_values):
    from auterity_pipelines.k8s import STEP_EXECUTOR_ENV

    deployment_env = {e["name"]: e["value"] for e in _user_deployment(helm_values)["env"]}
    laptop = {k: v for k, v in os.environ.items() if k != STEP_EXECUTOR_ENV}
    assert _training_executor({**laptop, STEP_EXECUTOR_ENV: deployment_env[STEP_EXECUTOR_ENV]}) == "k8s"
    assert _training_executor(laptop) == "multiprocess"
    assert K8S_CONFIG_TAG in defs.resolve_job_def("model_training_job").tags


def test_training_steps_are_jobs_of_their_own_from_dagster_k8s_step_handler(helm_values, kubeconfig):
    """k8s_job_executor's own step handler launches each training step: a pod per model, sized
    by the asset's op tags, with the deployment's image and secrets."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
    from dagster._core.execution.context_creation_job import create_context_free_log_manager
    from dagster._core.execution.retries import RetryMode
    from dagster._core.executor.step_delegating import StepHandlerContext
    from dagster._grpc.types import ExecuteStepArgs
    from dagster_k8s.executor import K8sStepHandler

    deployment = _user_deployment(helm_values)
    launcher_config = helm_values["runLauncher"]["config"]["k8sRunLauncher"]
    repository = ReconstructableRepository.for_module(
        "auterity_pipelines.definitions", "defs", container_image=IMAGE,
        container_context=_container_context(deployment),
    )  # fmt: skip
    job = repository.get_reconstructable_job("model_training_job")
    overrides = {
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": {
                "service_account_name": "dagster",
                "instance_config_map": "dagster-instance",
                "load_incluster_config": False,
                "kubeconfig_file": kubeconfig,
                "job_namespace": "auterity",
                "env_secrets": [s["name"] for s in launcher_config["envSecrets"]],
            },
        }
    }
    kept = KeptJobs()
    with dg.instance_for_test(overrides=overrides) as instance:
        job_def = defs.resolve_job_def("model_training_job")
        run = create_run_for_test(
            instance, job_name=job_def.name, tags=job_def.tags, job_code_origin=job.get_python_origin()
        )
        plan = create_execution_plan(job)
        handler = K8sStepHandler(
            image=None,
            container_context=K8sContainerContext(namespace="auterity"),
            load_incluster_config=False,
            kubeconfig_file=kubeconfig,
            k8s_client_batch_api=kept,
        )
        plan_context = PlanOrchestrationContext(
            plan_data=PlanData(
                job=job, dagster_run=run, instance=instance, execution_plan=plan,
                raise_on_error=True, retry_mode=RetryMode.DISABLED,
            ),
            log_manager=create_context_free_log_manager(instance, run),
            executor=None,  # the step handler is called directly here, as the executor would
            output_capture=None,
        )  # fmt: skip
        for step in plan.steps:
            context = StepHandlerContext(
                instance=instance,
                plan_context=plan_context,
                steps=[step],
                execute_step_args=ExecuteStepArgs(job.get_python_origin(), run.run_id, [step.key]),
                dagster_run=run,
            )
            list(handler.launch_step(context))
    memory = {}
    for namespace, manifest in kept.jobs:
        assert namespace == "auterity"
        (container,) = manifest["spec"]["template"]["spec"]["containers"]
        assert container["image"] == IMAGE
        assert {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e} == {
            "auterity-warehouse", "auterity-providers", "auterity-dms",
        }  # fmt: skip
        memory[manifest["metadata"]["labels"]["dagster/op"]] = container["resources"]["limits"]["memory"]
    trainers = {"ml__lead_conversion", "ml__service_retention", "ml__complaint_classifier"}
    assert trainers <= set(memory), memory
    assert {memory[t] for t in trainers} == {"6Gi"}
    assert all(memory[s] == "2Gi" for s in memory if s.endswith("_champion"))
    sync = get_user_defined_k8s_config(defs.resolve_job_def("dms_sync_job").tags).container_config
    assert sync["resources"]["limits"]["memory"] == "1Gi"  # training gets six times a sync's
