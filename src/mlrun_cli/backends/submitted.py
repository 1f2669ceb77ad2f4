"""The code a submitter resolved, for a worker that runs the copy its engine uploaded.

Ray uploads a job's working directory to the node that runs it, without ``.git``: resolved
there, the copy would be recorded as a plain folder with a content hash, and a multi-node
cluster would need the submitter's path. So the submitter uploads a staging folder: one symlink
per entry of the project's top folder, or, in a git checkout, per file git holds (tracked ones
that a ``.gitignore`` matches too, since the commit has them; Ray is told not to apply
``.gitignore``), Ray following them (nothing is written into the user's tree), and
``.mlrun-submitted/`` (a user's own folder of that name is refused), which holds the code
version the submitter resolved (commit, dirty snapshot hash, subdirectory, source URI) and the
dirty snapshot itself. The worker records exactly that, so the run is the submitter's, and
``mlrun reproduce`` of it works where the submitter's repository is. No secret goes there:
the folder is as public as the code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.errors import SourceError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlrun_cli.source.local import Checkout

FOLDER = ".mlrun-submitted"
CODE_FILE = f"{FOLDER}/code.json"
PATCH_FILE = f"{FOLDER}/dirty.patch"
IGNORE_GITIGNORE = "RAY_RUNTIME_ENV_IGNORE_GITIGNORE"  # Ray's client: upload what is staged
FLAG = "--submitted-code"  # the worker's first argument: run from the uploaded copy
FORMAT = 1


def project_subdir(checkout: Checkout) -> str:
    """Where the project is inside the uploaded top folder ("" at its top)."""
    inner = checkout.path.relative_to(checkout.top).as_posix()
    return "" if inner == "." else inner


def git_files(top: Path) -> list[str] | None:
    """What git holds of a checkout's top folder, as the run's commit and dirty snapshot see
    it: every tracked file (a ``.gitignore`` that matches it included) and every untracked one
    not ignored; None: not a git checkout (its entries go as they are)."""
    if not (top / ".git").exists():
        return None
    listed = subprocess.run(
        ["git", "-C", str(top), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        detail = listed.stderr.decode(errors="replace").strip()
        raise SourceError(f"{top}: cannot list the files git holds: {detail}")
    names = listed.stdout.decode("utf-8", "surrogateescape").split("\0")
    return sorted({name for name in names if name})


def _check_own_name(top: Path) -> None:
    if (top / FOLDER).exists():
        raise UsageError(
            f"{top / FOLDER}: this name is mlrun's (the code version it uploads with a job); "
            "rename that folder to run the project on Ray"
        )


@contextlib.contextmanager
def staged(checkout: Checkout, not_code: tuple[Path, ...] = ()) -> Iterator[Path]:
    """A folder to upload: the checkout's top folder (a git checkout: exactly the files git
    holds, each linked; otherwise its entries linked; ``.git`` and ``not_code`` left out) and
    the code version it holds. Removed afterwards. Ray's client, uploading it within the
    block, is told not to apply ``.gitignore`` to git's list (``IGNORE_GITIGNORE``): a tracked
    file that a ``.gitignore`` matches is the commit's."""
    top = checkout.top
    _check_own_name(top)
    skipped = {path.resolve() for path in not_code}
    folder = Path(tempfile.mkdtemp(prefix="mlrun-submit-"))
    try:
        tracked = git_files(top)
        if tracked is None:
            entries = [(entry.name, entry) for entry in sorted(top.iterdir())]
        else:
            entries = [(name, top / name) for name in tracked]
        for name, entry in entries:
            if name.split("/")[0] == ".git" or _inside(entry, skipped) or not entry.exists():
                continue
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).symlink_to(entry, target_is_directory=entry.is_dir())
        (folder / FOLDER).mkdir()
        record = {"format": FORMAT, "code": asdict(checkout.code),
                  "project": project_subdir(checkout), "branch": checkout.branch}  # fmt: skip
        (folder / CODE_FILE).write_text(json.dumps(record, sort_keys=True))
        if checkout.snapshot is not None:
            (folder / PATCH_FILE).write_bytes(checkout.snapshot)
        with _environ(IGNORE_GITIGNORE, "1" if tracked is not None else None):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _environ(name: str, value: str | None) -> Iterator[None]:
    """``name`` set to ``value`` (None: left as it is) for the block (one upload at a time)."""
    before = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if value is not None and before is None:
            os.environ.pop(name, None)
        elif value is not None and before is not None:
            os.environ[name] = before


def _inside(entry: Path, skipped: set[Path]) -> bool:
    if not skipped:
        return False
    resolved = entry.resolve()
    return any(resolved == path or resolved.is_relative_to(path) for path in skipped)


def load(folder: Path) -> Checkout:
    """On the worker: the submitter's checkout, its project in ``folder`` (the uploaded copy)."""
    from mlrun_cli.source.local import Checkout
    from mlrun_cli.tracking.models import CodeVersion

    path = folder / CODE_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read the submitter's code version: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SourceError(f"{path}: expected format {FORMAT} (submitted by another mlrun version)")
    code = CodeVersion(**record["code"])
    snapshot = None
    if code.snapshot_sha256 is not None:
        snapshot = (folder / PATCH_FILE).read_bytes()
        if hashlib.sha256(snapshot).hexdigest() != code.snapshot_sha256:
            raise SourceError(f"{folder / PATCH_FILE}: does not match its recorded hash")
    project = folder / record["project"] if record["project"] else folder
    return Checkout(project.resolve(), code, snapshot, folder.resolve(), record.get("branch"))
