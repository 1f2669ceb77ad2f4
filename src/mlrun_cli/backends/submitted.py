"""The code a submitter resolved, for a worker that runs the copy its engine uploaded.

Ray uploads a job's working directory to the node that runs it, without ``.git``: resolved
there, the copy would be recorded as a plain folder with a content hash, and a multi-node
cluster would need the submitter's path. So the submitter uploads a staging folder: one symlink
per entry of the project's top folder (Ray follows them; nothing is written into the user's
tree) and ``.mlrun-submitted/``, which holds the code version the submitter resolved (commit,
dirty snapshot hash, subdirectory, source URI) and the dirty snapshot itself. The worker records
exactly that, so the run is the submitter's, and ``mlrun reproduce`` of it works where the
submitter's repository is. No secret goes there: the folder is as public as the code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlrun_cli.source.local import Checkout

FOLDER = ".mlrun-submitted"
CODE_FILE = f"{FOLDER}/code.json"
PATCH_FILE = f"{FOLDER}/dirty.patch"
FLAG = "--submitted-code"  # the worker's first argument: run from the uploaded copy
FORMAT = 1


def project_subdir(checkout: Checkout) -> str:
    """Where the project is inside the uploaded top folder ("" at its top)."""
    inner = checkout.path.relative_to(checkout.top).as_posix()
    return "" if inner == "." else inner


@contextlib.contextmanager
def staged(checkout: Checkout, not_code: tuple[Path, ...] = ()) -> Iterator[Path]:
    """A folder to upload: the checkout's top folder (its entries linked, ``.git`` and
    ``not_code`` at the top left out) and the code version it holds. Removed afterwards."""
    top = checkout.top
    skipped = {path.resolve() for path in not_code}
    folder = Path(tempfile.mkdtemp(prefix="mlrun-submit-"))
    try:
        for entry in sorted(top.iterdir()):
            if entry.name in (".git", FOLDER) or entry.resolve() in skipped:
                continue
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        (folder / FOLDER).mkdir()
        record = {"format": FORMAT, "code": asdict(checkout.code),
                  "project": project_subdir(checkout), "branch": checkout.branch}  # fmt: skip
        (folder / CODE_FILE).write_text(json.dumps(record, sort_keys=True))
        if checkout.snapshot is not None:
            (folder / PATCH_FILE).write_bytes(checkout.snapshot)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
