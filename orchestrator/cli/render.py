"""Rich rendering of runs: the node tree with statuses (and step outputs), failures with every
attempt, a one-line summary, and the exact operator command each waiting node needs.

Every function takes a run document (SPEC §10, as ``RunHandle.document()`` returns it), so they
are tested on plain dicts, without a terminal or a Redis.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

STATUS_STYLE = {
    "Success": ("✔", "green"),
    "Failed": ("✘", "red"),
    "Expired": ("⌛", "red"),
    "Aborted": ("■", "red"),
    "ApprovalRejected": ("✘", "red"),
    "IgnoreFailed": ("✔", "yellow"),
    "RolledBack": ("↺", "magenta"),
    "Skipped": ("–", "dim"),
    "Running": ("▶", "cyan"),
    "Queued": ("…", "cyan"),
    "InterventionWaiting": ("?", "bold yellow"),
    "ApprovalWaiting": ("?", "bold yellow"),
    "NotStarted": ("·", "dim"),
}

OPERATOR_ACTIONS = ("Retry", "Ignore", "MarkAsSuccess", "MarkAsFailure", "Abort", "StageRollback",
                    "StepGroupRollback", "PipelineRollback")
"""What ``orchestrator intervene`` accepts (SPEC §6), in the order the hint lists them."""

_QUIET = ("Success", "Skipped", "NotStarted", "Queued", "Running")
_VALUE_WIDTH = 60
_MESSAGE_WIDTH = 120  # in the tree; the details below a tree show the whole message


def status_text(status: str) -> Text:
    icon, style = STATUS_STYLE.get(status, ("?", ""))
    return Text(f"{icon} {status}", style=style)


def _short(value: Any, width: int = _VALUE_WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= width else text[: width - 1] + "…"


def output_summary(output: Any) -> str:
    """``name=value`` pairs of a step's output variables (or a Python step's result)."""
    if not isinstance(output, dict):
        return ""
    variables = output.get("outputVariables")
    if isinstance(variables, dict) and variables:
        return ", ".join(f"{name}={_short(value)}" for name, value in variables.items())
    if output.get("result") is not None:
        return f"result={_short(output['result'])}"
    stdout = output.get("stdout")
    if isinstance(stdout, str) and stdout.strip():
        return f"stdout: {_short(stdout.strip().splitlines()[-1])}"
    return ""


def _label(key: str, entry: dict[str, Any], output: Any = None) -> Text:
    name = key.rsplit(".", 1)[-1]
    text = Text()
    text.append(name, style="bold" if entry["kind"] == "stage" else "")
    if entry.get("type"):
        text.append(f" ({entry['type']})", style="dim")
    text.append("  ")
    text.append_text(status_text(entry["status"]))
    if entry.get("attempts", 0) > 1:
        text.append(f"  attempts: {entry['attempts']}", style="dim")
    if entry.get("error_type") and entry["status"] not in ("Success", "Queued", "Running"):
        text.append(f"  [{entry['error_type']}] {_short(entry.get('message') or '', _MESSAGE_WIDTH)}", style="red")
    if entry.get("action"):
        text.append(f"  action: {entry['action']}", style="magenta")
    if entry.get("child_run_id"):
        text.append(f"  child run: {entry['child_run_id']}", style="dim")
    summary = output_summary(output) if entry["status"] == "Success" else ""
    if summary:
        text.append(f"  → {summary}", style="cyan")
    return text


def run_tree(doc: dict[str, Any], outputs: dict[str, Any] | None = None) -> Tree:
    """The run as a tree: stages, groups, steps, and each rollback section under its owner."""
    outputs = outputs or {}
    root = Tree(Text.assemble((f"{doc['pipeline']} ", "bold"), (f"run {doc['run_id']}  ", "dim"),
                              status_text(doc["status"])))
    branches: dict[str, Tree] = {}
    for key, entry in doc["nodes"].items():
        parent_key = key.rsplit(".", 1)[0] if "." in key else None
        if parent_key and parent_key.endswith(".rollback") and parent_key not in doc["nodes"]:
            owner = parent_key[: -len(".rollback")]
            holder = branches.get(parent_key)
            if holder is None:
                holder = branches.get(owner, root).add(Text("rollback", style="magenta"))
                branches[parent_key] = holder
            parent = holder
        else:
            parent = branches.get(parent_key) if parent_key else None
        branches[key] = (parent or root).add(_label(key, entry, outputs.get(key)))
    return root


def _in_group(doc: dict[str, Any], key: str) -> bool:
    parts = key.split(".")
    return any(doc["nodes"].get(".".join(parts[:i]), {}).get("kind") == "group" for i in range(2, len(parts)))


def intervention_actions(doc: dict[str, Any], key: str) -> list[str]:
    """The actions that apply to a waiting step: no rollback inside rollbackSteps, no
    StepGroupRollback outside a step group."""
    actions = list(OPERATOR_ACTIONS)
    if ".rollback." in f".{key}.":
        return [a for a in actions if not a.endswith("Rollback")]
    if not _in_group(doc, key):
        actions.remove("StepGroupRollback")
    return actions


def _command(*words: str, redis_url: str | None = None) -> str:
    line = "orchestrator " + " ".join(words)
    return f"{line} --redis-url {redis_url}" if redis_url else line


def waiting_commands(doc: dict[str, Any], redis_url: str | None = None) -> dict[str, list[str]]:
    """For each waiting node, the commands that answer it. ``redis_url``: add ``--redis-url``
    (an embedded run's private Redis, which another terminal does not know)."""
    commands: dict[str, list[str]] = {}
    run_id = doc["run_id"]
    for key, entry in doc["nodes"].items():
        if entry["status"] == "InterventionWaiting":
            commands[key] = [_command("intervene", run_id, key, action, redis_url=redis_url)
                             for action in intervention_actions(doc, key)]
        elif entry["status"] == "ApprovalWaiting":
            commands[key] = [_command(verb, run_id, key, redis_url=redis_url) for verb in ("approve", "reject")]
    return commands


def waiting_hints(doc: dict[str, Any], redis_url: str | None = None,
                  outputs: dict[str, Any] | None = None) -> list[Text]:
    """One block per waiting node: what it waits for and the exact command that answers it
    (``outputs``: step outputs by node, for an approval's ``approvalMessage``)."""
    outputs = outputs or {}
    hints = []
    run_id = doc["run_id"]
    for key, entry in doc["nodes"].items():
        if entry["status"] == "InterventionWaiting":
            reason = f"{entry.get('error_type') or 'Unknown'}: {entry.get('message') or 'failed'}"
            actions = intervention_actions(doc, key)
            hints.append(Text.assemble(
                (f"{key} is waiting for a manual intervention", "bold yellow"), f" ({reason})\n",
                "  answer with: ", (_command("intervene", run_id, key, "ACTION", redis_url=redis_url), "bold"),
                f"\n  ACTION is one of: {', '.join(actions)}"))
        elif entry["status"] == "ApprovalWaiting":
            output = outputs.get(key)
            message = entry.get("message") or (output.get("approvalMessage") if isinstance(output, dict) else None)
            hints.append(Text.assemble(
                (f"{key} is waiting for an approval", "bold yellow"),
                f": {message}" if message else "", "\n",
                "  approve with: ", (_command("approve", run_id, key, redis_url=redis_url), "bold"), "\n",
                "  reject with:  ", (_command("reject", run_id, key, redis_url=redis_url), "bold")))
    return hints


def _clock(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%H:%M:%S")
    except ValueError:
        return value


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def failure_details(doc: dict[str, Any]) -> list[Text]:
    """Every step that failed (or needed more than one attempt): each attempt with its status,
    error type, message, when it ran, and the action applied after it."""
    lines = []
    for key, entry in doc["nodes"].items():
        if entry.get("kind") != "step":
            continue
        log = entry.get("attempt_log") or []
        if entry["status"] in _QUIET and len(log) <= 1:
            continue
        if not log and not entry.get("error_type"):
            continue
        header = Text.assemble((f"{key}", "bold"), "  ", status_text(entry["status"]))
        if entry.get("error_type") and entry["status"] not in _QUIET:
            header.append(f"  [{entry['error_type']}] {entry.get('message') or ''}", style="red")
        lines.append(header)
        for attempt in log:
            line = Text(f"  attempt {attempt.get('attempt')}: ")
            line.append_text(status_text(attempt.get("status") or ""))
            if attempt.get("error_type"):
                line.append(f"  [{attempt['error_type']}] {attempt.get('message') or ''}", style="red")
            when = _clock(attempt.get("started_at"))
            took = _duration(_seconds(attempt.get("started_at"), attempt.get("ended_at")))
            if when:
                line.append(f"  at {when}" + (f", {took}" if took else ""), style="dim")
            if attempt.get("action"):
                line.append(f"  → action: {attempt['action']}", style="magenta")
            lines.append(line)
    return lines


def summary_line(doc: dict[str, Any]) -> Text:
    """``Success in 2.1s · 5 steps: 4 Success, 1 Skipped``."""
    counts: dict[str, int] = {}
    for entry in doc["nodes"].values():
        if entry.get("kind") == "step":
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    text = Text.assemble(status_text(doc["status"]))
    took = _duration(_seconds(doc.get("started_at"), doc.get("ended_at")))
    if took:
        text.append(f" in {took}")
    steps = sum(counts.values())
    text.append(f" · {steps} step{'s' if steps != 1 else ''}: "
                + ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: -kv[1])),
                style="dim")
    if doc.get("message"):
        text.append(f"\n{doc['message']}", style="dim")
    return text


def run_view(doc: dict[str, Any], details: bool = False, *, outputs: dict[str, Any] | None = None,
             redis_url: str | None = None) -> Group:
    """The tree, then the waiting nodes' commands; with ``details`` also every failure's attempts
    and the summary line (what ``status`` and the end of ``run`` print)."""
    parts: list[Any] = [run_tree(doc, outputs)]
    parts.extend(waiting_hints(doc, redis_url, outputs))
    if details:
        failures = failure_details(doc)
        if failures:
            parts.append(Text(""))
            parts.extend(failures)
        parts.append(summary_line(doc))
    return Group(*parts)
