"""Run-state store on Redis: keys, Lua scripts, and the RunStore that applies them."""

from orchestrator.state.store import Payload, RunStore, Snapshot, StartResult

__all__ = ["Payload", "RunStore", "Snapshot", "StartResult"]
