"""docker-compose.yml and the Dockerfile, checked offline: `docker-compose config -q` validates the
file (no Docker engine needed) and the rendered configuration is checked structurally."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is needed to validate docker-compose.yml (.ci/run installs it)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWER_", "ORCHESTRATOR_", "WORKER_"))}
    return subprocess.run([binary, "--project-directory", str(ROOT), "-f", str(COMPOSE), *args],
                          env={**clean, **(env or {})}, cwd=ROOT, capture_output=True, text=True, timeout=120)


def rendered(env: dict[str, str]) -> dict:
    result = compose("config", env=env)
    assert result.returncode == 0, result.stderr
    return YAML(typ="safe", pure=True).load(io.StringIO(result.stdout))


def test_compose_file_is_valid_with_flower_credentials_set() -> None:
    result = compose("config", "-q", env={"FLOWER_BASIC_AUTH": "admin:secret"})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_flower_without_credentials() -> None:
    result = compose("config", "-q")
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr


def test_compose_services_redis_aof_scalable_worker_flower_with_auth() -> None:
    services = rendered({"FLOWER_BASIC_AUTH": "admin:secret"})["services"]
    assert {"redis", "worker", "flower"} <= set(services)

    redis = services["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert any(str(v).endswith(":/data") or ":/data:" in str(v) for v in redis["volumes"])

    worker = services["worker"]
    assert "container_name" not in worker, "a fixed name would prevent --scale worker=N"
    assert not worker.get("ports"), "published ports would prevent --scale worker=N"
    assert worker["command"][0] == "worker"
    assert worker["environment"]["ORCHESTRATOR_REDIS_URL"] == "redis://redis:6379/0"
    assert worker.get("init") is True and worker.get("stop_signal") == "SIGTERM"

    flower = services["flower"]
    assert flower["command"][0] == "flower", "Flower starts only through `orchestrator flower` (auth enforced)"
    assert flower["environment"]["ORCHESTRATOR_FLOWER_AUTH"] == "admin:secret"
    for service in services.values():
        assert "container_name" not in service


def test_every_shipped_compose_file_puts_flower_behind_auth() -> None:
    files = sorted(ROOT.glob("docker-compose*.y*ml")) + sorted(ROOT.glob("compose*.y*ml"))
    assert COMPOSE in files
    for path in files:
        text = path.read_text()
        if "flower" in text:
            assert re.search(r"ORCHESTRATOR_FLOWER_AUTH:\s*\$\{FLOWER_BASIC_AUTH:\?", text), path
            assert "FLOWER_UNAUTHENTICATED_API" not in text, path


def test_dockerfile_installs_the_project_on_python_311_slim() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^RUN pip install \.", text, re.M)
    assert re.search(r"^USER (?!root)\S+", text, re.M), "steps never run as root"
    assert '"orchestrator"' in text  # the entry point is the CLI
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored
