"""``mlrun reproduce``: rebuild a run from its record alone and, with ``--verify``, check that
the result is the same.

Code: the recorded commit (from its remote, or the local repository's object store) plus the
recorded dirty snapshot. Environment: the recorded lock, installed with no resolution. Data: the
recorded DVC pins, restored from the cache or the remote. Then the same entry point with the
same params, as a new run tagged ``mlrun.reproduces``.
"""

from __future__ import annotations

import hashlib
import math
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mlrun_cli.errors import ExitCode, SourceError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.execution.runner import Prepared, Reporter
    from mlrun_cli.tracking.models import Param, Run
    from mlrun_cli.tracking.store import TrackingStore

REPRODUCES_TAG = "mlrun.reproduces"


@dataclass(frozen=True)
class ReproduceRequest:
    """What ``mlrun reproduce`` was asked to do."""

    run_id: str
    verify: bool = False
    rtol: float = 0.0
    atol: float = 0.0
    experiment_name: str | None = None
    tracking_uri: str | None = None
    offline: bool = False
    stdout_to_stderr: bool = False
    allow_empty: bool = False
    ignore_artifacts: tuple[str, ...] = ()  # globs of artifact paths --verify leaves out


@dataclass(frozen=True)
class Check:
    """One verified value: a final metric or an artifact hash, in both runs."""

    kind: str  # metric or artifact
    key: str
    original: str
    reproduced: str
    match: bool


@dataclass(frozen=True)
class ReproduceResult:
    """The original run, the new one, the checks and the exit code."""

    original: Run
    run: Run
    checks: tuple[Check, ...]
    exit_code: int
    nothing_to_compare: bool = False  # --verify of a run that logged no metric, no artifact

    @property
    def verified(self) -> bool:
        """Every check matched (and there was something to check, unless allowed)."""
        return all(check.match for check in self.checks) and not self.nothing_to_compare


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= atol + rtol * abs(b)


def _user_artifacts(run: Run) -> dict[str, str]:
    """Path -> sha256 of what the code logged (not mlrun's own ``_mlrun/`` files)."""
    from mlrun_cli.tracking.client import RESERVED_ARTIFACT_DIR

    return {
        a.path: a.sha256 for a in run.artifacts if a.path.split("/", 1)[0] != RESERVED_ARTIFACT_DIR
    }


# MLflow writes these into every MLmodel file: they name the run and the moment, not the model.
_MLMODEL_VOLATILE = ("artifact_path", "model_id", "model_uuid", "run_id", "utc_time_created")


def same_mlmodel(first: Path, second: Path) -> bool:
    """Whether two MLflow ``MLmodel`` files describe the same model (ids and times aside)."""
    import yaml

    try:
        texts = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in (first, second)]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    if not all(isinstance(text, dict) for text in texts):
        return False
    a, b = ({k: v for k, v in t.items() if k not in _MLMODEL_VOLATILE} for t in texts)
    return a == b


def same_zip_members(first: Path, second: Path) -> bool:
    """Whether two zip archives hold the same members with the same bytes (by CRC-32 and
    size), whatever their timestamps: model formats such as skops, Keras and PyTorch are zips
    whose entries carry the moment they were written."""
    import zipfile

    def members(path: Path) -> list[tuple[str, int, int]]:
        with zipfile.ZipFile(path) as zipped:
            return sorted((i.filename, i.CRC, i.file_size) for i in zipped.infolist())

    try:
        return members(first) == members(second)
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def equivalent(first: Path, second: Path) -> str | None:
    """Why two artifacts with different hashes still hold the same content, or None."""
    if first.name == "MLmodel":
        return "ids/times aside" if same_mlmodel(first, second) else None
    try:
        with first.open("rb") as a, second.open("rb") as b:
            zips = a.read(4) == b.read(4) == b"PK\x03\x04"
    except OSError:
        return None
    return "zip timestamps aside" if zips and same_zip_members(first, second) else None


def compare(
    original: Run, new: Run, rtol: float, atol: float,
    same_content: Callable[[str], str | None] | None = None, ignore: tuple[str, ...] = (),
) -> tuple[Check, ...]:  # fmt: skip
    """Final metrics (within tolerance) and hashes of the artifacts both runs logged.

    ``same_content(path)`` may still accept an artifact whose hash differs, saying why (an
    MLmodel file's ids and times, a zip archive's timestamps).
    """
    checks = []
    for key in sorted(set(original.metrics) | set(new.metrics)):
        before, after = original.metrics.get(key), new.metrics.get(key)
        if before is None or after is None:
            old = "-" if before is None else repr(before.value)
            new_value = "-" if after is None else repr(after.value)
            checks.append(Check("metric", key, old, new_value, match=False))
            continue
        match = _close(after.value, before.value, rtol, atol)
        checks.append(Check("metric", key, repr(before.value), repr(after.value), match))
    old_files, new_files = _user_artifacts(original), _user_artifacts(new)
    from fnmatch import fnmatchcase

    for path in sorted(set(old_files) & set(new_files)):
        if any(fnmatchcase(path, pattern) for pattern in ignore):
            continue
        match = old_files[path] == new_files[path]
        shown = new_files[path][:12]
        if not match and same_content is not None:
            reason = same_content(path)
            match = reason is not None
            shown += f" ({reason})" if reason else ""
        checks.append(Check("artifact", path, old_files[path][:12], shown, match))
    return tuple(checks)


