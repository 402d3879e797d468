"""The run-time CLI (run, status, list, abort, intervene, approve, reject) through the real typer
app against the session redis-server and a real Celery worker, and the rendering functions of
orchestrator.cli.render on plain run documents (no terminal needed)."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.cli.render import (
    failure_details,
    output_summary,
    run_tree,
    run_view,
    summary_line,
    waiting_commands,
    waiting_hints,
)
from orchestrator.coordinator.statuses import FINISHED
from orchestrator.state.keys import RUNS, RunKeys
from tests.pipeline_builders import child_stage, on, pipeline, py, retry, stage, write_yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()


@pytest.fixture
def cli(client):  # noqa: ANN001, ANN201 - the session Redis and worker
    url = client.redis_url

    def invoke(*args: Any, url_option: bool = True) -> Result:
        argv = [str(a) for a in args] + (["--redis-url", url] if url_option else [])
        result = runner.invoke(app, argv)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    return invoke


def wait_node(client: Any, run_id: str, node: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = client.run(run_id).document()
        if doc["nodes"][node]["status"] == status:
            return doc
        assert time.monotonic() < deadline, f"{node} never {status}: {doc['nodes']}"
        time.sleep(0.05)


def wait_run(client: Any, run_id: str, timeout: float = 60) -> dict:
    return client.run(run_id).wait(timeout)


def state_of(client: Any, run_id: str) -> tuple:
    store = client.store
    return (store.meta(run_id), store.all_nodes(run_id), store.all_attempts(run_id),
            store.redis.xlen(RunKeys(run_id).events))


def wait_step(identifier: str, duration: str = "10m") -> dict:
    return {"step": {"identifier": identifier, "name": identifier, "type": "Wait", "timeout": "1h",
                     "spec": {"duration": duration}}}


def approval_step(identifier: str, message: str = "Ship it?") -> dict:
    return {"step": {"identifier": identifier, "name": identifier, "type": "HarnessApproval", "timeout": "1h",
                     "spec": {"approvalMessage": message}}}


# --- run ----------------------------------------------------------------------------------------
def test_run_json_of_a_succeeding_pipeline_exits_0(cli, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "ok.yaml", pipeline("ok", [stage("s", [py("a"), py("b")])]))
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "Success" and doc["nodes"]["s.b"]["status"] == "Success"


def test_run_json_of_a_failing_pipeline_exits_1(cli, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "bad.yaml", pipeline("bad", [stage("s", [py("boom", "fail"), py("next")])]))
    result = cli("run", path, "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "Failed"
    assert doc["nodes"]["s.boom"]["status"] == "Failed" and doc["nodes"]["s.next"]["status"] == "Skipped"


def test_run_human_prints_the_tree_and_summary(cli) -> None:
    result = cli("run", EXAMPLES / "hello.yaml")
    assert result.exit_code == 0, result.output
    assert "say_hello (ShellScript)  ✔ Success  → greeting=hello, world" in result.stdout
    assert "4 steps: 4 Success" in result.stdout


def test_run_detach_json_prints_only_the_run_id_and_returns_at_once(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "slow.yaml", pipeline("slow", [stage("s", [wait_step("pause")])]))
    result = cli("run", path, "--detach", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["run_id"]
    assert result.stdout.strip() == json.dumps({"run_id": document["run_id"]})
    run = client.run(document["run_id"])
    assert run.status() not in FINISHED  # it returned while the 10-minute wait goes on
    assert run.abort()
    assert run.wait(60)["status"] == "Aborted"


def test_run_detach_needs_a_shared_redis(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "ok.yaml", pipeline("ok", [stage("s", [py("a")])]))
    before = client.store.redis.zcard(RUNS)
    result = cli("run", path, "--detach", url_option=False)
    assert result.exit_code == 2
    assert "--detach needs a shared Redis" in result.stderr
    assert client.store.redis.zcard(RUNS) == before


def test_run_timeout_exits_1_and_leaves_a_shared_run_going(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "slow.yaml", pipeline("slow_timeout", [stage("s", [wait_step("pause")])]))
    result = cli("run", path, "--json", "--timeout", "1")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "Running"
    assert "still Running after 1s" in result.stderr
    run = client.run(doc["run_id"])
    assert run.abort()
    run.wait(60)


def test_bad_pipeline_is_exit_2_with_file_line_path_and_nothing_enqueued(cli, client, tmp_path: Path) -> None:
    text = """\
