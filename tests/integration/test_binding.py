"""On the embedded defaults every server binds 127.0.0.1 only: the simulator (and its mailbox),
the event receiver, NeuroWeaver and the metrics endpoint, each started as a user starts it.
(`auterity dev`'s UI, daemon and code server: tests/integration/test_dev.py.) Another address is
an explicit option, and the command warns."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from auterity_pipelines.cli.dev import wait_for
from tests.conftest import clean_environment, free_port


def listening(pid: int) -> set[tuple[str, int]]:
    """The TCP addresses a process and its children listen on."""
    process = psutil.Process(pid)
    found = set()
    for member in [process, *process.children(recursive=True)]:
        found |= {(c.laddr.ip, c.laddr.port) for c in member.net_connections("inet") if c.status == "LISTEN"}
    return found


def started(tmp_path, args: list[str], health: str, port: int):
    env = clean_environment() | {"AUTERITY_HOME": str(tmp_path / "home")}
    server = subprocess.Popen([sys.executable, "-m", "auterity_pipelines.cli.main", *args, "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}{health}", server, 180, " ".join(args))
    except Exception as exc:
        server.kill()
        raise AssertionError(f"{args} did not answer: {server.stderr.read()[-2000:]}") from exc
    return server


def stopped(server: subprocess.Popen) -> str:
    server.terminate()
    try:
        _, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
    return err


SERVERS = {
    "simulator": (["dms-simulator"], "/_sim/health"),
    "receiver": (["serve-events"], "/health"),
    "neuroweaver": (["neuroweaver", "serve"], "/v1/models"),
    "metrics": (["metrics", "serve"], "/metrics"),
}


@pytest.mark.parametrize("name", SERVERS)
def test_each_server_listens_on_loopback_only_by_default(tmp_path, name):
    args, health = SERVERS[name]
    port = free_port()
    extra = ["--smtp-port", str(free_port())] if name == "simulator" else []  # the mailbox is a server too
    server = started(tmp_path, [*args, *extra], health, port)
    try:
        bound = listening(server.pid)
    finally:
        err = stopped(server)
    assert ("127.0.0.1", port) in bound
    assert {ip for ip, _ in bound} == {"127.0.0.1"}, bound
    if extra:
        assert ("127.0.0.1", int(extra[1])) in bound
    assert "warning: the" not in err


def test_another_address_is_an_explicit_option_and_the_command_warns(tmp_path):
    port = free_port()
    server = started(tmp_path, ["serve-events", "--host", "0.0.0.0"], "/health", port)
    try:
        bound = listening(server.pid)
    finally:
        err = stopped(server)
    assert bound == {("0.0.0.0", port)}
    assert "warning: the event receiver is bound to 0.0.0.0, not loopback" in err
