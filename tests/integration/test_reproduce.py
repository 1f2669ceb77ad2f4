"""Reproduce, --reuse and the CI contract, end to end with real git, DVC and environments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, mlrun_argv, run_mlrun, sh
from tests.packages import make_wheel

pytestmark = pytest.mark.integration

TRAIN = """\
import json, pathlib, sys, tempfile, mlrun_cli, tinypkg
from weights import WEIGHT
rows = pathlib.Path("data/values.txt").read_text().split()
score = sum(float(x) for x in rows) * WEIGHT * float(sys.argv[1])
mlrun_cli.log_metric("score", score)
mlrun_cli.set_tag("pkg", tinypkg.VERSION)
with tempfile.TemporaryDirectory() as tmp:
    out = pathlib.Path(tmp) / "result.json"
    out.write_text(json.dumps({"score": score}))
    mlrun_cli.log_artifact(str(out))
"""
NOISY = "import random, mlrun_cli\nmlrun_cli.log_metric('score', random.random())\n"


def env_file(wheels: Path, version: str) -> str:
    return (f"python: '3.11'\ndependencies:\n  - --no-index\n  - --find-links {wheels}\n"
            f"  - tinypkg=={version}\n")  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypkg", "1.0")
    make_wheel(wheels, "tinypkg", "2.0")
    repo = tmp_path / "repo"
    proj = repo / "proj"
    (proj / "data").mkdir(parents=True)
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(proj, "dvc", "init", "-q", "--subdir")
    sh(proj, "dvc", "remote", "add", "-q", "-d", "store", str(tmp_path / "dvc-remote"))
    (proj / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters: {scale: {type: float, default: 1}}\n"
        "    command: python train.py {scale}\n  noisy:\n    command: python noisy.py\n"
    )
    (proj / "python_env.yaml").write_text(env_file(wheels, "1.0"))
    (proj / "train.py").write_text(TRAIN)
    (proj / "noisy.py").write_text(NOISY)
    (proj / "weights.py").write_text("WEIGHT = 2.0\n")
    (proj / "data" / "values.txt").write_text("1 2 3\n")
    sh(proj, "dvc", "add", "-q", "data/values.txt")
    sh(proj, "dvc", "push", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    return proj


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = run_mlrun("run", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def move_everything_on(proj: Path) -> None:
    """Change the code, bump the dependency, replace the data, and commit all that."""
    (proj / "weights.py").write_text("WEIGHT = 3.0\n")
    wheels = (proj / "python_env.yaml").read_text().split("--find-links ")[1].split()[0]
    (proj / "python_env.yaml").write_text(env_file(Path(wheels), "2.0"))
    (proj / "data" / "values.txt").write_text("10 20 30\n")
    sh(proj, "dvc", "add", "-q", "data/values.txt")
    sh(proj, "dvc", "push", "-q")
    sh(proj.parent, "git", "add", "-A")
    sh(proj.parent, "git", "commit", "-qm", "v2")


def test_reproduce_after_code_deps_and_data_moved_on(project: Path) -> None:
    original = run_json(str(project))
    assert (original["metrics"]["score"], original["tags"]["pkg"]) == (12.0, "1.0")
    move_everything_on(project)
    now = run_json(str(project))
    assert (now["metrics"]["score"], now["tags"]["pkg"]) == (180.0, "2.0")
    summary = project.parent.parent / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run(
        mlrun_argv("reproduce", original["run_id"], "--verify", "--json"),
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verified"] is True
    run = doc["run"]
    assert (run["metrics"]["score"], run["tags"]["pkg"]) == (12.0, "1.0")
    assert run["tags"]["mlrun.reproduces"] == original["run_id"]
    assert run["fingerprint"] == original["fingerprint"]
    assert run["source"]["commit"] == original["source"]["commit"]
    assert {c["kind"] for c in doc["checks"]} == {"metric", "artifact"}
    text = summary.read_text()
    assert f"### mlrun reproduce {original['run_id']}" in text
    assert "| metric | score | 12.0 | 12.0 | yes |" in text
    # The project folder itself was left as it is now.
    assert (project / "weights.py").read_text() == "WEIGHT = 3.0\n"
    assert (project / "data" / "values.txt").read_text() == "10 20 30\n"


def test_verify_mismatch_exits_6_with_a_table(project: Path) -> None:
    original = run_json(str(project), "-e", "noisy")
    result = run_mlrun("reproduce", original["run_id"], "--verify")
    assert result.returncode == 6, result.stderr
    assert "metric  score" in result.stdout
    assert "NO" in result.stdout
    assert "MISMATCH (exit 6)" in result.stderr
    loose = run_mlrun("reproduce", original["run_id"], "--verify", "--atol", "1")
    assert loose.returncode == 0


def test_reproduce_errors(project: Path, tmp_path: Path) -> None:
    original = run_json(str(project))
    gone = run_mlrun("reproduce", "abcdef12")
    assert gone.returncode == 2
    shutil.rmtree(project.parent / ".git")
    result = run_mlrun("reproduce", original["run_id"])
    assert result.returncode == 4
    assert "cannot reproduce: the repository" in result.stderr


def test_reuse_skips_only_identical_runs(project: Path) -> None:
    first = run_json(str(project), "--reuse")
    assert first["reused"] is False
    again = run_json(str(project), "--reuse")
    assert (again["reused"], again["run_id"]) == (True, first["run_id"])
    quiet = run_mlrun("run", str(project), "--reuse", "--quiet")
    assert quiet.stdout.strip() == first["run_id"]

    def fresh(*args: str) -> dict:  # type: ignore[type-arg]
        run = run_json(str(project), "--reuse", *args)
        assert run["reused"] is False, args
        assert run["fingerprint"] != first["fingerprint"], args
        return run

    fresh("-P", "scale=2")  # params
    fresh("-e", "noisy")  # entry point
    other = run_json(str(project), "--reuse", "--experiment-name", "other")
    assert other["reused"] is False  # --reuse looks within the experiment only
    assert other["fingerprint"] == first["fingerprint"]
    (project / "weights.py").write_text("WEIGHT = 2.5\n")
    fresh()  # dirty snapshot
    sh(project.parent, "git", "commit", "-qam", "code")
    fresh()  # commit
    (project / "data" / "values.txt").write_text("4 5 6\n")
    sh(project, "dvc", "add", "-q", "data/values.txt")
    sh(project.parent, "git", "commit", "-qam", "data")
    fresh()  # data
    (project / "python_env.yaml").write_text(
        (project / "python_env.yaml").read_text().replace("1.0", "2.0")
    )
    sh(project.parent, "git", "commit", "-qam", "deps")
    fresh()  # env lock
    finished = run_json(str(project), "--reuse")
    assert finished["reused"] is True


def test_subdirectory_is_part_of_the_fingerprint(project: Path) -> None:
    from mlrun_cli.execution.fingerprint import fingerprint
    from mlrun_cli.tracking.models import CodeVersion

    base = CodeVersion("git", "u", "c" * 40, dirty=False, subdirectory="a")
    args = ("main", [("x", "1")], "d", "e", "3.11.7", "linux-x86_64")
    assert fingerprint(base, *args) != fingerprint(
        CodeVersion("git", "u", "c" * 40, dirty=False, subdirectory="b"), *args
    )
    assert fingerprint(base, *args[:-2], "3.12.1", args[-1]) != fingerprint(base, *args)
    assert fingerprint(base, *args[:-1], "macosx-14-arm64") != fingerprint(base, *args)
    assert fingerprint(base, *args, inputs=[("data", "a" * 32)]) != fingerprint(base, *args)
    assert fingerprint(base, *args).startswith("fp2:")


def test_json_outputs_match_the_documented_schemas(project: Path) -> None:
    import jsonschema
    from referencing import Registry, Resource

    schemas = {p.name: json.loads(p.read_text()) for p in (REPO / "docs" / "schema").glob("*.json")}
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )

    def check(document: object, name: str) -> None:
        jsonschema.Draft202012Validator(schemas[name], registry=registry).validate(document)

    run = run_json(str(project))
    check(run, "run.schema.json")
    check(json.loads(run_mlrun("runs", "show", run["run_id"], "--json").stdout), "run.schema.json")
    check(json.loads(run_mlrun("runs", "search", "--json").stdout), "runs-search.schema.json")
    check(
        json.loads(run_mlrun("experiments", "search", "--json").stdout),
        "experiments-search.schema.json",
    )
    reproduced = run_mlrun("reproduce", run["run_id"], "--verify", "--json")
    check(json.loads(reproduced.stdout), "reproduce.schema.json")


def test_the_reproduce_line_names_runs_by_prefix_when_full_ids_do_not_fit(project: Path) -> None:
    import re

    original = run_json(str(project))["run_id"]
    for columns, width in (("80", 8), ("200", 32)):
        env = {**os.environ, "COLUMNS": columns}
        result = subprocess.run(mlrun_argv("reproduce", original, "--verify"),
                                capture_output=True, text=True, env=env, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr
        line = next(x for x in result.stderr.splitlines() if " reproduces " in x)
        shown = re.fullmatch(r"mlrun: run ([0-9a-f]+) FINISHED reproduces ([0-9a-f]+)", line)
        assert shown, line
        assert (len(shown[1]), shown[2]) == (width, original[:width])
        assert len(line) <= int(columns)