def _children(store: TrackingStore, run: Run) -> list[Run]:
    """The runs the code created under ``run`` (MLflow nested runs), in start order."""
    from mlrun_cli.tracking.queries import search_runs

    # Any experiment: an entry point's `mlrun run` sub-runs may record elsewhere.
    experiments = [e.experiment_id for e in store.search_experiments("all")]
    page = search_runs(store, experiments, f"attributes.parent_run_id = '{run.run_id}'",
                       ["start_time ASC"], 1000, None, "all")  # fmt: skip
    return [store.get_run(child.run_id) for child in page.runs]


def _pairs(original: list[Run], new: list[Run]) -> list[tuple[Run | None, Run | None]]:
    """Children matched by run name (in start order), the others by start order."""
    left = list(new)
    pairs: list[tuple[Run | None, Run | None]] = []
    unmatched: list[Run] = []
    for child in original:
        same = next((r for r in left if r.name == child.name), None)
        if same is None:
            unmatched.append(child)
        else:
            left.remove(same)
            pairs.append((child, same))
    pairs += list(zip(unmatched, left, strict=False))
    pairs += [(child, None) for child in unmatched[len(left) :]]
    pairs += [(None, extra) for extra in left[len(unmatched) :]]
    return pairs


def compare_children(
    store: TrackingStore, original: Run, new: Run, request: ReproduceRequest, prefix: str = ""
) -> tuple[Check, ...]:
    """``compare`` for each child run (and theirs), keys prefixed with the child's name."""
    checks: list[Check] = []
    for before, after in _pairs(_children(store, original), _children(store, new)):
        if before is None or after is None:
            name = prefix + (before or after).name  # type: ignore[union-attr]
            shown = ("-", "present") if before is None else ("present", "-")
            checks.append(Check("child run", name, *shown, match=False))
            continue
        label = prefix + before.name + "/"
        found = compare(before, after, request.rtol, request.atol,
                        _same_content(store, before, after), request.ignore_artifacts)  # fmt: skip
        checks += [Check(c.kind, label + c.key, c.original, c.reproduced, c.match) for c in found]
        checks += compare_children(store, before, after, request, label)
    return tuple(checks)


def _same_content(store: TrackingStore, first: Run, second: Run) -> Callable[[str], str | None]:
    """``equivalent`` over the two runs' files, read through the store (from a team server
    they are copied into a temporary folder first, and only when ``equivalent`` may accept
    them: an MLmodel file, or two zip archives by their first bytes)."""
    import tempfile

    from mlrun_cli.artifacts.run import local_file
    from mlrun_cli.errors import NotFoundError

    old, new = store.artifacts(first.run_id), store.artifacts(second.run_id)

    def may_be_equivalent(path: str) -> bool:
        if PurePosixPath(path).name == "MLmodel":
            return True
        try:
            return old.read_bytes(path, 0, 4) == new.read_bytes(path, 0, 4) == b"PK\x03\x04"
        except NotFoundError:
            return False

    def same(path: str) -> str | None:
        if not may_be_equivalent(path):
            return None
        with tempfile.TemporaryDirectory(prefix="mlrun-verify-") as tmp:
            before = local_file(old, path, Path(tmp) / "original")
            after = local_file(new, path, Path(tmp) / "reproduced")
            return None if before is None or after is None else equivalent(before, after)

    return same


def _logged_nothing(store: TrackingStore, run: Run) -> bool:
    """Neither the run nor any run under it logged a metric or an artifact."""
    if run.metrics or _user_artifacts(run):
        return False
    return all(_logged_nothing(store, child) for child in _children(store, run))


def _snapshot(store: TrackingStore, original: Run) -> bytes | None:
    sha = original.code.snapshot_sha256
    if not sha:
        return None
    from mlrun_cli.errors import NotFoundError
    from mlrun_cli.execution.runner import SNAPSHOT_ARTIFACT

    where = f"{SNAPSHOT_ARTIFACT} of run {original.run_id}"
    try:
        patch = store.artifacts(original.run_id).read_bytes(SNAPSHOT_ARTIFACT)
    except NotFoundError:
        raise SourceError(f"cannot reproduce: the dirty snapshot {where} is missing") from None
    if hashlib.sha256(patch).hexdigest() != sha:
        raise SourceError(f"cannot reproduce: the dirty snapshot {where} does not match its hash")
    return patch


def _was_given(param: Param, command: str) -> bool:
    """Whether a recorded param was an argument of the run (declared, or an undeclared ``-P``
    rendered as ``--key value``), not one the code logged (MLflow autolog logs dozens)."""
    if param.type is not None:
        return True
    try:
        return f"--{param.key}" in shlex.split(command)
    except ValueError:
        return False