pipeline:
  identifier: broken
  stages:
    - stage:
        identifier: s
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  identifier: a
                  type: ShellScript
                  timeout: 10 minutes
                  spec: {shell: Bash, source: {type: Inline, spec: {script: echo hi}}}
"""
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    redis = client.store.redis
    before = (redis.zcard(RUNS), redis.llen("orchestrator"))
    result = cli("run", path)
    assert result.exit_code == 2
    line = text.splitlines().index("                  timeout: 10 minutes") + 1
    expected = f"{path}:{line}: pipeline.stages[0].stage.spec.execution.steps[0].step.timeout: "
    assert any(l.startswith(expected) for l in result.stderr.splitlines()), result.stderr
    result = cli("run", path, "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {(e["line"], e["path"]) for e in report["errors"]} == {
        (line, "pipeline.stages[0].stage.spec.execution.steps[0].step.timeout")}
    assert (redis.zcard(RUNS), redis.llen("orchestrator")) == before


def test_missing_runtime_inputs_are_exit_2_and_nothing_enqueued(cli, client) -> None:
    before = client.store.redis.zcard(RUNS)
    result = cli("run", EXAMPLES / "release.yaml")
    assert result.exit_code == 2
    assert f"{EXAMPLES / 'release.yaml'}:13: pipeline.variables[0].value: " in result.stderr
    assert "[missing_input]" in result.stderr
    assert client.store.redis.zcard(RUNS) == before
    result = cli("run", EXAMPLES / "release.yaml", "--inputs", EXAMPLES / "inputs.yaml", "--json")
    assert result.exit_code == 0, result.output


def test_unreadable_or_missing_file_is_exit_2(cli, tmp_path: Path) -> None:
    result = cli("run", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


# --- status and list ----------------------------------------------------------------------------
def test_status_json_is_the_run_document(cli, client, tmp_path: Path) -> None:
    write_yaml(tmp_path / "child.yaml", pipeline("kid", [stage("c", [py("hi")])]))
    path = write_yaml(tmp_path / "parent.yaml", pipeline("shape", [
        stage("build", [py("compile", "fail", kwargs={"error_type": "Connectivity", "message": "no route"},
                           strategies=[on("AllErrors", "Retry", **retry(1, ["100ms"], then="Ignore"))])]),
        child_stage("call", "kid"),
    ]))
    run_id = json.loads(cli("run", path, "--detach", "--json").stdout)["run_id"]
    wait_run(client, run_id)
    result = cli("status", run_id, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"run_id", "pipeline", "status", "parent_run_id", "nodes"} <= set(doc)
    assert (doc["run_id"], doc["pipeline"], doc["status"], doc["parent_run_id"]) == (run_id, "shape", "IgnoreFailed",
                                                                                      None)
    step = doc["nodes"]["build.compile"]
    assert step["kind"] == "step" and step["status"] == "IgnoreFailed"
    assert step["attempts"] == 2 and step["error_type"] == "Connectivity"
    assert step["started_at"] and step["ended_at"]
    assert doc["nodes"]["build"]["kind"] == "stage"
    call = doc["nodes"]["call"]
    assert call["kind"] == "stage" and call["status"] == "Success"
    child = json.loads(cli("status", call["child_run_id"], "--json").stdout)
    assert child["pipeline"] == "kid" and child["parent_run_id"] == run_id and child["status"] == "Success"


def test_status_shows_a_failed_nodes_error_message_attempts_and_actions(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "flaky.yaml", pipeline("flaky", [stage("s", [
        py("db", "fail", kwargs={"error_type": "Connectivity", "message": "db refused the connection"},
           strategies=[on("AllErrors", "Retry", **retry(2, ["100ms"]))]),
    ])]))
    run_id = json.loads(cli("run", path, "--detach", "--json").stdout)["run_id"]
    assert wait_run(client, run_id)["status"] == "Failed"
    result = cli("status", run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "s.db  ✘ Failed  [Connectivity] db refused the connection" in out
    attempts = [l.strip() for l in out.splitlines() if l.strip().startswith("attempt ")]
    assert len(attempts) == 3, out
    assert all("[Connectivity] db refused the connection" in a for a in attempts)
    assert [a.rsplit("→ action: ", 1)[1] for a in attempts] == ["Retry", "Retry", "MarkAsFailure"]
    assert "✘ Failed in " in out and "1 step: 1 Failed" in out


def test_list_json(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "listed.yaml", pipeline("listed", [stage("s", [py("a")])]))
    run_id = json.loads(cli("run", path, "--json").stdout)["run_id"]
    result = cli("list", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert runs[0]["run_id"] == run_id  # newest first
    entry = runs[0]
    assert entry["pipeline"] == "listed" and entry["status"] == "Success" and entry["parent_run_id"] is None
    assert datetime.fromisoformat(entry["created_at"]).tzinfo is not None
    human = cli("list")
    assert run_id in human.stdout and "listed" in human.stdout


def test_unknown_run_id_is_exit_2(cli) -> None:
    for args in (("status", "no-such-run"), ("status", "no-such-run", "--json"), ("abort", "no-such-run"),
                 ("approve", "no-such-run", "s.a"), ("reject", "no-such-run", "s.a"),
                 ("intervene", "no-such-run", "s.a", "Retry")):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "no run 'no-such-run'" in result.stderr


def test_no_redis_url_is_exit_2(cli) -> None:
    result = cli("status", "whatever", url_option=False)
    assert result.exit_code == 2
    assert "ORCHESTRATOR_REDIS_URL" in result.stderr


def test_unreachable_redis_is_exit_2_without_traceback(cli, tmp_path: Path) -> None:
    from tests.redis_process import free_port

    result = runner.invoke(app, ["list", "--redis-url", f"redis://127.0.0.1:{free_port()}/0"])
    assert result.exit_code == 2, result.output
    assert "cannot reach Redis" in result.stderr and "Traceback" not in result.output


# --- abort --------------------------------------------------------------------------------------
def test_abort_a_running_run_then_a_finished_one(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "slow.yaml", pipeline("to_abort", [stage("s", [wait_step("pause"), py("after")])]))
    run_id = json.loads(cli("run", path, "--detach", "--json").stdout)["run_id"]
    wait_node(client, run_id, "s.pause", "Running")
    result = cli("abort", run_id)
    assert result.exit_code == 0, result.output
    doc = wait_run(client, run_id)
    assert doc["status"] == "Aborted"
    assert json.loads(cli("status", run_id, "--json").stdout)["status"] == "Aborted"
    assert doc["nodes"]["s.after"]["status"] in ("NotStarted", "Skipped", "Aborted")
    before = state_of(client, run_id)
    again = cli("abort", run_id)
    assert again.exit_code == 2
    assert "already finished (Aborted)" in again.stderr
    assert state_of(client, run_id) == before


# --- operator actions ---------------------------------------------------------------------------
def test_operator_actions_on_the_wrong_node_are_refused_and_change_nothing(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "gate.yaml", pipeline("gated", [stage("s", [approval_step("gate"), py("after")])]))
    run_id = json.loads(cli("run", path, "--detach", "--json").stdout)["run_id"]
    wait_node(client, run_id, "s.gate", "ApprovalWaiting")
    before = state_of(client, run_id)
    refused = {
        ("approve", run_id, "s.nope"): "no step 's.nope'",
        ("reject", run_id, "nope"): "no step 'nope'",
        ("approve", run_id, "s"): "no step 's'",  # a stage is not a step
        ("approve", run_id, "s.after"): "is not waiting for approval (status NotStarted)",
        ("intervene", run_id, "s.gate", "Retry"): "is not waiting for intervention (status ApprovalWaiting)",
        ("intervene", run_id, "s.nope", "Retry"): "no step 's.nope'",
    }
    for args, message in refused.items():
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert state_of(client, run_id) == before, args
    # the human status shows what the gate waits for and how to answer it
    status = cli("status", run_id).stdout
    assert "s.gate is waiting for an approval: Ship it?" in status
    assert f"approve with: orchestrator approve {run_id} s.gate" in status
    result = cli("approve", run_id, "s.gate")
    assert result.exit_code == 0, result.output
    assert wait_run(client, run_id)["status"] == "Success"
    late = cli("approve", run_id, "s.gate")
    assert late.exit_code == 2 and "is not waiting for approval (status Success)" in late.stderr


def test_intervene_and_reject_through_the_cli(cli, client, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "manual.yaml", pipeline("manual", [
        stage("s", [py("check", "fail", kwargs={"message": "needs a look"},
                       strategies=[on("AllErrors", "ManualIntervention",
                                      timeout="1h", onTimeout={"action": {"type": "MarkAsFailure"}})])]),
        stage("gate", [approval_step("approve")]),
    ]))
    run_id = json.loads(cli("run", path, "--detach", "--json").stdout)["run_id"]
    wait_node(client, run_id, "s.check", "InterventionWaiting")
    status = cli("status", run_id).stdout
    assert "s.check is waiting for a manual intervention (Unknown: needs a look)" in status
    assert f"answer with: orchestrator intervene {run_id} s.check ACTION" in status
    before = state_of(client, run_id)
    bogus = cli("intervene", run_id, "s.check", "Bogus")
    assert bogus.exit_code == 2 and "unknown action 'Bogus'" in bogus.stderr
    wrong = cli("approve", run_id, "s.check")
    assert wrong.exit_code == 2 and "not waiting for approval (status InterventionWaiting)" in wrong.stderr
    assert state_of(client, run_id) == before
    assert cli("intervene", run_id, "s.check", "Ignore").exit_code == 0
    wait_node(client, run_id, "gate.approve", "ApprovalWaiting")
    assert cli("reject", run_id, "gate.approve").exit_code == 0
    doc = wait_run(client, run_id)
    assert doc["status"] == "ApprovalRejected"
    assert doc["nodes"]["s.check"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["gate.approve"]["error_type"] == "ApprovalRejection"


# --- rendering on plain documents ---------------------------------------------------------------
def render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=400, highlight=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def document(**nodes: dict) -> dict:
    return {"run_id": "R1", "pipeline": "deploy", "status": "Running", "parent_run_id": None,
            "started_at": "2026-01-01T10:00:00+00:00", "ended_at": None, "nodes": nodes}


def test_tree_nests_groups_and_puts_rollback_steps_under_their_owner() -> None:
    doc = document(**{
        "build": {"kind": "stage", "status": "RolledBack"},
        "build.grp": {"kind": "group", "status": "Failed"},
        "build.grp.compile": {"kind": "step", "type": "ShellScript", "status": "Failed", "attempts": 3,
                              "error_type": "Unknown", "message": "exit 2", "action": "StageRollback"},
        "build.rollback.undo": {"kind": "step", "type": "ShellScript", "status": "Success", "attempts": 1},
        "child": {"kind": "stage", "status": "Success", "child_run_id": "C9"},
    })
    lines = render(run_tree(doc, {"build.rollback.undo": {"outputVariables": {"restored": "1.9"}}})).splitlines()
    assert lines[0] == "deploy run R1  ▶ Running"
    assert lines[1] == "├── build  ↺ RolledBack"
    assert lines[2] == "│   ├── grp  ✘ Failed"
    assert lines[3] == ("│   │   └── compile (ShellScript)  ✘ Failed  attempts: 3  [Unknown] exit 2  "
                        "action: StageRollback")
    assert lines[4] == "│   └── rollback"
    assert lines[5] == "│       └── undo (ShellScript)  ✔ Success  → restored=1.9"
    assert lines[6] == "└── child  ✔ Success  child run: C9"


def test_intervention_hint_gives_the_exact_command_and_the_actions_that_apply() -> None:
    doc = document(**{
        "s": {"kind": "stage", "status": "Running"},
        "s.check": {"kind": "step", "status": "InterventionWaiting", "error_type": "Timeout", "message": "took 5m"},
        "s.g": {"kind": "group", "status": "Running"},
        "s.g.lint": {"kind": "step", "status": "InterventionWaiting", "error_type": "Unknown"},
        "s.rollback.undo": {"kind": "step", "status": "InterventionWaiting", "error_type": "Unknown"},
    })
    text = render(waiting_hints(doc)[0])
    assert text.splitlines() == [
        "s.check is waiting for a manual intervention (Timeout: took 5m)",
        "  answer with: orchestrator intervene R1 s.check ACTION",
        "  ACTION is one of: Retry, Ignore, MarkAsSuccess, MarkAsFailure, Abort, StageRollback, PipelineRollback",
    ]
    commands = waiting_commands(doc)
    assert "orchestrator intervene R1 s.check Ignore" in commands["s.check"]
    assert "orchestrator intervene R1 s.check StepGroupRollback" not in commands["s.check"]
    assert "orchestrator intervene R1 s.g.lint StepGroupRollback" in commands["s.g.lint"]
    assert not [c for c in commands["s.rollback.undo"] if c.endswith("Rollback")]
    assert len(commands["s.rollback.undo"]) == 5


def test_approval_hint_with_the_embedded_redis_url() -> None:
    doc = document(**{"s": {"kind": "stage", "status": "Running"},
                      "s.gate": {"kind": "step", "status": "ApprovalWaiting", "attempts": 1}})
    url = "unix:///tmp/orchestrator-x/redis.sock"
    text = render(waiting_hints(doc, url, {"s.gate": {"approvalMessage": "Ship 2.0?"}})[0])
    assert text.splitlines() == [
        "s.gate is waiting for an approval: Ship 2.0?",
        f"  approve with: orchestrator approve R1 s.gate --redis-url {url}",
        f"  reject with:  orchestrator reject R1 s.gate --redis-url {url}",
    ]
    # the live view (run_view) shows the hint under the tree
    assert f"orchestrator approve R1 s.gate --redis-url {url}" in render(run_view(doc, redis_url=url))
    assert waiting_hints(document(**{"s.a": {"kind": "step", "status": "Running"}})) == []


def test_failure_details_list_every_attempt_with_its_action() -> None:
    doc = document(**{"s.db": {
        "kind": "step", "status": "Failed", "attempts": 2, "error_type": "Connectivity", "message": "refused",
        "attempt_log": [
            {"attempt": 1, "status": "Failed", "error_type": "Connectivity", "message": "refused", "action": "Retry",
             "started_at": "2026-01-01T10:00:00+00:00", "ended_at": "2026-01-01T10:00:01.500+00:00"},
            {"attempt": 2, "status": "Failed", "error_type": "Connectivity", "message": "refused",
             "action": "MarkAsFailure", "started_at": "2026-01-01T10:00:03+00:00"},
        ]}, "s.ok": {"kind": "step", "status": "Success", "attempts": 1,
                     "attempt_log": [{"attempt": 1, "status": "Success"}]}})
    lines = [render(line).rstrip("\n") for line in failure_details(doc)]
    assert lines == [
        "s.db  ✘ Failed  [Connectivity] refused",
        "  attempt 1: ✘ Failed  [Connectivity] refused  at 10:00:00, 1.5s  → action: Retry",
        "  attempt 2: ✘ Failed  [Connectivity] refused  at 10:00:03  → action: MarkAsFailure",
    ]


def test_summary_line_and_output_summary() -> None:
    doc = document(**{"s": {"kind": "stage", "status": "Success"},
                      "s.a": {"kind": "step", "status": "Success"}, "s.b": {"kind": "step", "status": "Success"},
                      "s.c": {"kind": "step", "status": "Skipped"}})
    doc.update(status="Success", ended_at="2026-01-01T10:01:05+00:00")
    assert render(summary_line(doc)).strip() == "✔ Success in 1m05s · 3 steps: 2 Success, 1 Skipped"
    assert output_summary({"outputVariables": {"v": "1.2", "n": 3}}) == "v=1.2, n=3"
    assert output_summary({"result": [1, 2], "outputVariables": {}}) == "result=[1, 2]"
    assert output_summary({"stdout": "one\ntwo\n", "outputVariables": {}}) == "stdout: two"
    assert output_summary({"outputVariables": {"long": "x" * 100}}) == "long=" + "x" * 59 + "…"
    assert output_summary(None) == ""


@pytest.mark.parametrize("live", [True, False], ids=["terminal", "pipe"])
def test_following_a_run_shows_the_answer_command_while_it_waits(client, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, live: bool) -> None:
    """`run` follows with the tree redrawn on a terminal (or hints printed once on a pipe)."""
    import threading

    from orchestrator.cli import runs

    buffer = io.StringIO()
    screen = Console(file=buffer, force_terminal=live, width=300, color_system=None, highlight=False)
    monkeypatch.setattr(runs, "_console", lambda stderr=False: screen)
    path = write_yaml(tmp_path / "gate.yaml", pipeline("followed", [stage("s", [approval_step("gate", "Go?"),
                                                                                 py("after")])]))
    run = client.submit(path)
    url = "unix:///tmp/orchestrator-test/redis.sock"
    outcome: dict[str, Any] = {}

    def follow() -> None:
        try:
            outcome["doc"] = runs._follow(run, 120, live=live, hints=screen, hint_url=url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    command = f"orchestrator approve {run.id} s.gate --redis-url {url}"
    deadline = time.monotonic() + 60
    while command not in buffer.getvalue() or "s.gate is waiting for an approval: Go?" not in buffer.getvalue():
        assert time.monotonic() < deadline, buffer.getvalue()
        assert follower.is_alive(), outcome
        time.sleep(0.05)
    if live:
        assert "gate (HarnessApproval)" in buffer.getvalue()  # the tree, redrawn
    run.approve("s.gate")
    follower.join(60)
    assert not follower.is_alive() and "error" not in outcome, outcome
    assert outcome["doc"]["status"] == "Success"
    if not live:
        assert buffer.getvalue().count(command) == 1  # printed once, not on every event
