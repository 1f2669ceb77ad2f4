"""`mlrun ui` as users meet it: its errors, and pages over runs recorded by a real `mlrun run`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mlrun_cli.tracking.store import open_store
from mlrun_cli.ui.app import create_app
from tests.conftest import run_mlrun, write_project

TRAIN = """\
import mlrun_cli, pathlib, sys
alpha = float(sys.argv[1])
for step in range(30):
    mlrun_cli.log_metric("loss", 1.0 / (step + 1 + alpha), step=step)
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/report.json").write_text('{"alpha": %s}' % alpha)
mlrun_cli.log_artifact("out/report.json")
print("trained with <alpha>", alpha)
"""
MLPROJECT = """\
name: tiny
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: python train.py {alpha}
"""


def test_no_store_is_one_error_line(tmp_path: Path) -> None:
    result = run_mlrun("ui", "--tracking-uri", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no tracking store at ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "nothing").exists()  # nothing created


def test_a_bad_port_is_a_usage_error(tmp_path: Path) -> None:
    result = run_mlrun("ui", "--port", "70000")
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_port_is_one_error_line(tmp_path: Path) -> None:
    import socket

    open_store(str(tmp_path / "store")).close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_mlrun("ui", "--tracking-uri", str(tmp_path / "store"), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: --port {port}: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_pages_over_real_runs(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", MLPROJECT, {"train.py": TRAIN})
    ids = []
    for alpha in ("0.5", "2"):
        result = run_mlrun("run", str(project), "--env-manager", "local", "-P", f"alpha={alpha}",
                           "--experiment-name", "tiny", "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        ids.append(json.loads(result.stdout)["run_id"])
    client = TestClient(create_app(lambda: open_store(None, create=False)))
    page = client.get(f"/runs/{ids[0]}").text
    assert "trained with &lt;alpha&gt; 0.5" in page  # the output log, escaped
    assert "report.json" in page
    assert f"mlrun reproduce {ids[0]} --verify" in page
    report = next(a for a in ("out/report.json", "report.json") if a in page)
    preview = client.get(f"/runs/{ids[0]}/files/{report}")
    assert preview.status_code == 200
    assert "&#34;alpha&#34;: 0.5" in preview.text  # JSON, pretty-printed and escaped
    runs = client.get("/runs", params={"filter": "params.alpha = '0.5'"}).text
    assert ids[0] in runs
    assert ids[1] not in runs
    compare = client.get("/compare", params={"run": ids}).text
    assert re.search(r'<tr class="differs"><th class="mono">alpha</th>', compare)
    curves = client.get("/compare/curves.json", params={"key": "loss", "runs": ids}).json()
    assert len(curves["x"]) == 30
