from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_cli.envs.cache import parse_age, spec_key
from mlrun_cli.envs.interpreters import Interpreter, find_interpreter, matches
from mlrun_cli.envs.lock import EnvLock, parse_lock
from mlrun_cli.envs.requirements import resolve_spec
from mlrun_cli.errors import EnvError, SpecError, UsageError
from mlrun_cli.spec.conda_env import load_conda_env
from mlrun_cli.spec.python_env import PythonEnvSpec

PY = Interpreter(Path("/usr/bin/python3"), "3.11.7")


def test_references_become_absolute_and_are_hashed(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("-c ../constraints.txt\nnumpy\n")
    (tmp_path / "constraints.txt").write_text("numpy<3\n")
    spec = PythonEnvSpec(
        "3.11", (), ("-r reqs/base.txt", "--find-links /w", "pyyaml"), "python_env.yaml"
    )
    resolved = resolve_spec(spec, tmp_path)
    assert resolved.dependencies[0] == f"-r {tmp_path / 'reqs' / 'base.txt'}"
    assert [Path(p).name for p, _ in resolved.referenced] == ["constraints.txt", "base.txt"]
    assert resolved.index_options == ("--find-links /w",)
    before = spec_key(resolved, PY, "uv")
    (tmp_path / "constraints.txt").write_text("numpy<2\n")
    assert spec_key(resolve_spec(spec, tmp_path), PY, "uv") != before
    assert spec_key(resolved, PY, "virtualenv") != before


def test_key_depends_on_referenced_contents_not_paths(tmp_path: Path) -> None:
    spec = PythonEnvSpec("3.11", (), ("-r reqs/base.txt",), "python_env.yaml")
    keys = []
    for folder in ("one", "two"):
        (tmp_path / folder / "reqs").mkdir(parents=True)
        (tmp_path / folder / "reqs" / "base.txt").write_text("-c ../c.txt\nnumpy\n")
        (tmp_path / folder / "c.txt").write_text("numpy<3\n")
        keys.append(spec_key(resolve_spec(spec, tmp_path / folder), PY, "uv"))
    assert keys[0] == keys[1]
    (tmp_path / "two" / "c.txt").write_text("numpy<2\n")
    assert spec_key(resolve_spec(spec, tmp_path / "two"), PY, "uv") != keys[0]


def test_missing_referenced_file(tmp_path: Path) -> None:
    spec = PythonEnvSpec(None, (), ("numpy", "-r nope.txt"), "python_env.yaml")
    with pytest.raises(SpecError) as info:
        resolve_spec(spec, tmp_path)
    assert str(info.value).startswith(
        "python_env.yaml: dependencies[1]: expected an existing file; got 'nope.txt'"
    )


def test_lock_round_trip() -> None:
    lock = EnvLock("3.11.7", "cpython", "linux-x86_64", (("numpy", "2.1.0"),), ("--no-index",))
    again = parse_lock(lock.text, "x")
    assert again == lock
    assert again.sha256 == lock.sha256
    with pytest.raises(EnvError, match="not an mlrun environment lock"):
        parse_lock("numpy==1\n", "lock.txt")
    with pytest.raises(EnvError, match="expected name==version; got 'numpy'"):
        parse_lock(lock.text + "numpy\n", "lock.txt")


def test_version_matching() -> None:
    assert matches("3.11.7", "3.11")
    assert matches("3.11.7", "3.11.7")
    assert not matches("3.11.7", "3.1")
    assert not matches("3.110.0", "3.11")


def test_pyenv_versions_are_found_and_newest_prefix_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    for version in ("3.9.1", "3.9.18", "3.9.2"):
        bin_dir = tmp_path / "versions" / version / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "")
    found = find_interpreter("3.9")
    assert found.version == "3.9.18"
    assert found.path == tmp_path / "versions" / "3.9.18" / "bin" / "python3"
    assert find_interpreter("3.9.2").version == "3.9.2"


def test_unknown_python_lists_what_exists() -> None:
    with pytest.raises(EnvError) as info:
        find_interpreter("2.1")
    assert str(info.value).startswith(
        "no Python 2.1 found (searched PATH, pyenv and uv installs; found: "
    )
    assert info.value.exit_code == 3
    assert info.value.hint is not None
    assert "uv python install 2.1" in info.value.hint


def test_parse_age() -> None:
    assert parse_age("30d") == 30 * 86400
    assert parse_age("90m") == 5400
    assert parse_age("15") == 15
    with pytest.raises(UsageError, match="expected a duration"):
        parse_age("soon")


