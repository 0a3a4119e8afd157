"""What a run or a step asks of Kubernetes, as `dagster-k8s/config` tags.

On a laptop these tags are inert. On Kubernetes, the K8sRunLauncher sizes a run's pod from its
job's tags and `k8s_job_executor` sizes a step's pod from its asset's op tags
(deploy/README.md, docs/architecture.md).
"""

import os

import dagster as dg

K8S_CONFIG_TAG = "dagster-k8s/config"
STEP_EXECUTOR_ENV = "AUTERITY_STEP_EXECUTOR"  # "k8s": a pod per step in jobs that isolate steps


def pod_resources(cpu: str, memory: str, memory_limit: str) -> dict[str, dict]:
    """A `dagster-k8s/config` tag: CPU and memory requested, and the memory the pod may not exceed.

    No CPU limit: a throttled sync or training step only gets slower, an OOM-killed one starts over.
    """
    return {
        K8S_CONFIG_TAG: {
            "container_config": {
                "resources": {
                    "requests": {"cpu": cpu, "memory": memory},
                    "limits": {"memory": memory_limit},
                }
            }
        }
    }


# Training's size comes from bench/training (1.1 GB peak on 1M leads, so 6 GiB leaves room for
# growth); the code server holds 213 MB loaded (bench/scale). The others are starting points:
# revise them from the pods' observed use (a sync holds one page of records at a time).
SYNC_POD = pod_resources("250m", "512Mi", "1Gi")
AI_POD = pod_resources("250m", "512Mi", "1Gi")
SCORING_POD = pod_resources("500m", "1Gi", "2Gi")
ORCHESTRATOR_POD = pod_resources("100m", "256Mi", "512Mi")  # a run whose steps have pods of their own
TRAINING_STEP = pod_resources("2", "4Gi", "6Gi")
IDENTITY_POD = pod_resources("1", "2Gi", "4Gi")


def step_executor() -> dg.ExecutorDefinition:
    """A process per step on a laptop; a Kubernetes Job per step where AUTERITY_STEP_EXECUTOR=k8s."""
    if os.environ.get(STEP_EXECUTOR_ENV) == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return dg.multiprocess_executor
