"""Every pipeline in examples/ is valid, and each one runs (session Redis + real Celery worker) to
the final status its comments promise; the approval example is driven by an operator here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.loading import validate_pipeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# pipeline file -> (input set, final status); None: needs an operator, run by its own test below
RUNS: dict[str, tuple[str | None, str | None]] = {
    "hello.yaml": (None, "Success"),
    "retry.yaml": (None, "IgnoreFailed"),
    "rollback.yaml": (None, "RolledBack"),
    "conditional.yaml": (None, "Success"),
    "release.yaml": ("inputs.yaml", "Success"),
    "chained.yaml": (None, "Success"),
    "notes.yaml": (None, "Success"),
    "python.yaml": (None, "Success"),
    "approval.yaml": (None, None),
}
INPUT_SETS = {"inputs.yaml"}


def stdout_of(client: Any, run_id: str, node: str) -> str:
    return client.store.output(run_id, node)["stdout"]


def test_every_example_file_is_listed_here() -> None:
    """A new example gets a row above (and so is validated and run)."""
    files = {p.name for p in EXAMPLES.glob("*.y*ml")}
    assert files == set(RUNS) | INPUT_SETS


@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_is_valid_with_its_inputs(name: str) -> None:
    inputs, _ = RUNS[name]
    issues = validate_pipeline(EXAMPLES / name, inputs=EXAMPLES / inputs if inputs else None, require_inputs=True)
    assert issues == [], "\n".join(map(str, issues))


def test_release_needs_its_input_set() -> None:
    issues = validate_pipeline(EXAMPLES / "release.yaml", require_inputs=True)
    assert {i.code for i in issues} == {"missing_input"}
    assert {i.path for i in issues} == {"pipeline.variables[0].value", "pipeline.variables[1].value",
                                        "pipeline.stages[0].stage.variables[0].value"}


@pytest.mark.parametrize("name", sorted(n for n, (_, status) in RUNS.items() if status))
def test_example_runs_to_its_final_status(client, name: str) -> None:
    inputs, expected = RUNS[name]
    doc = client.submit(EXAMPLES / name, inputs=EXAMPLES / inputs if inputs else None).wait(120)
    assert doc["status"] == expected, doc["nodes"]
    CHECKS[name](client, doc)


# --- what each example shows -------------------------------------------------------------------
def check_hello(client: Any, doc: dict) -> None:
    run_id = doc["run_id"]
    assert client.store.output(run_id, "greet.say_hello")["outputVariables"] == {"greeting": "hello, world"}
    assert "HELLO, WORLD" in stdout_of(client, run_id, "greet.shout")
    assert client.store.output(run_id, "greet.count")["outputVariables"] == {"length": "12"}
    assert "stage greet said: hello, world" in stdout_of(client, run_id, "report.summary")
    assert "(12 characters)" in stdout_of(client, run_id, "report.summary")


def check_retry(client: Any, doc: dict) -> None:
    flaky = doc["nodes"]["check.flaky_check"]
    assert flaky["status"] == "IgnoreFailed" and flaky["attempts"] == 3 and flaky["error_type"] == "Unknown"
    assert [a["action"] for a in flaky["attempt_log"]] == ["Retry", "Retry", "Ignore"]
    assert doc["nodes"]["check.build"]["status"] == "Success"
    assert doc["nodes"]["check.report"]["status"] == "Success"  # IgnoreFailed counts for Failure too


def check_rollback(client: Any, doc: dict) -> None:
    nodes = doc["nodes"]
    assert nodes["deploy"]["status"] == "RolledBack"
    assert nodes["deploy.migrate"]["status"] == "Failed" and nodes["deploy.migrate"]["action"] == "StageRollback"
    assert nodes["deploy.switch"]["status"] in ("Skipped", "NotStarted")
    assert nodes["deploy.rollback.reinstall_previous"]["status"] == "Success"
    assert nodes["smoke_test"]["status"] == "Skipped"
    assert nodes["notify_failure"]["status"] == "Skipped"  # RolledBack counts for neither gate
    assert nodes["cleanup"]["status"] == "Success"


def check_conditional(client: Any, doc: dict) -> None:
    nodes = doc["nodes"]
    assert nodes["build.migrate"]["status"] == "Success"
    assert nodes["build.debug_dump"]["status"] == "Skipped"
    assert nodes["prod"]["status"] == "Skipped"
    assert nodes["staging"]["status"] == "Success"
    assert "deploying 3 replicas to staging" in stdout_of(client, doc["run_id"], "staging.deploy")


def check_release(client: Any, doc: dict) -> None:
    output = client.store.output(doc["run_id"], "package.package")
    assert output["outputVariables"] == {"artifact": "app-2.4.1.tar.gz"}
    assert "packaged app-2.4.1.tar.gz for staging" in output["stdout"]
    assert "notes: no release notes" in output["stdout"]


def check_chained(client: Any, doc: dict) -> None:
    child_id = doc["nodes"]["notes"]["child_run_id"]
    child = client.run(child_id).document()
    assert child["pipeline"] == "release_notes" and child["parent_run_id"] == doc["run_id"]
    assert child["status"] == "Success"
    assert "Release 3.42.0" in stdout_of(client, child_id, "write.write_notes")
    assert "after the child run ended Success" in stdout_of(client, doc["run_id"], "publish.publish")


def check_notes(client: Any, doc: dict) -> None:
    assert "Release 0.0.0-dev" in stdout_of(client, doc["run_id"], "write.write_notes")


def check_python(client: Any, doc: dict) -> None:
    import platform

    run_id = doc["run_id"]
    assert client.store.output(run_id, "inspect.python_version")["result"] == platform.python_version()
    assert client.store.output(run_id, "inspect.manifest")["outputVariables"] == {"service": "api", "replicas": 3}
    out = stdout_of(client, run_id, "inspect.report")
    assert f"workers run Python {platform.python_version()}" in out
    assert "mean build time: 42" in out and "api wants 3 replicas" in out


CHECKS = {"hello.yaml": check_hello, "retry.yaml": check_retry, "rollback.yaml": check_rollback,
          "conditional.yaml": check_conditional, "release.yaml": check_release, "chained.yaml": check_chained,
          "notes.yaml": check_notes, "python.yaml": check_python}


def wait_status(run: Any, node: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = run.document()
        if doc["nodes"][node]["status"] == status:
            return doc
        assert time.monotonic() < deadline, f"{node} never reached {status}: {doc['nodes']}"
        assert doc["status"] not in ("Success", "Failed", "Aborted", "IgnoreFailed"), doc["nodes"]
        time.sleep(0.05)


def test_approval_example_with_an_operator(client) -> None:
    run = client.submit(EXAMPLES / "approval.yaml")
    wait_status(run, "release.approve", "ApprovalWaiting")
    run.approve("release.approve", by="tester")
    doc = wait_status(run, "release.verify", "InterventionWaiting")
    assert doc["nodes"]["release.announce"]["status"] == "NotStarted"
    run.intervene("release.verify", "Ignore")
    doc = run.wait(60)
    assert doc["status"] == "IgnoreFailed"
    assert doc["nodes"]["release.verify"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["release.announce"]["status"] == "Success"
    assert client.store.output(run.id, "release.approve")["approvedBy"] == "tester"
