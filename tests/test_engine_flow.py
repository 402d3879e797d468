"""The execution engine on real Redis and a real Celery worker: order, outputs, inputs, child
pipelines, timeouts, failures, duplicates and shell safety."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from orchestrator.state.keys import RunKeys
from tests.pipeline_builders import child_stage, group, on, parallel, pipeline, py, shell, stage, write_yaml


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def attempt_window(doc: dict, node: str) -> tuple[float, float]:
    attempt = doc["nodes"][node]["attempt_log"][-1]
    return ts(attempt["started_at"]), ts(attempt["ended_at"])


def test_sequential_steps_run_in_order(client) -> None:
    doc = client.submit(pipeline("seq", [stage("s", [py("a", "sleep", args=[0.2]), py("b"), py("c")])])).wait(60)
    assert doc["status"] == "Success"
    a, b, c = (attempt_window(doc, f"s.{n}") for n in "abc")
    assert a[1] <= b[0] and b[1] <= c[0]


def test_parallel_steps_overlap_and_join(client) -> None:
    doc = client.submit(pipeline("par", [stage("s", [
        parallel(py("a", "sleep", args=[1.0]), py("b", "sleep", args=[1.0])),
        py("after"),
    ])])).wait(60)
    assert doc["status"] == "Success"
    a, b = attempt_window(doc, "s.a"), attempt_window(doc, "s.b")
    after = attempt_window(doc, "s.after")
    assert a[0] < b[1] and b[0] < a[1], "parallel steps must overlap"
    assert after[0] >= max(a[1], b[1]), "the next slot waits for the whole parallel block"


def test_nested_groups_and_parallel_stages(client) -> None:
    doc = client.submit(pipeline("nested", [
        parallel(
            stage("left", [group("outer", [py("x"), group("inner", [py("y"), py("z")])]), py("w")]),
            stage("right", [py("r", "sleep", args=[0.5])]),
        ),
        stage("last", [py("end")]),
    ])).wait(60)
    assert doc["status"] == "Success"
    order = ["left.outer.x", "left.outer.inner.y", "left.outer.inner.z", "left.w", "last.end"]
    windows = [attempt_window(doc, n) for n in order]
    assert all(windows[i][1] <= windows[i + 1][0] for i in range(len(windows) - 1))
    assert doc["nodes"]["left.outer.inner"]["status"] == "Success"
    assert attempt_window(doc, "last.end")[0] >= attempt_window(doc, "right.r")[1]


def test_output_variables_flow_to_later_steps_and_stages(client) -> None:
    doc = client.submit(pipeline("outputs", [
        stage("build", [
            shell("make", 'version="1.2.$((40+2))"', outputs={"version": "version"}),
            shell("check", 'test "$V" = "1.2.42" && echo "got <+execution.steps.make.output.outputVariables.version>"',
                  env={"V": "<+execution.steps.make.output.outputVariables.version>"}),
        ]),
        stage("deploy", [
            py("use", "echo", kwargs={
                "version": "<+pipeline.stages.build.spec.execution.steps.make.output.outputVariables.version>"}),
        ]),
    ])).wait(60)
    assert doc["status"] == "Success", doc["nodes"]
    run = client.run(doc["run_id"])
    assert client.store.output(run.id, "deploy.use")["result"] == {"version": "1.2.42"}
    assert "got 1.2.42" in client.store.output(run.id, "build.check")["stdout"]


def test_input_set_fills_runtime_inputs(client, tmp_path: Path) -> None:
    source = pipeline("with_inputs", [stage("s", [py("show", "echo", kwargs={"who": "<+pipeline.variables.who>"})])],
                      variables=[{"name": "who", "type": "String", "value": "<+input>"}])
    path = write_yaml(tmp_path / "p.yaml", source)
    inputs = write_yaml(tmp_path / "inputs.yaml", ({"pipeline": {"identifier": "with_inputs",
                                                   "variables": [{"name": "who", "type": "String", "value": "ops"}]}}))
    doc = client.submit(path, inputs=inputs).wait(60)
    assert doc["status"] == "Success"
    assert client.store.output(doc["run_id"], "s.show")["result"] == {"who": "ops"}


def test_child_pipeline_runs_as_a_linked_run(client, tmp_path: Path) -> None:
    write_yaml(tmp_path / "child.yaml", (pipeline("child", [
        stage("c", [py("got", "echo", kwargs={"value": "<+pipeline.variables.value>"})])],
        variables=[{"name": "value", "type": "String", "value": "<+input>"}])))
    write_yaml(tmp_path / "parent.yaml", (pipeline("parent", [
        stage("prepare", [shell("emit", 'out="from-parent"', outputs={"out": "out"})]),
        child_stage("call", "child", {"identifier": "child", "variables": [
            {"name": "value", "type": "String",
             "value": "<+pipeline.stages.prepare.spec.execution.steps.emit.output.outputVariables.out>"}]}),
        stage("after", [py("done")]),
    ])))
    doc = client.submit(tmp_path / "parent.yaml").wait(60)
    assert doc["status"] == "Success", doc["nodes"]
    child_id = doc["nodes"]["call"]["child_run_id"]
    child = client.run(child_id).document()
    assert child["parent_run_id"] == doc["run_id"] and child["parent_node"] == "call"
    assert child["status"] == "Success"
    assert client.store.output(child_id, "c.got")["result"] == {"value": "from-parent"}
    assert ts(doc["nodes"]["after"]["started_at"]) >= ts(child["ended_at"])


def test_step_timeout_stops_a_long_shell_command(client) -> None:
    started = time.monotonic()
    doc = client.submit(pipeline("timeout", [stage("s", [shell("slow", "sleep 30", timeout="2s")])])).wait(60)
    assert time.monotonic() - started < 15
    node = doc["nodes"]["s.slow"]
    assert node["status"] == "Expired" and node["error_type"] == "Timeout"
    assert doc["status"] == "Expired"


def test_unhandled_failure_skips_success_gated_and_runs_failure_gated(client) -> None:
    doc = client.submit(pipeline("unhandled", [
        stage("s", [py("bad", "fail"), py("next"), py("cleanup", when={"stageStatus": "Failure"})]),
        stage("later", [py("x")]),
        stage("on_failure", [py("y")], when={"pipelineStatus": "Failure"}),
    ])).wait(60)
    nodes = doc["nodes"]
    assert nodes["s.bad"]["status"] == "Failed" and nodes["s.bad"]["error_type"] == "Unknown"
    assert nodes["s.next"]["status"] == "Skipped"
    assert nodes["s.cleanup"]["status"] == "Success"
    assert nodes["later"]["status"] == "Skipped"
    assert nodes["on_failure"]["status"] == "Success"
    assert doc["status"] == "Failed"


def test_duplicated_step_messages_change_nothing(client, redis_server) -> None:
    """Deliver the same step message twice and report the same completion twice."""
    run = client.submit(pipeline("dupes", [stage("s", [py("a", "sleep", args=[0.5]), py("b")])]))
    doc = run.wait(60)
    store = client.store
    before_nodes = store.all_nodes(run.id)
    before_attempts = store.all_attempts(run.id)
    before_events = store.redis.xlen(RunKeys(run.id).events)
    from workers.runtime import STEP_TASK_PREFIX

    # the step task message of s.a attempt 1, delivered again (same task id, as a redelivery would)
    client.app.send_task(STEP_TASK_PREFIX + "Python", args=(run.id, "s.a", 1), task_id=f"{run.id}:s.a:1",
                         queue="orchestrator")
    # the completion, recorded again
    commands = client.engine.step_finished(run.id, "s.a", 1, {"result": "success", "output": {"x": 1}})
    assert commands == []
    broker = redis_server.client()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (broker.llen("orchestrator") or broker.hlen("unacked")):
        time.sleep(0.05)
    assert not broker.llen("orchestrator") and not broker.hlen("unacked"), "the duplicate was not consumed"
    assert store.all_nodes(run.id) == before_nodes
    assert store.all_attempts(run.id) == before_attempts
    assert store.redis.xlen(RunKeys(run.id).events) == before_events
    assert doc["nodes"]["s.b"]["attempts"] == 1


def test_input_values_cannot_inject_shell_syntax(client, tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    source = pipeline("inject", [stage("s", [
        shell("greet", 'echo "hello <+pipeline.variables.name>"; echo hello <+pipeline.variables.name>; '
                       "echo 'hello <+pipeline.variables.name>'", outputs={}),
    ])], variables=[{"name": "name", "type": "String", "value": "<+input>"}])
    path = write_yaml(tmp_path / "p.yaml", source)
    evil = f'"; touch {marker}; echo "$(touch {marker})`touch {marker}`'
    doc = client.submit(path, inputs={"pipeline": {"identifier": "inject", "variables": [
        {"name": "name", "type": "String", "value": evil}]}}).wait(60)
    assert doc["status"] == "Success", doc["nodes"]
    assert not marker.exists()
    assert evil in client.store.output(doc["run_id"], "s.greet")["stdout"]


def test_run_facts_are_available_as_expressions(client) -> None:
    source = pipeline("facts", [stage("s", [py("show", "echo", kwargs={
        "id": "<+pipeline.executionId>", "seq": "<+pipeline.sequenceId>", "name": "<+pipeline.name>"})])])
    first = client.submit(source).wait(60)
    second = client.submit(source).wait(60)
    one = client.store.output(first["run_id"], "s.show")["result"]
    two = client.store.output(second["run_id"], "s.show")["result"]
    assert one["id"] == first["run_id"] and one["name"] == "facts"
    assert int(two["seq"]) == int(one["seq"]) + 1


def test_a_replayed_start_is_recognised_by_its_token(client) -> None:
    """A start whose reply was lost and is retried with the same token returns the snapshot again;
    any other start of that attempt (a duplicate message) is refused."""
    run = client.submit(pipeline("replay", [stage("s", [{"step": {
        "identifier": "w", "type": "Wait", "spec": {"duration": "1h"}}}])]))
    store = client.store
    deadline = time.monotonic() + 30
    while store.all_nodes(run.id).get("s.w", {}).get("status") != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    record = store.all_nodes(run.id)["s.w"]
    common = dict(worker="w", lost_timeout=5, timeout=None, prefetch_nodes=["s.w"], prefetch_outputs=[])
    replay = store.start_attempt(run.id, "s.w", 1, token=record["start_token"], **common)
    assert replay.started and replay.snapshot.nodes["s.w"]["status"] == "Running"
    other = store.start_attempt(run.id, "s.w", 1, token="someone-else", **common)
    assert not other.started
    run.abort()


def test_a_waiting_step_is_published_again_only_if_its_message_is_gone(client) -> None:
    """Queue 'parked' has a (pretend) live consumer that never takes anything: the step waits.
    While its message sits in the queue nothing is re-sent; once it is gone, it is re-sent."""
    store, redis = client.store, client.store.redis
    redis.delete("parked")
    store.announce_worker("pretend@host", ["parked"])
    run = client.submit(pipeline("parked", [stage("s", [py("a", delegateSelectors=["parked"])])]))
    provisioning = client.settings.provisioning_timeout
    deadline = time.monotonic() + 3 * provisioning + 1
    while time.monotonic() < deadline:  # several provisioning checks pass
        store.announce_worker("pretend@host", ["parked"])
        time.sleep(0.2)
    assert redis.llen("parked") == 1, "no duplicate while the message waits in the queue"
    assert run.status() == "Running"
    redis.delete("parked")  # the message is lost
    deadline = time.monotonic() + 3 * provisioning + 5
    while redis.llen("parked") == 0 and time.monotonic() < deadline:
        store.announce_worker("pretend@host", ["parked"])
        time.sleep(0.2)
    assert redis.llen("parked") == 1, "a lost message is published again"
    store.retire_worker("pretend@host")
    run.abort()
    redis.delete("parked")


def test_when_conditions_decide_at_run_time(client) -> None:
    doc = client.submit(pipeline("conditions", [stage("s", [
        shell("probe", 'level="high"', outputs={"level": "level"}),
        py("always", when={"stageStatus": "Success", "condition": "true"}),
        py("never", when={"stageStatus": "Success", "condition": "false"}),
        py("on_high", when={"stageStatus": "Success",
                            "condition": '<+execution.steps.probe.output.outputVariables.level> == "high" '
                                         '&& <+pipeline.variables.n> > 2'}),
        py("on_low", when={"stageStatus": "Success",
                           "condition": '<+execution.steps.probe.output.outputVariables.level> == "low"'}),
        py("unresolvable", when={"stageStatus": "All", "condition": "<+env.name> == \"prod\""}),
    ])], variables=[{"name": "n", "type": "Number", "value": 3}])).wait(60)
    nodes = doc["nodes"]
    assert [nodes[f"s.{n}"]["status"] for n in ("always", "never", "on_high", "on_low")] == \
        ["Success", "Skipped", "Success", "Skipped"]
    assert nodes["s.unresolvable"]["status"] == "Failed"
    assert "env.name" in nodes["s.unresolvable"]["message"]


def test_a_step_reads_an_earlier_stage_status(client) -> None:
    doc = client.submit(pipeline("stage_status", [
        stage("one", [py("a", "fail", strategies=[on("AllErrors", "Ignore")])]),
        stage("two", [py("read", "echo", kwargs={"first": "<+pipeline.stages.one.status>"})]),
    ])).wait(60)
    assert client.store.output(doc["run_id"], "two.read")["result"] == {"first": "IgnoreFailed"}
