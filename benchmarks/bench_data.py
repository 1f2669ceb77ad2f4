"""Data speed targets (issue 5), side by side in one invocation.

    python benchmarks/bench_data.py [--runs 10] [--mb 200]

- pinning and verifying a 200 MB tracked dataset that is already in place: <= 0.15 s more per
  run than the same project without DVC (median of --runs; hashes are remembered by stat, as
  DVC does, so only the first run reads the data);
- pulling it into a fresh clone: mlrun's run (fetch + verify + run) beside `dvc pull` by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, sh

MLPROJECT = "entry_points:\n  main:\n    command: python -c pass\n"


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    dvc = shutil.which("dvc")
    if dvc is None:
        sys.exit("dvc is not installed: pip install 'mlrun-cli[dvc]'")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        (repo / "data" / "shards").mkdir(parents=True)
        for index in range(args.mb):
            (repo / "data" / "shards" / f"part-{index:04d}.bin").write_bytes(os.urandom(1 << 20))
        (repo / "MLproject").write_text(MLPROJECT)
        sh(repo, "git", "init", "-q")
        sh(repo, dvc, "init", "-q")
        sh(repo, dvc, "remote", "add", "-q", "-d", "store", str(base / "remote"))
        sh(repo, dvc, "add", "-q", "data/shards")
        sh(repo, dvc, "push", "-q")
        sh(repo, "git", "add", "-A")
        sh(repo, "git", "commit", "-qm", "data")
        plain = base / "plain"
        plain.mkdir()
        (plain / "MLproject").write_text(MLPROJECT)
        env = {**os.environ, "MLRUN_TRACKING_URI": str(base / "store"),
               "MLRUN_CACHE_DIR": str(base / "cache")}  # fmt: skip
        common = ["--env-manager", "local", "--quiet"]
        with_dvc = median_wall([mlrun, "run", str(repo), *common], base, args.runs, env)
        without = median_wall([mlrun, "run", str(plain), *common], base, args.runs, env)
        for name in ("clone-mlrun", "clone-dvc"):
            sh(base, "git", "clone", "-q", str(repo), str(base / name))
        pull_mlrun = timed([mlrun, "run", str(base / "clone-mlrun"), *common], base, env)
        pull_dvc = timed([dvc, "pull", "-q"], base / "clone-dvc", env)
    ok = report(
        [
            (f"verify {args.mb} MB in place, over no DVC", with_dvc - without, 0.15,
             f"{with_dvc:.3f}s vs {without:.3f}s"),
            (f"fresh clone: mlrun run (pull {args.mb} MB + run)", pull_mlrun, None,
             f"dvc pull by hand: {pull_dvc:.2f}s"),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
