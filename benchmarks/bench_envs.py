"""Environment speed targets (issues 3 and 10), side by side in one invocation.

    python benchmarks/bench_envs.py [--runs 10] [--builds 3] [--mlflow-venv DIR | --no-mlflow]

- warm run (env cached): mlrun's added wall time over running the same command directly with
  that env's python: <= 0.3 s (median of --runs);
- cold build of an env with numpy and pyyaml: <= 1.3x doing it by hand with ``uv venv`` +
  ``uv pip install --compile-bytecode`` (an env that runs warm at full speed even under
  PYTHONDONTWRITEBYTECODE, which mlrun's lazy compilation gives after one run); the ratio to
  ``uv pip install`` without compiling is reported beside it, as is virtualenv + pip;
- cold env + first run of a numpy + pandas + scikit-learn project (an ElasticNet fit):
  ``mlrun run`` <= 0.7x ``mlflow run --env-manager uv`` on the same project, and both warm.
  MLflow is installed (byte-compiled, as pip would) in a separate benchmark venv, reused with
  ``--mlflow-venv``. Every cold build starts from a warm uv package cache, so none pays the
  download; each tool gets a fresh env cache (MLRUN_CACHE_DIR, MLFLOW_ENV_ROOT) per build.
The environment is the caller's: with PYTHONDONTWRITEBYTECODE set (as on some machines), MLflow's
runs recompile what they import on every run; mlrun's runs compile it once, into the env.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report, wall

DEPS = ["numpy", "pyyaml"]
ML_DEPS = ["numpy", "pandas", "scikit-learn"]
MLFLOW = "mlflow run --env-manager uv"
PYTHON = ".".join(str(part) for part in sys.version_info[:2])
TRAIN = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet

x = pd.DataFrame(np.random.default_rng(0).random((200, 4)), columns=list("abcd"))
model = ElasticNet(alpha=0.1).fit(x, x.sum(axis=1))
print(model.score(x, x.sum(axis=1)))
"""


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )


def make_project(directory: Path, deps: list[str], command: str, files: dict[str, str]) -> Path:
    directory.mkdir()
    lines = "".join(f"  - {dep}\n" for dep in deps)
    (directory / "python_env.yaml").write_text(f"python: '{PYTHON}'\ndependencies:\n{lines}")
    (directory / "MLproject").write_text(
        f"name: bench\npython_env: python_env.yaml\nentry_points:\n  main:\n"
        f"    command: {command}\n"
    )
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def mlflow_venv(uv: str, work: Path, given: str | None) -> Path:
    """A venv with MLflow (byte-compiled, as ``pip install mlflow`` leaves it)."""
    if given:
        return Path(given)
    target = work / "mlflow-venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, str(target)])
    run([uv, "pip", "install", "--python", str(target / "bin" / "python"),
         "--compile-bytecode", "mlflow"])  # fmt: skip
    return target


