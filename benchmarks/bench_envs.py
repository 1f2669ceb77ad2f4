"""Environment speed targets (issue 3), side by side in one invocation.

    python benchmarks/bench_envs.py [--runs 10] [--builds 3]

- warm run (env cached): mlrun's added wall time over running the same command directly with
  that env's python: <= 0.3 s (median of --runs);
- cold build of an env with numpy and pyyaml: <= 1.3x doing the same by hand with
  ``uv venv`` + ``uv pip install --compile-bytecode`` (median of --builds; both start from a warm
  uv package cache, so neither pays the download); virtualenv + pip reported beside it.
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

from _timing import ensure_bytecode, median_wall, mlrun_exe, report

DEPS = ["numpy", "pyyaml"]
PYTHON = ".".join(str(part) for part in sys.version_info[:2])


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--builds", type=int, default=3)
    args = parser.parse_args()
    mlrun = mlrun_exe()
    ensure_bytecode()
    from uv import find_uv_bin

    uv = str(find_uv_bin())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        deps = "".join(f"  - {dep}\n" for dep in DEPS)
        (project / "python_env.yaml").write_text(f"python: '{PYTHON}'\ndependencies:\n{deps}")
        (project / "MLproject").write_text("entry_points:\n  main:\n    command: python -c pass\n")

        def env_for(cache: Path) -> dict[str, str]:
            return {**os.environ, "MLRUN_CACHE_DIR": str(cache),
                    "MLRUN_TRACKING_URI": str(work / "store")}  # fmt: skip

        # Warm the package caches (uv's and pip's) so no measured build downloads anything.
        run([mlrun, "env", "build", str(project)], env_for(work / "warmup"))
        run(
            [mlrun, "env", "build", str(project), "--env-manager", "virtualenv"],
            env_for(work / "warmup"),
        )

        def mlrun_build(manager: str, index: int) -> float:
            cache = work / f"{manager}-{index}"
            argv = [mlrun, "env", "build", str(project), "--env-manager", manager]
            return timed(lambda: run(argv, env_for(cache)))

        def uv_by_hand(index: int) -> float:
            target = work / f"hand-uv-{index}"

            def build() -> None:
                run([uv, "venv", "--quiet", "--python", sys.executable, str(target)])
                run([uv, "pip", "install", "--python", str(target / "bin" / "python"),
                     "--compile-bytecode", *DEPS])  # fmt: skip

            return timed(build)

        def pip_by_hand(index: int) -> float:
            target = work / f"hand-pip-{index}"

            def build() -> None:
                run([sys.executable, "-m", "virtualenv", "--quiet", "--python", sys.executable,
                     str(target)])  # fmt: skip
                run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *DEPS])

            return timed(build)

        import statistics

        hand_uv = statistics.median(uv_by_hand(i) for i in range(args.builds))
        ours_uv = statistics.median(mlrun_build("uv", i) for i in range(args.builds))
        hand_pip = statistics.median(pip_by_hand(i) for i in range(args.builds))
        ours_pip = statistics.median(mlrun_build("virtualenv", i) for i in range(args.builds))

        # Warm run: the env of the first uv build is cached.
        cache = work / "uv-0"
        env = env_for(cache)
        (env_root,) = [p for p in (cache / "envs").iterdir() if p.is_dir()]
        direct = median_wall(
            [str(env_root / "bin" / "python"), "-c", "pass"], project, args.runs, env
        )
        warm = median_wall([mlrun, "run", str(project)], work, args.runs, env)
        for leftover in work.glob("hand-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    print(f"cold builds: median of {args.builds}; warm runs: median of {args.runs}")
    ok = report(
        [
            ("warm run overhead over the env's python", warm - direct, 0.3,
             f"mlrun run {warm:.3f}s vs direct {direct:.3f}s"),
            ("cold build numpy+pyyaml, mlrun (uv)", ours_uv, 1.3 * hand_uv,
             f"{ours_uv / hand_uv:.2f}x uv venv + uv pip install by hand ({hand_uv:.2f}s)"),
            ("cold build numpy+pyyaml, mlrun (virtualenv)", ours_pip, None,
             f"{ours_pip / hand_pip:.2f}x virtualenv + pip by hand ({hand_pip:.2f}s)"),
        ]
    )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