def test_conda_yaml_pypi_packages_become_pip_requirements(tmp_path: Path) -> None:
    path = tmp_path / "conda.yaml"
    path.write_text(
        "name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip\n"
        "  - scikit-learn=0.19.1\n  - numpy\n  - conda-forge::pandas>=1.5,<3\n  - scipy==1.11.4\n"
        "  - pytorch\n  - cudatoolkit=11.8\n  - libgcc-ng\n  - matplotlib=3.8=py311_0\n"
        "  - pip:\n    - mlflow\n    - -r requirements.txt\n"
    )
    spec, warnings = load_conda_env(path)
    assert spec.python == "3.10"
    assert spec.dependencies == (
        "scikit-learn==0.19.1.*", "numpy", "pandas>=1.5,<3", "scipy==1.11.4", "torch",
        "matplotlib==3.8.*", "mlflow", "-r requirements.txt",
    )  # fmt: skip
    no_pypi = "has no PyPI equivalent mlrun can install with pip; not installed"
    assert warnings == (
        f"conda.yaml: dependencies[7]: 'cudatoolkit=11.8' {no_pypi}",
        f"conda.yaml: dependencies[8]: 'libgcc-ng' {no_pypi}",
        (
            "conda.yaml: dependencies[9]: 'matplotlib=3.8=py311_0' installed as "
            "'matplotlib==3.8.*': the conda build string is ignored"
        ),
    )
    path.write_text("dependencies:\n  - python>=3.10\n")
    assert load_conda_env(path)[0].python == ">=3.10"
    path.write_text("dependencies: numpy\n")
    with pytest.raises(SpecError, match=r"conda\.yaml: dependencies: expected a list; got 'numpy'"):
        load_conda_env(path)


def test_python_specifiers_are_an_mlrun_extension(tmp_path: Path) -> None:
    from mlrun_cli.envs.interpreters import current
    from mlrun_cli.spec.python_env import load_python_env

    path = tmp_path / "python_env.yaml"
    path.write_text('python: ">= 3.10, <4"\n')
    assert load_python_env(path).python == ">=3.10,<4"
    assert find_interpreter(">=3.10,<4") == current()  # the running Python fits: preferred
    for bad in ("'>3.x'", "'latest'", "'3.10 or newer'"):
        path.write_text(f"python: {bad}\n")
        with pytest.raises(SpecError, match=r'or a specifier such as ">=3\.10"'):
            load_python_env(path)
    assert matches("3.11.7", ">=3.10,<3.12")
    assert not matches("3.12.0", ">=3.10,<3.12")
    assert matches("3.10.4", "==3.10.*")
    assert matches("3.11.2", "~=3.10")
    assert not matches("4.0.0", "~=3.10")
    assert not matches("3.10.0", ">3.10")
    assert matches("3.11.7", "==3.11")  # as python: "3.11" means
    assert not matches("3.11.7", "==3.11.6")


def test_python_downloads_installs_a_uv_managed_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    fake_uv = tmp_path / "uv"
    fake_uv.write_text(
        "#!/bin/sh\n"  # `uv python install 3.99`: make what uv would leave behind
        'mkdir -p "$UV_PYTHON_INSTALL_DIR/cpython-$3.1-linux-x86_64-gnu/bin"\n'
        f'ln -s {sys.executable} "$UV_PYTHON_INSTALL_DIR/cpython-$3.1-linux-x86_64-gnu/bin/python3"\n'
        'echo "$UV_PYTHON_DOWNLOADS" > "$UV_PYTHON_INSTALL_DIR/asked"\n'
    )
    fake_uv.chmod(0o755)
    monkeypatch.setattr("mlrun_cli.envs.uv.uv_binary", lambda: str(fake_uv))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "pythons"))
    with pytest.raises(EnvError, match=r"no Python 3\.99 found"):
        find_interpreter("3.99")  # the default: found, never downloaded
    assert not (tmp_path / "pythons").exists()
    found = find_interpreter("3.99", downloads=True)
    assert found.version == "3.99.1"
    assert (tmp_path / "pythons" / "asked").read_text() == "automatic\n"


def test_install_progress_reads_uv_and_pip() -> None:
    from mlrun_cli.envs.progress import InstallProgress

    steps: list[str] = []
    progress = InstallProgress(steps.append)
    for line in (
        "Using Python 3.11.7 environment at: env", "Resolved 3 packages in 0.2s",
        "Downloading numpy (16.1MiB)", "Downloading scipy (35.0MiB)", " Downloaded numpy",
        "Prepared 3 packages in 2s", "Installed 3 packages in 20ms", " + numpy==2.1.0",
        " + scikit-learn==1.5.0", "Collecting pandas",
        "  Downloading pandas-2.2.0-cp311-linux_x86_64.whl (12.5 MB)",
        "Installing collected packages: pytz, pandas", "Successfully installed pandas-2.2.0 pytz-1",
    ):  # fmt: skip
        progress(line)
    assert steps == [
        "resolved 3 packages, downloading", "downloading numpy (16.1MiB)",
        "downloading scipy (35.0MiB)", "prepared 3 packages, 51.1MiB, installing",
        "installed 3 packages", "collecting pandas (#1)", "downloading pandas (11.9MiB)",
        "installing 2 packages",
    ]  # fmt: skip
    progress("Downloading " + "n" * 40 + " (1234.5MiB)")
    assert len(steps[-1]) <= 40  # title (<= 28) + ": " + this + the elapsed time fit 80 columns
    assert progress.installed == {"numpy": "2.1.0", "scikit-learn": "1.5.0", "pandas": "2.2.0",
                                  "pytz": "1"}  # fmt: skip
