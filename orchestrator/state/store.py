"""The run-state store: every read and write of run state, each write one atomic Lua script.

State layout (all keys of a run share the hash tag ``{run_id}``, see :mod:`keys`):

- ``meta``     hash: rev (optimistic-concurrency revision), status, pipeline, timestamps, links
- ``nodes``    hash: node key -> JSON record (status, attempt, error type, container counters)
- ``attempts`` hash: ``node#n`` -> JSON record of attempt n (start, end, status, error, output)
- ``outputs``  hash: node key -> JSON output of the node's successful attempt
- ``events``   stream: one entry per transition, what ``wait`` and the live view follow
- ``timers``   hash: mirror of the run's entries in the global ``orch:timers`` sorted set
- ``plan``     string: the compiled plan (JSON)

Transitions are computed in Python (:mod:`orchestrator.coordinator`) against a snapshot taken at
revision ``rev`` and applied by ``commit.lua`` only if the revision is unchanged, so a duplicated
or re-delivered message can never advance a run twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import redis

from orchestrator.state.keys import RUNS, SEQUENCES, TIMERS, WORKERS, RunKeys


def _script_source(name: str) -> str:
    return resources.files("orchestrator.state").joinpath("lua", f"{name}.lua").read_text()


@dataclass
class Snapshot:
    """What a transition reads: meta at revision ``rev`` plus some node and output records."""

    run_id: str
    rev: int
    meta: dict[str, str]
    nodes: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any] | None] = field(default_factory=dict)


@dataclass
class Payload:
    """Everything one transition writes (see ``commit.lua``)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    timers_add: dict[str, float] = field(default_factory=dict)
    timers_del: set[str] = field(default_factory=set)
    clear_timers: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    expire: int | None = None

    def is_empty(self) -> bool:
        return not (self.nodes or self.attempts or self.outputs or self.events or self.timers_add
                    or self.timers_del or self.clear_timers or self.meta)

    def to_json(self) -> str:
        doc: dict[str, Any] = {}
        if self.nodes:
            doc["nodes"] = {k: json.dumps(v, separators=(",", ":")) for k, v in self.nodes.items()}
        if self.attempts:
            doc["attempts"] = {k: json.dumps(v, separators=(",", ":")) for k, v in self.attempts.items()}
        if self.outputs:
            doc["outputs"] = {k: json.dumps(v, separators=(",", ":")) for k, v in self.outputs.items()}
        if self.events:
            doc["events"] = [json.dumps(e, separators=(",", ":")) for e in self.events]
        if self.timers_add:
            doc["timers_add"] = [[m, s] for m, s in self.timers_add.items()]
        if self.timers_del:
            doc["timers_del"] = sorted(self.timers_del - set(self.timers_add))
        if self.clear_timers:
            doc["clear_timers"] = True
        if self.meta:
            doc["meta"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.meta.items()}
        if self.expire:
            doc["expire"] = int(self.expire)
        return json.dumps(doc, separators=(",", ":"))


@dataclass
class StartResult:
    started: bool
    snapshot: Snapshot | None = None
    current: dict[str, Any] | None = None
    """When not started: the node record as found (None if the node was never queued)."""


def _loads(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2]))


class RunStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._commit = client.register_script(_script_source("commit"))
        self._start = client.register_script(_script_source("start_attempt"))
        self._read = client.register_script(_script_source("read_state"))
        self._claim = client.register_script(_script_source("claim_timers"))
        self._heartbeat = client.register_script(_script_source("heartbeat"))
        self._create = client.register_script(_script_source("create_run"))

    @classmethod
    def from_url(cls, url: str) -> "RunStore":
        from orchestrator.config import redis_py_url

        url = redis_py_url(url)
        # socket_keepalive is a TCP option: redis-py's Unix-socket connection rejects it
        tcp = {} if url.startswith("unix://") else {"socket_keepalive": True}
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=10,
                                        retry_on_timeout=True, **tcp))

    # --- runs -----------------------------------------------------------------------------
    def create_run(self, run_id: str, plan_json: str, meta: dict[str, Any]) -> bool:
        keys = RunKeys(run_id)
        created = time.time()
        meta = {"created_at": created, **meta}
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
        return bool(self._create(keys=[*keys.script_keys(), RUNS],
                                 args=[run_id, created, plan_json, json.dumps(flat)]))

    def next_sequence_id(self, pipeline: str) -> int:
        """Harness's ``<+pipeline.sequenceId>``: runs of one pipeline numbered 1, 2, 3..."""
        return int(self.redis.hincrby(SEQUENCES, pipeline, 1))

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(RunKeys(run_id).meta))

    def plan_json(self, run_id: str) -> str | None:
        return self.redis.get(RunKeys(run_id).plan)

    def meta(self, run_id: str) -> dict[str, str]:
        return self.redis.hgetall(RunKeys(run_id).meta)

    def list_runs(self, limit: int = 50) -> list[str]:
        """Newest runs first. Entries whose state has expired (retention) are dropped on the way:
        the run list is the one key that does not expire by itself."""
        run_ids = self.redis.zrevrange(RUNS, 0, limit - 1)
        if not run_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for run_id in run_ids:
            pipe.exists(RunKeys(run_id).meta)
        alive = pipe.execute()
        expired = [r for r, ok in zip(run_ids, alive) if not ok]
        if expired:
            self.redis.zrem(RUNS, *expired)
        return [r for r, ok in zip(run_ids, alive) if ok]

    # --- transitions ----------------------------------------------------------------------
    def read(self, run_id: str, nodes: list[str], outputs: list[str] = ()) -> Snapshot:
        keys = RunKeys(run_id)
        nodes = list(dict.fromkeys(nodes))
        outputs = list(dict.fromkeys(outputs))
        meta, node_values, output_values = self._read(
            keys=keys.script_keys()[:4], args=[len(nodes), *nodes, len(outputs), *outputs])
        meta = _pairs(meta)
        return Snapshot(
            run_id=run_id,
            rev=int(meta.get("rev", 0)),
            meta=meta,
            nodes={k: _loads(v) for k, v in zip(nodes, node_values)},
            outputs={k: _loads(v) for k, v in zip(outputs, output_values)},
        )

    def commit(self, run_id: str, rev: int, payload: Payload) -> tuple[bool, int]:
        ok, current = self._commit(keys=RunKeys(run_id).script_keys(), args=[rev, payload.to_json()])
        return bool(ok), int(current)

    def start_attempt(
        self, run_id: str, node: str, attempt: int, *, worker: str, lost_timeout: float,
        timeout: float | None, prefetch_nodes: list[str], prefetch_outputs: list[str], token: str = "",
    ) -> StartResult:
        """Queued -> Running for this attempt, once. Pass the same ``token`` when retrying a call
        whose reply was lost, so the replay is recognised as this worker's own start."""
        nodes = list(dict.fromkeys(prefetch_nodes))
        outputs = list(dict.fromkeys(prefetch_outputs))
        result = self._start(
            keys=RunKeys(run_id).script_keys(),
            args=[run_id, node, attempt, time.time(), worker, lost_timeout, timeout or 0, token or "-",
                  len(nodes), *nodes, len(outputs), *outputs],
        )
        if not result[0]:
            return StartResult(started=False, current=_loads(result[1]) if result[1] else None)
        _, rev, meta, node_values, output_values = result
        return StartResult(
            started=True,
            snapshot=Snapshot(
                run_id=run_id, rev=int(rev), meta=_pairs(meta),
                nodes={k: _loads(v) for k, v in zip(nodes, node_values)},
                outputs={k: _loads(v) for k, v in zip(outputs, output_values)},
            ),
        )

    # --- timers ---------------------------------------------------------------------------
    def claim_timers(self, lease: float, limit: int = 100) -> tuple[list[tuple[str, float]], float | None]:
        due, next_due = self._claim(keys=[TIMERS], args=[time.time(), lease, limit])
        claimed = [(due[i], float(due[i + 1])) for i in range(0, len(due), 2)]
        return claimed, float(next_due) if next_due else None

    def drop_timer(self, run_id: str, member: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(TIMERS, member)
        pipe.hdel(RunKeys(run_id).timers, member)
        pipe.execute()

    def heartbeat(self, members: list[str], deadline: float) -> list[str]:
        if not members:
            return []
        return list(self._heartbeat(keys=[TIMERS], args=[deadline, *members]))

    # --- workers --------------------------------------------------------------------------
    def announce_worker(self, name: str, queues: list[str]) -> None:
        self.redis.hset(WORKERS, name, json.dumps({"queues": queues, "seen": time.time()}))

    def retire_worker(self, name: str) -> None:
        self.redis.hdel(WORKERS, name)

    def queue_depth(self, queue: str) -> int:
        """Messages waiting in a Celery queue on this Redis (kombu keeps a queue as a list)."""
        return int(self.redis.llen(queue))

    def live_queues(self, ttl: float) -> set[str]:
        now = time.time()
        queues: set[str] = set()
        for raw in self.redis.hvals(WORKERS):
            info = json.loads(raw)
            if now - info.get("seen", 0) <= ttl:
                queues.update(info.get("queues", []))
        return queues

    # --- reading for people ---------------------------------------------------------------
    def all_nodes(self, run_id: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.redis.hgetall(RunKeys(run_id).nodes).items()}

    def all_attempts(self, run_id: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.redis.hgetall(RunKeys(run_id).attempts).items()}

    def node(self, run_id: str, key: str) -> dict[str, Any] | None:
        return _loads(self.redis.hget(RunKeys(run_id).nodes, key))

    def output(self, run_id: str, node: str) -> Any:
        return _loads(self.redis.hget(RunKeys(run_id).outputs, node))

    def events(self, run_id: str, after: str = "0-0", count: int | None = None) -> list[tuple[str, dict]]:
        entries = self.redis.xrange(RunKeys(run_id).events, min=f"({after}" if after != "0-0" else "-",
                                    count=count)
        return [(entry_id, json.loads(fields["e"])) for entry_id, fields in entries]

    def last_event_id(self, run_id: str) -> str:
        last = self.redis.xrevrange(RunKeys(run_id).events, count=1)
        return last[0][0] if last else "0-0"

    def wait_events(self, run_id: str, after: str, block_ms: int) -> list[tuple[str, dict]]:
        result = self.redis.xread({RunKeys(run_id).events: after}, block=block_ms, count=500)
        if not result:
            return []
        return [(entry_id, json.loads(fields["e"])) for entry_id, fields in result[0][1]]
