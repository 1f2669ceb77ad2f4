"""Source speed targets (issue 4), side by side in one invocation.

    python benchmarks/bench_sources.py [--runs 10]

- a second run of the same git URI and commit (mirror and checkout cached): <= 0.15 s more than
  the same run from a local folder (median of --runs, both with --env-manager local);
- the dirty snapshot of a repo with 2,000 tracked files and 20 changed: < 0.3 s (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, sh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    from mlrun_cli.source.snapshot import make_snapshot

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        (work / "MLproject").write_text("entry_points:\n  main:\n    command: python -c pass\n")
        for index in range(2000):
            folder = work / f"pkg{index % 40}"
            folder.mkdir(exist_ok=True)
            (folder / f"module{index}.py").write_text(f"VALUE = {index}\n" * 20)
        sh(work, "git", "init", "-q")
        sh(work, "git", "add", ".")
        sh(work, "git", "commit", "-qm", "init")
        commit = sh(work, "git", "rev-parse", "HEAD").strip()
        remote = Path(tmp) / "remote.git"
        sh(Path(tmp), "git", "clone", "-q", "--bare", str(work), str(remote))
        env = {**os.environ, "MLRUN_TRACKING_URI": str(Path(tmp) / "store"),
               "MLRUN_CACHE_DIR": str(Path(tmp) / "cache")}  # fmt: skip
        common = ["--env-manager", "local", "--quiet"]
        local = median_wall([mlrun, "run", str(work), *common], Path(tmp), args.runs, env)
        remote_run = median_wall(
            [mlrun, "run", f"file://{remote}", "--version", commit, *common],
            Path(tmp),
            args.runs,
            env,
        )
        branch = median_wall([mlrun, "run", f"file://{remote}", *common], Path(tmp), args.runs, env)
        for index in range(20):
            (work / f"pkg{index}" / f"module{index}.py").write_text("changed\n")
        times = []
        for _ in range(args.runs + 1):
            started = time.perf_counter()
            make_snapshot(work)
            times.append(time.perf_counter() - started)
        snapshot = statistics.median(times[1:])
    ok = report(
        [
            ("git URI, same commit, over a local folder", remote_run - local, 0.15,
             f"git {remote_run:.3f}s vs local {local:.3f}s"),
            ("git URI, default branch (fetches)", branch - local, None, "reported"),
            ("dirty snapshot, 2,000 files, 20 changed", snapshot, 0.3, ""),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
