"""Foundation speed targets (issue 2), measured side by side in one invocation.

    python benchmarks/bench_foundation.py [--runs 10]

- ``mlrun --help`` and ``mlrun experiments search``: <= 0.2 s each, reported against
  ``python -c pass``;
- ``mlrun run --env-manager local`` of a trivial entry point: <= 0.3 s more than running the same
  command directly;
- ingesting 100,000 metric points logged by the child: < 2 s after the child exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, wall

TRIVIAL = "entry_points:\n  main:\n    command: python -c pass\n"
MANY = """\
import sys, time, pathlib, mlrun_cli
for i in range(100_000):
    mlrun_cli.log_metric("loss", 1.0 / (i + 1), step=i)
pathlib.Path(sys.argv[1]).write_text(repr(time.time()))
"""


def ingest_seconds(work: Path, mlrun: str) -> float:
    """Seconds between the child's last line and mlrun's exit, for 100,000 points."""
    import subprocess

    project = work / "many"
    project.mkdir()
    done = work / "child-done"
    (project / "MLproject").write_text(
        f"entry_points:\n  main:\n    command: python many.py {done}\n"
    )
    (project / "many.py").write_text(MANY)
    subprocess.run(
        [mlrun, "run", str(project), "--env-manager", "local"], cwd=work, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.time() - float(done.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    mlrun = mlrun_exe()
    ensure_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "MLRUN_TRACKING_URI": str(work / "store")}
        project = work / "trivial"
        project.mkdir()
        (project / "MLproject").write_text(TRIVIAL)
        wall([mlrun, "experiments", "create", "-n", "bench"], work, env)  # a store to search
        py = [sys.executable, "-c", "pass"]
        baseline = median_wall(py, work, args.runs, env)
        help_time = median_wall([mlrun, "--help"], work, args.runs, env)
        search_time = median_wall([mlrun, "experiments", "search"], work, args.runs, env)
        direct = median_wall([sys.executable, "-c", "pass"], project, args.runs, env)
        run_time = median_wall(
            [mlrun, "run", str(project), "--env-manager", "local"], work, args.runs, env
        )
        ingest = ingest_seconds(work, mlrun)
    print(f"python -c pass (baseline): {baseline:.3f}s, median of {args.runs}")
    ok = report(
        [
            ("mlrun --help", help_time, 0.2, f"{help_time / baseline:.1f}x python -c pass"),
            ("mlrun experiments search", search_time, 0.2, f"{search_time / baseline:.1f}x"),
            ("mlrun run (local) overhead over direct", run_time - direct, 0.3,
             f"run {run_time:.3f}s vs direct {direct:.3f}s"),
            ("ingest 100,000 points after child exit", ingest, 2.0, ""),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
