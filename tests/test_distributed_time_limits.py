"""On prefork workers, a Python step that outlives its timeout is interrupted by Celery's soft
time limit (it cannot be killed from outside its thread), so its pool process is free again."""

from __future__ import annotations

import time
from pathlib import Path

from tests.pipeline_builders import pipeline, py, stage
from tests.process_helpers import Cluster


def test_a_python_step_past_its_timeout_is_interrupted(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_worker("cpu", concurrency=1)
    client = cluster.client()
    mark = tmp_path / "finished"
    doc = client.submit(pipeline("soft_limit", [stage("s", [
        py("slow", "sleep_then_touch", kwargs={"seconds": 8, "path": str(mark)}, timeout="1s"),
        py("next", when={"stageStatus": "All"}),
    ])])).wait(120)
    assert doc["nodes"]["s.slow"]["status"] == "Expired"
    assert doc["nodes"]["s.slow"]["error_type"] == "Timeout"
    assert doc["nodes"]["s.next"]["status"] == "Success"
    time.sleep(9)  # longer than the step would have slept: it must not have finished
    assert not mark.exists(), "the step ran on after its timeout: the soft time limit did not interrupt it"
