"""Rich rendering of runs: the node tree with statuses, failures with their attempts, and the
operator commands a waiting node needs."""

from __future__ import annotations

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


def status_text(status: str) -> Text:
    icon, style = STATUS_STYLE.get(status, ("?", ""))
    return Text(f"{icon} {status}", style=style)


def _label(key: str, entry: dict[str, Any]) -> Text:
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
        text.append(f"  [{entry['error_type']}] {entry.get('message') or ''}", style="red")
    if entry.get("action"):
        text.append(f"  action: {entry['action']}", style="magenta")
    if entry.get("child_run_id"):
        text.append(f"  child run: {entry['child_run_id']}", style="dim")
    return text


def run_tree(doc: dict[str, Any]) -> Tree:
    root = Tree(Text.assemble((f"{doc['pipeline']} ", "bold"), (f"run {doc['run_id']}  ", "dim"),
                              status_text(doc["status"])))
    branches: dict[str, Tree] = {}
    for key, entry in doc["nodes"].items():
        parent_key = key.rsplit(".", 1)[0] if "." in key else None
        if parent_key and parent_key.endswith(".rollback"):
            owner = parent_key[: -len(".rollback")]
            holder = branches.get(parent_key)
            if holder is None and owner in branches:
                holder = branches[owner].add(Text("rollback", style="magenta"))
                branches[parent_key] = holder
            parent = holder
        else:
            parent = branches.get(parent_key) if parent_key else None
        branches[key] = (parent or root).add(_label(key, entry))
    return root


def waiting_hints(doc: dict[str, Any]) -> list[Text]:
    hints = []
    for key, entry in doc["nodes"].items():
        if entry["status"] == "InterventionWaiting":
            hints.append(Text(
                f"{key} waits for intervention ({entry.get('error_type')}: {entry.get('message') or ''}). "
                f"Answer with: orchestrator intervene {doc['run_id']} {key} "
                "<Retry|Ignore|MarkAsSuccess|MarkAsFailure|Abort|StageRollback|StepGroupRollback|PipelineRollback>",
                style="bold yellow"))
        elif entry["status"] == "ApprovalWaiting":
            hints.append(Text(f"{key} waits for approval: orchestrator approve {doc['run_id']} {key}  "
                              f"(or reject)", style="bold yellow"))
    return hints


def failure_details(doc: dict[str, Any]) -> list[Text]:
    lines = []
    for key, entry in doc["nodes"].items():
        if entry.get("kind") != "step" or entry["status"] in ("Success", "Skipped", "NotStarted", "Queued", "Running"):
            continue
        if not entry.get("attempt_log"):
            continue
        lines.append(Text(f"{key}: {entry['status']}", style="bold"))
        for attempt in entry["attempt_log"]:
            parts = [f"  attempt {attempt.get('attempt')}: {attempt.get('status')}"]
            if attempt.get("error_type"):
                parts.append(f"[{attempt['error_type']}] {attempt.get('message') or ''}")
            if attempt.get("action"):
                parts.append(f"-> {attempt['action']}")
            if attempt.get("started_at"):
                parts.append(f"({attempt['started_at']} .. {attempt.get('ended_at') or ''})")
            lines.append(Text(" ".join(parts), style="dim"))
    return lines


def run_view(doc: dict[str, Any], details: bool = False) -> Group:
    parts: list[Any] = [run_tree(doc)]
    parts.extend(waiting_hints(doc))
    if details:
        parts.extend(failure_details(doc))
    return Group(*parts)
