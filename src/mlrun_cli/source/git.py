"""Git sources: one bare mirror per remote (full history, tags) and a clean checkout per commit.

    ~/.cache/mlrun/git/mirrors/KEY.git           fetched on use (not with --offline)
    ~/.cache/mlrun/git/checkouts/KEY/COMMIT/     a detached clone sharing the mirror's objects

KEY is a hash of the URL without credentials. Mirrors and checkouts are made in a temporary
folder and renamed into place, so an interrupted clone is never mistaken for a complete one.
The user's own working copy is never touched: a local repository run at another ``--version``
is mirrored like any remote.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from mlrun_cli import paths
from mlrun_cli.errors import SourceError
from mlrun_cli.source.uri import redact, redact_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


# A credential helper given on the command line (never in a config file): it answers git's
# request with the user and password mlrun holds in the git process's environment only.
_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    '"$MLRUN_GIT_USERNAME" "$MLRUN_GIT_PASSWORD"; }; f'
)
_CAUSES = ("ssh:", "error:", "fatal:", "remote:")
_PHASE = re.compile(r"(Enumerating|Counting|Compressing|Receiving|Resolving|Updating|Checking) ")
_PROGRESS = re.compile(r"(\d+)% \((\d+)/(\d+)\)")


def git_env(url: str | None = None) -> dict[str, str]:
    """Never prompt (CI has no terminal): credentials come from the user's normal git setup,
    or, for a URL that carries them, from a helper scoped to that host and fed from memory."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    if url is not None:
        _, user, password, scope = split_credentials(url)
        if password is not None or (user is not None and scope.startswith("http")):
            count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            for index, value in enumerate(("", _HELPER), count):
                env[f"GIT_CONFIG_KEY_{index}"] = f"credential.{scope}.helper"
                env[f"GIT_CONFIG_VALUE_{index}"] = value
            env["GIT_CONFIG_COUNT"] = str(count + 2)
            env["MLRUN_GIT_USERNAME"] = user or ""
            env["MLRUN_GIT_PASSWORD"] = password or ""
    return env


def split_credentials(url: str) -> tuple[str, str | None, str | None, str]:
    """(URL without credentials, user, password, ``scheme://host`` they are for).

    An ``ssh://user@`` keeps its user (ssh needs it; it is no secret). ``***`` (a redacted
    record) counts as no user.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        raise SourceError(f"{redact(url)}: not a valid URL") from None
    if not parts.scheme or "@" not in netloc:
        return url, None, None, ""
    userinfo, host = netloc.rsplit("@", 1)
    name, _, password = userinfo.partition(":")
    user = None if name in ("", "***") else unquote(name)
    secret = unquote(password) if password else None
    keep = f"{name}@{host}" if parts.scheme == "ssh" and user else host
    return urlunsplit(parts._replace(netloc=keep)), user, secret, f"{parts.scheme}://{host}"


def _cause(stderr: str, code: int) -> str:
    """The line of git's error output that names the cause, not just its last line."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    for prefix in _CAUSES:
        for line in lines:
            if line.startswith(prefix) and not _PROGRESS.search(line):
                return line
    return lines[-1] if lines else f"exit code {code}"


