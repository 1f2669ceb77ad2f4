"""Startup targets (issues 2 and 12), measured side by side in one invocation.

    python benchmarks/bench_foundation.py [--runs 10]

- ``mlrun --help`` and ``mlrun experiments search``: <= 4x ``python -c pass`` (measured here,
  in the same invocation); ``runs search``, ``runs plot`` and a shell completion of run ids are
  reported beside them, with ``python -c "import typer"`` (the parser's own floor, which the fast
  path of cli/_fast.py skips) and the import of the SQLite store (the floor of a search);
- ``mlrun run --env-manager local`` of a trivial entry point (warm: its MLproject parse is
  cached): <= 0.1 s more than running the same command directly, for a plain folder and for a
  git checkout (its default store ./mlruns ignored by git);
- ingesting 100,000 metric points logged by the child: < 2 s after the child exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, sh, wall

TRIVIAL = "entry_points:\n  main:\n    command: python -c pass\n"
CURVE = (
    'entry_points:\n  main:\n    command: python -c "import mlrun_cli; '
    "[mlrun_cli.log_metric('loss', 1 / (i + 1), step=i) for i in range(200)]\"\n"
)
MANY = """\
import sys, time, pathlib, mlrun_cli
for i in range(100_000):
    mlrun_cli.log_metric("loss", 1.0 / (i + 1), step=i)
pathlib.Path(sys.argv[1]).write_text(repr(time.time()))
"""


def wall_output(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of one command (setup, not timed)."""
    import subprocess

    return subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


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
        # Its own cache: the first --help renders and keeps the text, the warm-up call does that.
        env = {**os.environ, "MLRUN_TRACKING_URI": str(work / "store"),
               "MLRUN_CACHE_DIR": str(work / "cache")}  # fmt: skip
        project = work / "trivial"
        project.mkdir()
        (project / "MLproject").write_text(TRIVIAL)
        wall([mlrun, "experiments", "create", "-n", "bench"], work, env)  # a store to search
        py = [sys.executable, "-c", "pass"]
        baseline = median_wall(py, work, args.runs, env)
        typer_floor = median_wall([sys.executable, "-c", "import typer"], work, args.runs, env)
        store_floor = median_wall([sys.executable, "-c", "import mlrun_cli.tracking.sqlite"], work,
                                  args.runs, env)  # fmt: skip
        help_time = median_wall([mlrun, "--help"], work, args.runs, env)
        search_time = median_wall([mlrun, "experiments", "search"], work, args.runs, env)
        direct = median_wall([sys.executable, "-c", "pass"], project, args.runs, env)
        run_time = median_wall(
            [mlrun, "run", str(project), "--env-manager", "local"], work, args.runs, env
        )
        # The same project as a git checkout (./mlruns ignored, the default store inside it):
        # git rev-parse and status before, the stray-file scan after.
        repo = work / "trivial-git"
        repo.mkdir()
        (repo / "MLproject").write_text(TRIVIAL)
        (repo / ".gitignore").write_text("mlruns/\n")
        sh(repo, "git", "init", "-q")
        sh(repo, "git", "add", ".")
        sh(repo, "git", "commit", "-q", "-m", "trivial")
        in_repo = {k: v for k, v in env.items() if k != "MLRUN_TRACKING_URI"}
        run_git = median_wall([mlrun, "run", ".", "--env-manager", "local"], repo, args.runs,
                              in_repo)  # fmt: skip
        run_typer = median_wall(
            [mlrun, "--debug", "run", str(project), "--env-manager", "local"], work, args.runs, env
        )
        runs_search = median_wall([mlrun, "runs", "search"], work, args.runs, env)
        search_help = median_wall([mlrun, "runs", "search", "--help"], work, args.runs, env)
        typer_path = median_wall([mlrun, "--debug", "experiments", "search"], work, args.runs, env)
        curve = work / "curve"
        curve.mkdir()
        (curve / "MLproject").write_text(CURVE)
        wall([mlrun, "run", str(curve), "--env-manager", "local"], work, env)
        run_id = wall_output([mlrun, "runs", "search", "--filter", "metrics.loss > 0", "-f", "csv",
                              "--columns", "run_id"], work, env).splitlines()[1]  # fmt: skip
        plot_time = median_wall([mlrun, "runs", "plot", run_id], work, args.runs, env)
        completion = {**env, "_MLRUN_COMPLETE": "complete_bash",
                      "COMP_WORDS": "mlrun runs show ", "COMP_CWORD": "3"}  # fmt: skip
        complete_time = median_wall([mlrun], work, args.runs, completion)
        ingest = ingest_seconds(work, mlrun)
    print(f"python -c pass (baseline): {baseline:.3f}s, median of {args.runs}")

    def ratio(value: float) -> str:
        return f"{value / baseline:.1f}x python -c pass"

    ok = report(
        [
            ('python -c "import typer" (parser floor)', typer_floor, None, ratio(typer_floor)),
            ('python -c "import mlrun_cli.tracking.sqlite"', store_floor, None,
             ratio(store_floor) + " (the store's floor)"),
            ("mlrun --help", help_time, 4 * baseline, ratio(help_time)),
            ("mlrun experiments search", search_time, 4 * baseline, ratio(search_time)),
            ("mlrun run (local) overhead over direct", run_time - direct, 0.1,
             f"run {run_time:.3f}s vs direct {direct:.3f}s ({run_time / direct:.1f}x)"),
            ("mlrun run (local, git checkout) overhead", run_git - direct, 0.1,
             f"run {run_git:.3f}s vs direct {direct:.3f}s ({run_git / direct:.1f}x)"),
            ("mlrun --debug run (local, typer path) overhead", run_typer - direct, None, ""),
            ("mlrun runs search", runs_search, None, ratio(runs_search)),
            ("mlrun runs search --help", search_help, None, ratio(search_help)),
            ("mlrun --debug experiments search (typer path)", typer_path, None,
             ratio(typer_path)),
            ("mlrun runs plot (terminal)", plot_time, None, ratio(plot_time)),
            ("completion of run ids (TAB)", complete_time, None, ratio(complete_time)),
            ("ingest 100,000 points after child exit", ingest, 2.0, ""),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
