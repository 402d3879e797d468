"""Redis key names. Every key of one run shares the hash tag ``{run_id}`` (Redis Cluster ready).

Cross-run keys are few: ``orch:timers`` (every deadline of every run), ``orch:runs`` (run list),
``orch:workers`` (live workers and the queues they consume) and ``orch:sequences`` (run numbers
per pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "orch"
TIMERS = f"{PREFIX}:timers"
RUNS = f"{PREFIX}:runs"
WORKERS = f"{PREFIX}:workers"
SEQUENCES = f"{PREFIX}:sequences"


@dataclass(frozen=True)
class RunKeys:
    run_id: str

    def _key(self, part: str) -> str:
        return f"{PREFIX}:run:{{{self.run_id}}}:{part}"

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def nodes(self) -> str:
        return self._key("nodes")

    @property
    def attempts(self) -> str:
        return self._key("attempts")

    @property
    def outputs(self) -> str:
        return self._key("outputs")

    @property
    def events(self) -> str:
        return self._key("events")

    @property
    def timers(self) -> str:
        """Mirror of this run's entries in ``orch:timers`` so a finished run can clear them all."""
        return self._key("timers")

    @property
    def plan(self) -> str:
        return self._key("plan")

    def script_keys(self) -> list[str]:
        """KEYS for the Lua scripts, in the order they expect."""
        return [self.meta, self.nodes, self.attempts, self.outputs, self.events, self.timers, TIMERS, self.plan]


def timer_member(run_id: str, kind: str, node: str, attempt: int | str = 0) -> str:
    return f"{run_id}|{kind}|{node}|{attempt}"


def parse_timer_member(member: str) -> tuple[str, str, str, int]:
    run_id, kind, node, attempt = member.split("|", 3)
    return run_id, kind, node, int(attempt)
