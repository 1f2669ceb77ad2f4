"""Tiny real Python packages made inside tests, so environment builds need no network."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel_files(name: str, version: str, body: str = "") -> dict[str, bytes]:
    """The files of a pure-Python wheel holding one module ``name``."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": (body or f"VERSION = {version!r}\n").encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: mlrun-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    return files


def make_wheel(directory: Path, name: str, version: str = "1.0") -> Path:
    """Write ``name-version-py3-none-any.whl`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in wheel_files(name, version).items():
            archive.writestr(member, data)
    return path


BACKEND = '''
"""An in-tree PEP 517 backend: records each build, optionally sleeps, writes a wheel."""
import pathlib, time, zipfile, sys
sys.path.insert(0, {tests!r})
from packages import wheel_files

HERE = pathlib.Path(__file__).parent


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with (HERE / "builds.log").open("a") as log:
        log.write("build\\n")
    delay = float((HERE / "delay").read_text()) if (HERE / "delay").exists() else 0.0
    time.sleep(delay)
    name = "{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w") as archive:
        for member, data in wheel_files("{name}", "1.0").items():
            archive.writestr(member, data)
    return name
'''


def make_source_project(directory: Path, name: str, delay: float = 0.0) -> Path:
    """A local source package built by an in-tree backend (no build requirements)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        f'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    tests = str(Path(__file__).resolve().parent)
    (directory / "backend.py").write_text(BACKEND.format(tests=tests, name=name))
    (directory / "delay").write_text(str(delay))
    return directory
