"""Reproduce and --reuse speed targets (issue 7), side by side in one invocation.

    python benchmarks/bench_reproduce.py [--runs 10]

On a git + DVC project with an isolated (uv) environment, everything cached:
- `mlrun run --reuse` that finds the finished run: <= 0.3 s wall (median);
- `mlrun reproduce RUN_ID` with env, checkout and data cached: <= 0.5 s more than running the
  entry point alone with the environment's python (median).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, sh

TRAIN = (
    "import mlrun_cli, pathlib\n"
    "mlrun_cli.log_metric('n', len(pathlib.Path('data/d.txt').read_text()))\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    dvc = shutil.which("dvc")
    if dvc is None:
        sys.exit("dvc is not installed: pip install 'mlrun-cli[dvc]'")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        proj = base / "proj"
        (proj / "data").mkdir(parents=True)
        sh(proj, "git", "init", "-q")
        sh(proj, dvc, "init", "-q")
        sh(proj, dvc, "remote", "add", "-q", "-d", "store", str(base / "remote"))
        (proj / "MLproject").write_text("entry_points:\n  main:\n    command: python train.py\n")
        version = ".".join(str(p) for p in sys.version_info[:2])
        (proj / "python_env.yaml").write_text(f"python: '{version}'\ndependencies: []\n")
        (proj / "train.py").write_text(TRAIN)
        (proj / "data" / "d.txt").write_text("x" * 1000)
        sh(proj, dvc, "add", "-q", "data/d.txt")
        sh(proj, dvc, "push", "-q")
        sh(proj, "git", "add", "-A")
        sh(proj, "git", "commit", "-qm", "init")
        env = {**os.environ, "MLRUN_TRACKING_URI": str(base / "store"),
               "MLRUN_CACHE_DIR": str(base / "cache")}  # fmt: skip
        first = subprocess.run(
            [mlrun, "run", str(proj), "--json"], cwd=base, env=env, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        run_id = json.loads(first.stdout)["run_id"]
        # The first reproduce builds the from-lock env and the checkout; the timed ones reuse them.
        subprocess.run([mlrun, "reproduce", run_id], cwd=base, env=env, capture_output=True,
                       check=True)  # fmt: skip
        reuse = median_wall([mlrun, "run", str(proj), "--reuse", "--quiet"], base, args.runs, env)
        reproduce = median_wall([mlrun, "reproduce", run_id, "--quiet"], base, args.runs, env)
        envs = base / "cache" / "envs"
        (env_root,) = [p for p in envs.iterdir() if p.is_dir() and p.name.startswith("L")]
        alone_env = {**env, "MLRUN_EVENTS": str(base / "events.jsonl"),
                     "MLRUN_ARTIFACT_DIR": str(base / "artifacts")}  # fmt: skip
        python = str(env_root / "bin" / "python")
        alone = median_wall([python, "train.py"], proj, args.runs, alone_env)
    ok = report(
        [
            ("mlrun run --reuse (hit)", reuse, 0.3, ""),
            ("mlrun reproduce, all cached, over the entry point", reproduce - alone, 0.5,
             f"reproduce {reproduce:.3f}s vs entry point alone {alone:.3f}s"),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