def main() -> int:  # noqa: PLR0915 - one linear script: set up, measure, report
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--mlflow-venv", help="A venv with mlflow installed (default: make one)")
    parser.add_argument("--no-mlflow", action="store_true", help="Skip the MLflow comparison")
    args = parser.parse_args()
    mlrun = mlrun_exe()
    ensure_bytecode()
    from uv import find_uv_bin

    uv = str(find_uv_bin())
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = make_project(work / "project", DEPS, "python -c pass", {})
        ml_project = make_project(work / "ml", ML_DEPS, "python train.py", {"train.py": TRAIN})

        def env_for(cache: Path) -> dict[str, str]:
            return {**os.environ, "MLRUN_CACHE_DIR": str(cache),
                    "MLRUN_TRACKING_URI": str(work / "store")}  # fmt: skip

        # Warm the package caches (uv's and pip's) so no measured build downloads anything.
        for target, manager in ((project, "uv"), (project, "virtualenv"), (ml_project, "uv")):
            run([mlrun, "env", "build", str(target), "--env-manager", manager],
                env_for(work / "warmup"))  # fmt: skip

        def mlrun_build(manager: str, index: int) -> float:
            cache = work / f"{manager}-{index}"
            argv = [mlrun, "env", "build", str(project), "--env-manager", manager]
            return timed(lambda: run(argv, env_for(cache)))

        def uv_by_hand(index: int, *compile_flag: str) -> float:
            target = work / f"hand-uv-{index}{''.join(compile_flag)}"

            def build() -> None:
                run([uv, "venv", "--quiet", "--python", sys.executable, str(target)])
                run([uv, "pip", "install", "--python", str(target / "bin" / "python"),
                     *compile_flag, *DEPS])  # fmt: skip

            return timed(build)

        def pip_by_hand(index: int) -> float:
            target = work / f"hand-pip-{index}"

            def build() -> None:
                run([sys.executable, "-m", "virtualenv", "--quiet", "--python", sys.executable,
                     str(target)])  # fmt: skip
                run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *DEPS])

            return timed(build)

        hand_uv = statistics.median(uv_by_hand(i) for i in range(args.builds))
        compiled = "--compile-bytecode"
        hand_uvc = statistics.median(uv_by_hand(i, compiled) for i in range(args.builds))
        ours_uv = statistics.median(mlrun_build("uv", i) for i in range(args.builds))
        hand_pip = statistics.median(pip_by_hand(i) for i in range(args.builds))
        ours_pip = statistics.median(mlrun_build("virtualenv", i) for i in range(args.builds))

        # Warm run: the env of the first uv build is cached.
        env = env_for(work / "uv-0")
        (env_root,) = [p for p in (work / "uv-0" / "envs").iterdir() if p.is_dir()]
        direct = median_wall(
            [str(env_root / "bin" / "python"), "-c", "pass"], project, args.runs, env
        )
        warm = median_wall([mlrun, "run", str(project)], work, args.runs, env)
        rows += [
            ("warm run overhead over the env's python", warm - direct, 0.3,
             f"mlrun run {warm:.3f}s vs direct {direct:.3f}s"),
            ("cold build numpy+pyyaml, mlrun (uv)", ours_uv, 1.3 * hand_uvc,
             (f"{ours_uv / hand_uvc:.2f}x uv venv + uv pip install {compiled} by hand "
              f"({hand_uvc:.2f}s); {ours_uv / hand_uv:.2f}x without it ({hand_uv:.2f}s)")),
            ("cold build numpy+pyyaml, mlrun (virtualenv)", ours_pip, None,
             f"{ours_pip / hand_pip:.2f}x virtualenv + pip by hand ({hand_pip:.2f}s)"),
        ]  # fmt: skip

        # Cold env + first run, then warm runs, of the scikit-learn project. With MLflow, the
        # two tools alternate and the ratio is the median of the pairs' ratios: a machine
        # whose load changes during the benchmark slows both sides of a pair alike.
        def mlrun_cold(index: int) -> float:
            argv = [mlrun, "run", str(ml_project)]
            return timed(lambda: run(argv, env_for(work / f"ml-{index}")))

        if args.no_mlflow:
            ours_cold = statistics.median(mlrun_cold(i) for i in range(args.builds))
            ours_warm = median_wall([mlrun, "run", str(ml_project)], work, args.builds,
                                    env_for(work / "ml-0"))  # fmt: skip
            rows += [
                ("cold env + first run, sklearn, mlrun", ours_cold, None, "(no mlflow)"),
                ("warm run, sklearn, mlrun", ours_warm, None, "(no mlflow)"),
            ]
        else:
            mlflow = str(mlflow_venv(uv, work, args.mlflow_venv) / "bin" / "mlflow")

            def mlflow_env(index: int) -> dict[str, str]:
                return {**os.environ, "MLFLOW_ENV_ROOT": str(work / f"mlflow-envs-{index}"),
                        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}  # fmt: skip

            mlflow_argv = [mlflow, "run", str(ml_project), "--env-manager", "uv"]
            run(mlflow_argv, mlflow_env(99))  # warm-up: creates the database, warms caches
            pairs = [
                (mlrun_cold(i), timed(lambda i=i: run(mlflow_argv, mlflow_env(i))))
                for i in range(args.builds)
            ]
            warm_pairs = [
                (wall([mlrun, "run", str(ml_project)], work, env_for(work / "ml-0")),
                 wall(mlflow_argv, work, mlflow_env(0)))
                for _ in range(args.builds)
            ]  # fmt: skip
            for name, measured, share in (("cold env + first run", pairs, 0.7),
                                          ("warm run", warm_pairs, None)):  # fmt: skip
                ours = statistics.median(a for a, _ in measured)
                theirs = statistics.median(b for _, b in measured)
                ratio = statistics.median(a / b for a, b in measured)
                rows.append(
                    (f"{name}, sklearn, mlrun", ours, None if share is None else share * theirs,
                     f"{ratio:.2f}x {MLFLOW} ({theirs:.2f}s; median of pair ratios)")
                )  # fmt: skip
        for leftover in work.glob("hand-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    dont_write = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    print(f"cold builds: median of {args.builds}; warm runs: median of {args.runs} "
          f"(sklearn: {args.builds}); PYTHONDONTWRITEBYTECODE {dont_write}")  # fmt: skip
    return 0 if report(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
