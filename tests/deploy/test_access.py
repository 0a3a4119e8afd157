"""Production access (docs/operations.md, "Access"): deploy/k8s rendered by `kubectl kustomize`
and held to the guide's table and rules, with no secret value in any manifest; and the viewers'
webserver command, `dagster-webserver --read-only`, refusing a launch on loopback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from auterity_pipelines.cli.dev import wait_for
from tests.conftest import clean_environment, free_port, service_missing

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|CLIENT_ID|API_KEY|_KEY$")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        service_missing("kubectl", "PATH", FileNotFoundError("kubectl"))
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k8s")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def looks_random(token: str) -> bool:
    """A key or password's shape: long, with digits, upper and lower case mixed (not a host name)."""
    return all(re.search(c, token) for c in (r"\d", "[A-Z]", "[a-z]"))


def named(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def guide_table() -> list[dict]:
    """The access table in the operations guide: host, proxy, upstream, allowed groups."""
    section = GUIDE.read_text().split("## Access", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = []
    for row in rows:
        host, proxy, upstream, groups = (cell.strip() for cell in row.strip("|").split("|"))
        table.append({"host": host.strip("`"), "proxy": proxy.strip("`"), "upstream": upstream.strip("`"),
                      "groups": [g.strip(" `") for g in groups.split(",")]})  # fmt: skip
    return table


def proxy_settings(docs: list[dict], proxy: str) -> dict[str, str]:
    (deployment,) = [d for n, d in named(docs, "Deployment").items() if n == proxy]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (config,) = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
    return named(docs, "ConfigMap")[config]["data"]


def test_the_chart_runs_a_read_only_webserver_and_no_ingress_of_its_own(helm_values):
    webserver = helm_values["dagsterWebserver"]
    assert webserver["enableReadOnly"] is True
    assert webserver["service"] == {"type": "ClusterIP", "port": 80}
    assert helm_values["ingress"]["enabled"] is False
    # The release name the guide installs, from which the chart names the webservers' Services.
    release = re.search(r"helm upgrade --install (\S+) dagster/dagster", GUIDE.read_text()).group(1)
    upstreams = {row["upstream"] for row in guide_table()}
    assert upstreams == {f"{release}-dagster-webserver", f"{release}-dagster-webserver-read-only"}


def test_each_proxy_sends_its_groups_to_its_webserver_as_the_guide_says(rendered):
    table = guide_table()
    assert [row["proxy"] for row in table] == ["oauth2-proxy-operators", "oauth2-proxy-viewers"]
    ingress = named(rendered, "Ingress")["auterity"]
    routes = {rule["host"]: {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
              for rule in ingress["spec"]["rules"]}  # fmt: skip
    for row in table:
        settings = proxy_settings(rendered, row["proxy"])
        assert settings["OAUTH2_PROXY_PROVIDER"] == "oidc"
        assert settings["OAUTH2_PROXY_UPSTREAMS"] == f"http://{row['upstream']}:80"
        assert settings["OAUTH2_PROXY_ALLOWED_GROUPS"].split(",") == row["groups"]
        assert settings["OAUTH2_PROXY_OIDC_GROUPS_CLAIM"] == "groups"
        assert settings["OAUTH2_PROXY_REDIRECT_URL"] == f"https://{row['host']}/oauth2/callback"
        assert settings["OAUTH2_PROXY_COOKIE_SECURE"] == "true"
        assert routes[row["host"]] == {row["proxy"]}
    # Viewers never reach the operators' webserver; operators are not refused the read-only one.
    viewers = next(r for r in table if r["upstream"].endswith("read-only"))
    assert "dagster-operators" in viewers["groups"] and "dagster-viewers" in viewers["groups"]
    operators = next(r for r in table if not r["upstream"].endswith("read-only"))
    assert operators["groups"] == ["dagster-operators"]


def test_only_the_proxies_and_the_receiver_face_outward_and_metrics_stay_inside(rendered):
    ingress = named(rendered, "Ingress")["auterity"]
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"oauth2-proxy-operators", "oauth2-proxy-viewers", "auterity-receiver"}
    services = named(rendered, "Service")
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in services.values())
    policies = named(rendered, "NetworkPolicy")

    def admitting(labels: dict) -> list[dict]:
        return [p for p in policies.values()
                if all(labels.get(k) == v for k, v in p["spec"]["podSelector"].get("matchLabels", {}).items())
                and p["spec"]["podSelector"].get("matchLabels")]  # fmt: skip

    (metrics,) = admitting({"app.kubernetes.io/name": "auterity-metrics"})
    (rule,) = metrics["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert rule["ports"] == [{"port": 9464}]
    for component, who in (("dagster-webserver", "operators"), ("dagster-webserver-read-only", "viewers")):
        (policy,) = admitting({"app.kubernetes.io/instance": "dagster", "component": component})
        (rule,) = policy["spec"]["ingress"]
        assert rule["from"] == [
            {
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "oauth2-proxy", "auterity/access": who}
                }
            }
        ]
    metrics_port = named(rendered, "Deployment")["auterity-metrics"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert "metrics" in metrics_port["command"] and "serve" in metrics_port["command"]


def test_no_secret_value_is_in_any_manifest(rendered, helm_values):
    assert not [d for d in rendered if d["kind"] == "Secret"]
    for doc in rendered:
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for env in container.get("env", []):
                if SECRETISH.search(env["name"]):
                    assert "value" not in env, (doc["metadata"]["name"], env["name"])
        for key, value in doc.get("data", {}).items():
            assert not SECRETISH.search(key), (doc["metadata"]["name"], key)
            assert not [t for t in re.findall(r"[A-Za-z0-9+/_=-]{24,}", value) if looks_random(t)], (
                key,
                value,
            )
    names = {s["secretRef"]["name"] for d in named(rendered, "Deployment").values()
             for c in d["spec"]["template"]["spec"]["containers"] for s in c.get("envFrom", []) if "secretRef" in s}  # fmt: skip
    assert {"auterity-oidc-operators", "auterity-oidc-viewers", "auterity-warehouse"} <= names
    guide = GUIDE.read_text()
    assert all(
        f"auterity-oidc-{who}" in guide or "auterity-oidc-$who" in guide for who in ("operators", "viewers")
    )


def test_the_read_only_webserver_shows_runs_and_refuses_to_launch(tmp_path):
    """`dagster-webserver --read-only`, as the chart starts the viewers' webserver, on this project."""
    port = free_port()
    env = clean_environment() | {"DAGSTER_HOME": str(tmp_path), "AUTERITY_HOME": str(tmp_path / "home")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    webserver = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port),
         "-w", str(ROOT / "workspace.yaml"), "--read-only"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", webserver, 180, "dagster-webserver --read-only")
        runs = httpx.post(url, json={"query": "{ runsOrError { __typename } }"}, timeout=60).json()
        assert runs["data"]["runsOrError"]["__typename"] == "Runs"
        launch = """mutation { launchPipelineExecution(executionParams: {
            selector: {repositoryLocationName: "auterity_pipelines.definitions", repositoryName: "__repository__",
                       pipelineName: "dms_sync_job"}, runConfigData: {}}) { __typename ... on PythonError { message } } }"""
        answer = httpx.post(url, json={"query": launch}, timeout=60).json()
        assert answer["data"]["launchPipelineExecution"]["__typename"] == "UnauthorizedError", answer
        assert httpx.post(url, json={"query": "{ runsOrError { ... on Runs { results { runId } } } }"},
                          timeout=60).json()["data"]["runsOrError"]["results"] == []  # nothing was launched  # fmt: skip
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
