"""Horizontal workers and routing, with real `orchestrator worker` subprocesses on a real Redis.

Two worker nodes consume different queues; ``delegateSelectors`` (on a step, a group or a stage)
send a step to the queue named by the first selector, so it runs only on the node consuming it; a
step for a queue nobody consumes fails with DelegateProvisioning after
ORCHESTRATOR_PROVISIONING_TIMEOUT (3 s here).
"""

from __future__ import annotations

from tests.pipeline_builders import group, pipeline, py, stage
from tests.process_helpers import Cluster, attempts_started


def selectors(element: dict, *names: str) -> dict:
    """Put ``delegateSelectors`` on a stage or step group element of the builders."""
    body = next(iter(element.values()))
    body["delegateSelectors"] = list(names)
    return element


def test_workers_announce_their_queues(cluster: Cluster) -> None:
    default = cluster.start_worker("cpu")
    gpu = cluster.start_worker("gpu", queues="gpu, gpu-large")
    workers = cluster.workers()
    assert workers[default.node_name]["queues"] == ["orchestrator"]
    assert workers[gpu.node_name]["queues"] == ["gpu", "gpu-large"]
    assert default.node_name.startswith("cpu@") and "%h" not in default.node_name


def test_delegate_selectors_route_steps_to_the_worker_of_that_queue(cluster: Cluster) -> None:
    cpu = cluster.start_worker("cpu")
    gpu = cluster.start_worker("gpu", queues="gpu")
    client = cluster.client()
    doc = client.submit(pipeline("routing", [
        stage("build", [
            py("plain"),
            py("train", delegateSelectors=["gpu"]),
            selectors(group("on_gpu", [py("inner"), py("back_to_cpu", delegateSelectors=["orchestrator"])]),
                      "gpu"),
        ]),
        selectors(stage("gpu_stage", [py("s1"), py("s2")]), "gpu"),
    ])).wait(120)
    assert doc["status"] == "Success", cluster.logs()
    ran_on = {key: [a["worker"] for a in node["attempt_log"]]
              for key, node in doc["nodes"].items() if node["kind"] == "step"}
    assert ran_on == {
        "build.plain": [cpu.node_name],
        "build.train": [gpu.node_name],
        "build.on_gpu.inner": [gpu.node_name],
        "build.on_gpu.back_to_cpu": [cpu.node_name],
        "gpu_stage.s1": [gpu.node_name],
        "gpu_stage.s2": [gpu.node_name],
    }
    started = attempts_started(client.run(doc["run_id"]).events())
    assert len(started) == len(set(started)) == 6


def test_a_step_for_a_queue_nobody_consumes_fails_delegate_provisioning(cluster: Cluster) -> None:
    cluster.start_worker("cpu")
    cluster.start_worker("gpu", queues="gpu")
    client = cluster.client()
    doc = client.submit(pipeline("unrouted", [stage("s", [
        py("first"),
        py("needs_tpu", delegateSelectors=["tpu", "gpu"]),  # the first selector names the queue
        py("after"),
    ])])).wait(120)
    step = doc["nodes"]["s.needs_tpu"]
    assert step["status"] == "Failed"
    assert step["error_type"] == "DelegateProvisioning"
    assert "'tpu'" in step["message"] and "3s" in step["message"]
    assert doc["nodes"]["s.after"]["status"] == "Skipped"
    assert doc["status"] == "Failed"
    assert "needs_tpu" not in cluster.logs()  # no worker ever received it