def run_git(
    args: list[str],
    url: str,
    what: str,
    cwd: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Run git; failures become SourceError with the line naming the cause, credentials
    redacted. With ``progress``, git's progress lines are passed on as they come."""
    from mlrun_cli._launch import launch_argv

    argv = ["git", *args]
    if progress is not None:
        argv.insert(2, "--progress")
    try:
        # Dies with mlrun: a clone left running would write into a folder the next clone sweeps.
        proc = subprocess.Popen(
            launch_argv(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=git_env(url), stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except FileNotFoundError:
        raise SourceError("git is not installed (needed for git project URIs)") from None
    if progress is None:
        out, err = proc.communicate()
    else:
        out, err = _with_progress(proc, progress, url)
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        detail = redact_text(_cause(stderr, proc.returncode), url)
        raise SourceError(f"{what} {redact(url)}: {detail}")
    return out.decode("utf-8", "replace")


def _with_progress(
    proc: subprocess.Popen[bytes], progress: Callable[[str], None], url: str
) -> tuple[bytes, bytes]:
    """Read git's stderr as it comes (progress ends lines with \\r), passing each status on."""
    import threading

    assert proc.stdout is not None  # noqa: S101 - PIPE was requested
    assert proc.stderr is not None  # noqa: S101 - PIPE was requested
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    err = bytearray()
    pending = b""
    shown = ("", -1)
    while chunk := os.read(proc.stderr.fileno(), 4096):
        err += chunk
        pending += chunk
        *done, pending = re.split(rb"[\r\n]", pending)
        for line in done:
            text = line.decode("utf-8", "replace").strip().removeprefix("remote: ")
            if not _PHASE.match(text):
                continue  # errors and hints are for the error message, not the progress
            # One update per phase and per 10%: CI logs get a few lines, not hundreds.
            match = _PROGRESS.search(text)
            state = (text.split(":", 1)[0], int(match.group(1)) // 10 if match else -1)
            if state != shown or text.endswith("done."):
                shown = state
                progress(redact_text(text, url))
    proc.wait()
    reader.join()
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(out), bytes(err)


def sweep_stale(folder: Path) -> None:
    """Remove ``.tmp-*-PID`` folders whose process is gone (an interrupted clone or checkout)."""
    try:
        entries = list(folder.glob(".tmp-*"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            continue


def _key(url: str) -> str:
    return hashlib.sha256(redact(url).rstrip("/").encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _has_commit(mirror: Path, sha: str) -> bool:
    probe = subprocess.run(
        ["git", "--git-dir", str(mirror), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def _known_commit(mirror: Path, version: str | None) -> bool:
    """A full SHA already in the mirror never changes: no fetch needed."""
    return bool(version and _FULL_SHA.match(version) and _has_commit(mirror, version))


def ensure_mirror(
    url: str,
    version: str | None,
    offline: bool,
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]] | None = None,
) -> Path:
    """The up-to-date bare mirror of ``url`` (fetched unless offline or the commit is known).

    Credentials in ``url`` never reach a git config: git is given the URL without them and
    asks the per-command helper of ``git_env``.
    """
    mirrors = paths.git_cache_dir() / "mirrors"
    mirror = mirrors / f"{_key(url)}.git"
    bare_url = split_credentials(url)[0]
    with _locked(mirrors / f"{_key(url)}.lock"):
        sweep_stale(mirrors)
        if not mirror.exists():
            if offline:
                raise SourceError(f"--offline: no cached copy of {redact(url)}; run once online")
            tmp = mirrors / f".tmp-{mirror.name}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                with _progress(progress, f"git: cloning {redact(url)}") as step:
                    run_git(["clone", "--mirror", "--quiet", bare_url, str(tmp)], url,
                            "cannot clone", progress=step)  # fmt: skip
                tmp.rename(mirror)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        elif not offline and not _known_commit(mirror, version):
            with _progress(progress, f"git: fetching {redact(url)}") as step:
                run_git(
                    ["fetch", "--quiet", "--prune", "--tags", bare_url,
                     "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                    url, "cannot fetch", cwd=mirror, progress=step,
                )  # fmt: skip
    return mirror


def _progress(
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]] | None, title: str
) -> AbstractContextManager[Callable[[str], None] | None]:
    return progress(title) if progress is not None else contextlib.nullcontext(None)


def resolve_commit(mirror: Path, url: str, version: str | None) -> str:
    """The full commit SHA a branch, tag or (abbreviated) SHA names; default: the remote HEAD."""
    wanted = version or "HEAD"
    argv = ["git", "--git-dir", str(mirror), "rev-parse", "--verify", "--quiet"]
    probe = subprocess.run(
        [*argv, f"{wanted}^{{commit}}"], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0:
        return probe.stdout.strip()
    refs = run_git(["for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags"],
                   url, "git", cwd=mirror).split()  # fmt: skip
    listing = ", ".join(refs[:20]) + (" ..." if len(refs) > 20 else "")
    raise SourceError(
        f"unknown revision {wanted!r} in {redact(url)} (branches and tags: {listing or 'none'})"
    )


def is_branch(mirror: Path, name: str) -> bool:
    """``name`` is a branch of the mirrored repository (not a tag or a SHA)."""
    probe = subprocess.run(
        ["git", "--git-dir", str(mirror), "show-ref", "--verify", "--quiet", f"refs/heads/{name}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def checkout(mirror: Path, url: str, commit: str, patch: bytes | None = None) -> Path:
    """A clean work tree of ``commit`` (reused for the same commit), submodules initialised.

    With ``patch`` (a recorded dirty snapshot) the tree is the commit plus the patch, in a
    folder of its own keyed by the patch's hash.
    """
    name = commit if patch is None else f"{commit}+{hashlib.sha256(patch).hexdigest()[:16]}"
    root = paths.git_cache_dir() / "checkouts" / mirror.stem / name
    if root.exists():
        return root
    sweep_stale(root.parent)
    tmp = root.with_name(f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        run_git(["clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(tmp)],
                url, "cannot check out")  # fmt: skip
        run_git(["checkout", "--quiet", "--detach", commit], url, "cannot check out", cwd=tmp)
        if (tmp / ".gitmodules").exists():
            # Relative submodule URLs resolve against origin: point it at the real remote
            # (without credentials: the helper of git_env supplies them for that host).
            run_git(["remote", "set-url", "origin", split_credentials(url)[0]], url, "git",
                    cwd=tmp)  # fmt: skip
            run_git(["submodule", "update", "--init", "--recursive", "--quiet"],
                    url, "cannot initialise submodules of", cwd=tmp)  # fmt: skip
        if patch:
            patch_file = tmp.with_name(tmp.name + ".patch")
            patch_file.write_bytes(patch)
            try:
                run_git(["apply", "--binary", "--whitespace=nowarn", str(patch_file)],
                        url, "cannot apply the recorded dirty snapshot to", cwd=tmp)  # fmt: skip
            finally:
                patch_file.unlink(missing_ok=True)
        try:
            tmp.rename(root)
        except OSError:
            if not root.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def list_level(root: Path, subdirectory: str) -> tuple[str, list[str]]:
    """The deepest existing folder on the way to ``subdirectory`` and its entries."""
    current = root
    for part in subdirectory.split("/"):
        if not (current / part).is_dir():
            break
        current = current / part
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in current.iterdir()
                     if p.name != ".git")  # fmt: skip
    return current.relative_to(root).as_posix(), entries
