"""`orchestrator flower`: started as a subprocess against two real worker subprocesses.

Flower must refuse to start without credentials (exit 2), refuse unauthenticated API calls (401),
list both workers, and hold the tasks of a run: named ``orchestrator.step.<Type>``, with the run
id and the node key in their arguments and the task id ``run:node:attempt``.
"""

from __future__ import annotations

import ast
import subprocess

import httpx

from tests.pipeline_builders import pipeline, py, shell, stage
from tests.process_helpers import (
    ROOT,
    Cluster,
    free_port,
    orchestrator_command,
    process_env,
    wait_for,
)

AUTH = ("ops", "correct-horse")


def start_flower(cluster: Cluster) -> str:
    port = free_port()
    cluster.spawn("flower", [*orchestrator_command(), "flower", "--port", str(port), "--address", "127.0.0.1"],
                  {"ORCHESTRATOR_FLOWER_AUTH": ":".join(AUTH)})
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthcheck", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, 90, "Flower to answer")
    return base


def test_flower_refuses_to_start_without_credentials(cluster: Cluster) -> None:
    for extra, env in (([], {}), (["--basic-auth", "no-colon"], {}), ([], {"ORCHESTRATOR_FLOWER_AUTH": "user:"})):
        result = subprocess.run([*orchestrator_command(), "flower", "--port", str(free_port()), *extra],
                                env=process_env(cluster.url, env), cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2, (extra, env, result.stdout, result.stderr)
        assert "ORCHESTRATOR_FLOWER_AUTH" in result.stderr


def test_flower_requires_auth_lists_workers_and_finds_a_runs_tasks(cluster: Cluster) -> None:
    default = cluster.start_worker("alpha")
    gpu = cluster.start_worker("beta", queues="gpu")
    base = start_flower(cluster)

    for path in ("/api/workers", "/api/tasks", "/"):
        assert httpx.get(base + path, timeout=30).status_code == 401, path
    assert httpx.get(base + "/api/workers", auth=(AUTH[0], "wrong"), timeout=30).status_code == 401

    def both_workers() -> dict | None:
        response = httpx.get(base + "/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=60)
        listed = response.json() if response.status_code == 200 else {}
        return listed if {default.node_name, gpu.node_name} <= set(listed) else None

    workers = wait_for(both_workers, 120, "Flower to list both workers", interval=1.0)
    queues = {name: [q["name"] for q in info.get("active_queues") or []] for name, info in workers.items()}
    assert queues[gpu.node_name] == ["gpu"]

    client = cluster.client()
    other = client.submit(pipeline("noise", [stage("s", [py("elsewhere")])])).wait(120)
    doc = client.submit(pipeline("watched", [stage("s", [
        py("compute"),
        shell("report", "echo done"),
        py("train", delegateSelectors=["gpu"]),
    ])])).wait(120)
    assert doc["status"] == "Success"
    run_id = doc["run_id"]

    def run_tasks() -> dict | None:
        # Flower's own search, as an operator would use it: the run id finds the run's tasks only.
        response = httpx.get(base + "/api/tasks", params={"search": run_id}, auth=AUTH, timeout=60)
        tasks = response.json()
        return tasks if len(tasks) == 3 and all(t.get("state") == "SUCCESS" for t in tasks.values()) else None

    tasks = wait_for(run_tasks, 90, "Flower to hold the run's three tasks", interval=1.0)
    seen = {}
    for task_id, task in tasks.items():
        args = ast.literal_eval(task["args"])
        assert args[0] == run_id
        assert task_id == f"{run_id}:{args[1]}:{args[2]}"
        seen[args[1]] = (task["name"], task["worker"])
    assert seen == {
        "s.compute": ("orchestrator.step.Python", default.node_name),
        "s.report": ("orchestrator.step.ShellScript", default.node_name),
        "s.train": ("orchestrator.step.Python", gpu.node_name),
    }
    assert all(run_id in task["args"] for task in tasks.values())
    # The other run's task is in Flower too, but not among this run's.
    all_tasks = httpx.get(base + "/api/tasks", auth=AUTH, timeout=60).json()
    assert any(other["run_id"] in (t.get("args") or "") for t in all_tasks.values())
    assert not any(other["run_id"] in t["args"] for t in tasks.values())