def _prepare(
    store: TrackingStore, original: Run, request: ReproduceRequest, reporter: Reporter,
    not_code: tuple[Path, ...],
) -> Prepared:  # fmt: skip
    from mlrun_cli.data.inputs import INPUT_TAG_PREFIX
    from mlrun_cli.envs.lock import parse_lock
    from mlrun_cli.envs.provision import local_env, provision_from_lock
    from mlrun_cli.execution.runner import Prepared, resolve_path_params
    from mlrun_cli.source.local import restore_source
    from mlrun_cli.spec.mlproject import load_project
    from mlrun_cli.spec.params import bind_params

    checkout = restore_source(original.code, _snapshot(store, original), request.offline)
    project = load_project(checkout.path)
    entry_point = project.entry_point(original.entry_point)
    given = {p.key: p.value for p in original.params if _was_given(p, original.command)}
    # Recorded paths inside the project are relative: they resolve against the new checkout.
    bound = bind_params(entry_point, given, user_cwd=checkout.path, project_dir=checkout.path,
                        check_paths=False)  # fmt: skip
    data = None
    if original.data is not None:
        from mlrun_cli.data.step import restore_pins

        # The original project's own DVC cache may hold objects never pushed anywhere.
        extra: tuple[Path, ...] = (checkout.path / ".dvc" / "cache",)
        if original.code.kind in ("local", "local-git"):
            folder = Path(original.code.uri)
            extra = (*extra, *(p / ".dvc" / "cache" for p in (folder, *folder.parents)))
        data = restore_pins(original.data, checkout.path, checkout.top, offline=request.offline,
                            extra_caches=extra, progress=reporter.progress)  # fmt: skip
    expected = {
        key.removeprefix(INPUT_TAG_PREFIX): value
        for key, value in original.tags.items()
        if key.startswith(INPUT_TAG_PREFIX)
    }
    original_top = None
    if original.code.kind in ("local", "local-git"):
        from mlrun_cli.source.local import recorded_repository

        original_top = recorded_repository(original.code)
    if original.code.dirty and not original.code.snapshot_sha256:
        reporter.warn(
            "the run had uncommitted changes that were not recorded (--dirty allow): "
            "this reproduces the commit, not what ran"
        )
    inputs = resolve_path_params(bound, checkout, data, request.offline, reporter, expected,
                                 not_code, original_top)  # fmt: skip
    try:
        if inputs is not None:
            bound = bind_params(entry_point, {**given, **inputs.local_values()},
                                user_cwd=checkout.path, project_dir=checkout.path)  # fmt: skip
        manager = original.tags.get("mlrun.env.manager", "uv")
        if manager == "local" or not original.env_lock:
            env, lease = local_env()
            if original.env_lock_hash and env.lock and env.lock.sha256 != original.env_lock_hash:
                reporter.warn("the run used --env-manager local; this Python's packages differ now")
        else:
            lock = parse_lock(original.env_lock, f"run {original.run_id} lock")
            env, lease = provision_from_lock(manager, lock, reporter, checkout.path)
    except BaseException:
        if inputs is not None:
            inputs.cleanup()
        raise
    return Prepared(checkout, project, bound, env, lease, data, inputs)


def reproduce(request: ReproduceRequest, reporter: Reporter) -> ReproduceResult:
    """Rebuild and rerun a recorded run; verify it when asked."""
    from mlrun_cli.execution.runner import RunRequest, launch, resolve_experiment, sigterm_raises
    from mlrun_cli.tracking.ingest import reap_orphans
    from mlrun_cli.tracking.store import open_location, resolve_location

    if request.rtol < 0 or request.atol < 0:
        raise UsageError("--rtol and --atol: expected non-negative numbers")
    location = resolve_location(request.tracking_uri)
    store = open_location(location, create=False)
    try:
        from mlrun_cli._system import hostname

        reap_orphans(store, hostname())
        original = store.get_run(store.resolve_run_id(request.run_id))
        with sigterm_raises():
            prepared = _prepare(store, original, request, reporter, location.owned_paths())
            try:
                name = request.experiment_name
                experiment = resolve_experiment(
                    store, name, None if name else original.experiment_id
                )
                run_request = RunRequest(
                    uri=original.code.uri, entry_point=original.entry_point,
                    env_manager=prepared.env.manager, stdout_to_stderr=request.stdout_to_stderr,
                )  # fmt: skip
                result = launch(store, prepared, run_request, experiment, reporter,
                                ((REPRODUCES_TAG, original.run_id),))  # fmt: skip
            finally:
                prepared.release()
        checks: tuple[Check, ...] = ()
        if request.verify:
            checks = compare(original, result.run, request.rtol, request.atol,
                             _same_content(store, original, result.run),
                             request.ignore_artifacts)  # fmt: skip
            checks += compare_children(store, original, result.run, request)
        # A run that logged nothing verifies nothing: say so rather than pass silently.
        empty = request.verify and not request.allow_empty and _logged_nothing(store, original)
        exit_code = result.exit_code
        if exit_code == ExitCode.OK and (empty or not all(c.match for c in checks)):
            exit_code = ExitCode.REPRODUCE_MISMATCH
        return ReproduceResult(original, result.run, checks, exit_code, nothing_to_compare=empty)
    finally:
        store.close()
