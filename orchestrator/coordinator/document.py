"""The run document (SPEC §10): what ``status --json``, ``run --json`` and ``RunHandle.wait``
return, built from the plan (every node, in execution order) and the run's records."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from orchestrator.coordinator.statuses import Status
from orchestrator.plan.model import Plan
from orchestrator.state.store import RunStore

_TIMESTAMPS = ("started_at", "ended_at")


def iso(ts: float | str | None) -> str | None:
    if ts in (None, ""):
        return None
    return datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat(timespec="milliseconds")


def _meta_value(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def run_document(store: RunStore, plan: Plan, run_id: str, *, attempts: bool = True) -> dict[str, Any]:
    meta = store.meta(run_id)
    records = store.all_nodes(run_id)
    attempt_records = store.all_attempts(run_id) if attempts else {}
    by_node: dict[str, list[dict[str, Any]]] = {}
    for field, record in attempt_records.items():
        node = field.rsplit("#", 1)[0]
        by_node.setdefault(node, []).append(record)
    nodes: dict[str, Any] = {}
    for key in plan.order:
        node = plan.node(key)
        if node.kind == "rollback":
            continue
        record = records.get(key) or {"status": Status.NOT_STARTED}
        entry: dict[str, Any] = {"kind": node.kind, "status": record.get("status", Status.NOT_STARTED)}
        if node.kind == "step":
            entry["type"] = node.step_type
            entry["attempts"] = int(record.get("attempt", 0))
        for field in ("error_type", "message", "action", "child_run_id"):
            if record.get(field):
                entry[field] = record[field]
        for field in _TIMESTAMPS:
            if record.get(field):
                entry[field] = iso(record[field])
        if node.kind == "step" and by_node.get(key):
            entry["attempt_log"] = [
                {**{k: v for k, v in a.items() if k not in _TIMESTAMPS},
                 **{k: iso(a[k]) for k in _TIMESTAMPS if a.get(k)}}
                for a in sorted(by_node[key], key=lambda a: a.get("attempt", 0))
            ]
        nodes[key] = entry
    return {
        "run_id": run_id,
        "pipeline": meta.get("pipeline", plan.pipeline),
        "status": meta.get("status", Status.NOT_STARTED),
        "parent_run_id": meta.get("parent_run_id") or None,
        "parent_node": meta.get("parent_node") or None,
        "created_at": iso(_meta_value(meta.get("created_at"))),
        "started_at": iso(_meta_value(meta.get("started_at"))),
        "ended_at": iso(_meta_value(meta.get("ended_at"))),
        "message": meta.get("message") or None,
        "nodes": nodes,
    }
