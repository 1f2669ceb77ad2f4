"""The TrackingStore of a team server (``--tracking-uri http(s)://host:port``), over ``/api/v1``.

Standard library only (``http.client``, one keep-alive connection). The token comes from
``MLRUN_TRACKING_TOKEN`` and never appears in a message. A run's files are written to a local
staging folder (``StoreLocation.staging_dir``) and uploaded through the server when the run
finishes, so clients need no S3 credentials; they are read through the server
(``artifacts``, rest_artifacts.py). The events journal lives beside the staging folder, and a
batch is keyed by its byte range in that journal: a retried batch is never recorded twice.
While the server is unreachable, calls are retried for ``MLRUN_TRACKING_RETRY_SECONDS``
(default 60).
"""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from mlrun_cli import paths
from mlrun_cli.errors import NotFoundError, StoreError, UsageError
from mlrun_cli.tracking.stores import wire

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.tracking.models import (
        EventBatch,
        Experiment,
        LiveRun,
        Metric,
        Run,
        RunCreate,
    )
    from mlrun_cli.tracking.queries import RunPage
    from mlrun_cli.tracking.run_search import RunQuery
    from mlrun_cli.tracking.store import StoreLocation
    from mlrun_cli.tracking.stores.rest_artifacts import ProxiedArtifacts

TOKEN_ENV = "MLRUN_TRACKING_TOKEN"  # noqa: S105 - a variable name
RETRY_ENV = "MLRUN_TRACKING_RETRY_SECONDS"
_RETRIED = (ConnectionError, TimeoutError, http.client.HTTPException, OSError)


def staging_root(uri: str) -> Path:
    """The local folder of a server's staged artifacts and events journals."""
    split = urlsplit(uri)
    name = f"{split.hostname}-{split.port or (443 if split.scheme == 'https' else 80)}"
    return paths.home() / "servers" / name


class RestStore:
    """A TrackingStore whose records live on ``mlrun server``."""

    def __init__(self, uri: str, location: StoreLocation | None = None) -> None:
        split = urlsplit(uri)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise StoreError(f"tracking URI {uri!r}: expected http(s)://host:port")
        self.uri = uri.rstrip("/")
        self._split = split
        self._base = split.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None
        token = os.environ.get(TOKEN_ENV, "")
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._retry_seconds = float(os.environ.get(RETRY_ENV) or 60)
        if location is None:
            from mlrun_cli.tracking.store import resolve_location

            location = resolve_location(uri)
        self.location = location

    # -- transport --------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (http.client.HTTPSConnection if self._split.scheme == "https"
                   else http.client.HTTPConnection)  # fmt: skip
            self._conn = cls(self._split.hostname or "", self._split.port, timeout=60)
        return self._conn

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while True:
            try:
                conn = self._connection()
                conn.request(method, self._base + path, body=body, headers=self._headers)
                response = conn.getresponse()
                answer = response.read()
                # 503: the server is up but its database or destination is not (a PostgreSQL
                # restart): every write is idempotent, so ask again until the deadline.
                if response.status != 503 or time.monotonic() + delay > deadline:
                    return response.status, answer
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except _RETRIED as exc:
                self.close()
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"tracking server {self.uri} is unreachable ({type(exc).__name__})",
                        hint="a run's events stay in its local journal: `mlrun sync "
                        f"--tracking-uri {self.uri}` uploads them once the server is back",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; the server's error as mlrun's error class."""
        data = None if body is None else json.dumps(body).encode()
        status, raw = self._send(method, "/api/v1" + path, data)
        answer = _json(raw)
        if status == 200:
            return answer
        raise self._error(status, answer)

    def call_bytes(self, method: str, path: str, data: bytes | None = None) -> bytes:
        """One API call whose body (sent and answered) is bytes: a run's file."""
        status, raw = self._send(method, "/api/v1" + path, data)
        if status == 200:
            return raw
        raise self._error(status, _json(raw))

    def call_answer(self, method: str, path: str, data: bytes | None = None) -> tuple[int, Any]:
        """One API call's status and JSON answer, not raised: the caller reads an error's
        fields (``error_from`` makes one mlrun's error)."""
        status, raw = self._send(method, "/api/v1" + path, data)
        return status, _json(raw)

    def error_from(self, status: int, answer: Any) -> Exception:
        """The server's error answer as mlrun's error class."""
        return self._error(status, answer)

    def _error(self, status: int, answer: Any) -> Exception:
        """The server's error answer as mlrun's error class."""
        error = answer.get("error") if isinstance(answer, dict) else None
        message = str(error.get("message")) if isinstance(error, dict) else f"HTTP {status}"
        if status == 404:  # the server leaves out its own store's location: name the server
            return NotFoundError(f"{message} on the tracking server {self.uri}")
        if status == 400:
            return UsageError(message)
        if status == 401:
            run_token = self._headers.get("Authorization", "").startswith("Bearer mlrr_")
            hint = ("this job's run-scoped token has expired: its lifetime is the backend "
                    "config's token_ttl (default a week)") if run_token else (
                    f"set {TOKEN_ENV} to a token from `mlrun server tokens create`")  # fmt: skip
            return StoreError(f"tracking server {self.uri}: {message}", hint=hint)
        return StoreError(f"tracking server {self.uri}: {message}")

    def close(self) -> None:
        """Drop the connection (the next call opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- experiments ------------------------------------------------------------------------
    def create_experiment(self, name: str) -> Experiment:
        return wire.experiment_from_json(
            self.call("POST", "/experiments", {"name": name})["experiment"]
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        answer = self.call("GET", f"/experiments/{quote(experiment_id, safe='')}")
        return wire.experiment_from_json(answer["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self.call("POST", "/experiments/get", {"name": name})["experiment"]
        return None if found is None else wire.experiment_from_json(found)

    def get_or_create_experiment(self, name: str) -> Experiment:
        found = self.call("POST", "/experiments/get", {"name": name, "create": True})
        return wire.experiment_from_json(found["experiment"])

    def search_experiments(
        self, view: str = "active", where: str = "", args: Sequence[object] = ()
    ) -> list[Experiment]:
        if where:
            raise UsageError("--filter on experiments is not supported over a tracking server yet")
        answer = self.call("GET", f"/experiments?view={quote(view)}")
        return [wire.experiment_from_json(e) for e in answer["experiments"]]

    def _update_experiment(self, experiment_id: str, body: dict[str, Any]) -> Experiment:
        answer = self.call("POST", f"/experiments/{quote(experiment_id, safe='')}/update", body)
        return wire.experiment_from_json(answer["experiment"])

    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment:
        return self._update_experiment(experiment_id, {"name": new_name})

    def set_experiment_stage(self, experiment_id: str, stage: str) -> Experiment:
        return self._update_experiment(experiment_id, {"stage": stage})

    def set_experiment_tags(self, experiment_id: str, tags: Sequence[tuple[str, str]]) -> None:
        self._update_experiment(experiment_id, {"tags": [list(t) for t in tags]})

    # -- runs -------------------------------------------------------------------------------
    def _run_path(self, run_id: str, tail: str = "") -> str:
        return f"/runs/{quote(run_id, safe='')}{tail}"

    def create_run(self, spec: RunCreate) -> Run:
        return wire.run_from_wire(self.call("POST", "/runs", wire.run_create_to_json(spec))["run"])

    def get_run(self, run_id: str) -> Run:
        return wire.run_from_wire(self.call("GET", self._run_path(run_id, "?exact=1"))["run"])

    def resolve_run_id(self, prefix: str) -> str:
        return str(self.call("GET", self._run_path(prefix))["run"]["run_id"])

    def log_batch(
        self, run_id: str, batch: EventBatch, events_range: tuple[int, int] | None = None
    ) -> list[str] | None:
        body = wire.batch_to_json(batch)
        body["range"] = None if events_range is None else list(events_range)
        warnings = self.call("POST", self._run_path(run_id, "/events"), body)["warnings"]
        return list(warnings) or None

    def delete_tag(self, run_id: str, key: str) -> bool:
        return bool(
            self.call("POST", self._run_path(run_id, "/delete-tag"), {"key": key})["deleted"]
        )

    def events_offset(self, run_id: str) -> int:
        return int(self.call("GET", self._run_path(run_id, "/offset"))["offset"])

    def finish_run(
        self, run_id: str, status: str, exit_code: int | None = None, reason: str | None = None
    ) -> bool:
        self.upload_artifacts(run_id)
        body = {"status": status, "exit_code": exit_code, "reason": reason}
        return bool(self.call("POST", self._run_path(run_id, "/finish"), body)["changed"])

    def search_run_ids(self, query: RunQuery, limit: int, offset: int) -> list[str]:
        raise UsageError("a compiled run query cannot be sent to a tracking server")

    def search_runs_page(
        self, experiment_ids: list[str], filter_text: str, order_by: list[str] | None,
        max_results: int, page_token: str | None, view: str,
    ) -> RunPage:  # fmt: skip
        """A page of a run search, compiled and run by the server."""
        from mlrun_cli.tracking.queries import RunPage

        body = {"experiment_ids": experiment_ids, "filter": filter_text,
                "order_by": order_by or [], "max_results": max_results,
                "page_token": page_token, "view": view}  # fmt: skip
        answer = self.call("POST", "/runs/search", body)
        runs = [wire.run_from_wire(r) for r in answer["runs"]]
        return RunPage(runs, answer.get("next_page_token"))

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        answer = self.call("POST", "/runs/get", {"run_ids": list(run_ids)})
        return [wire.run_from_wire(r) for r in answer["runs"]]

    def find_finished_run(self, experiment_id: str, fingerprint: str) -> Run | None:
        body = {"experiment_id": experiment_id, "fingerprint": fingerprint}
        found = self.call("POST", "/runs/find-finished", body)["run"]
        return None if found is None else wire.run_from_wire(found)

    def set_run_stage(self, run_id: str, stage: str) -> None:
        self.call("POST", self._run_path(run_id, "/stage"), {"stage": stage})

    def rename_run(self, run_id: str, name: str) -> None:
        self.call("POST", self._run_path(run_id, "/name"), {"name": name})

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        from mlrun_cli.tracking.models import Metric

        answer = self.call("GET", self._run_path(run_id, f"/metrics?key={quote(key, safe='')}"))
        return [Metric(key, wire.to_float(v), int(s), int(t)) for v, s, t in answer["metrics"]]

    def running_runs_on(self, host: str) -> list[LiveRun]:
        from mlrun_cli.tracking.models import LiveRun

        answer = self.call("GET", f"/runs/running?host={quote(host, safe='')}")
        return [LiveRun(**item) for item in answer["runs"]]

    def set_child_process(self, run_id: str, pid: int, marker: str | None) -> None:
        self.call("POST", self._run_path(run_id, "/child"), {"pid": pid, "marker": marker})

    def set_child_exit(self, run_id: str, exit_code: int) -> None:
        self.call("POST", self._run_path(run_id, "/child"), {"exit_code": exit_code})

    # -- artifacts --------------------------------------------------------------------------
    def artifacts(self, run_id: str) -> ProxiedArtifacts:
        """The run's files through the server (those staged here first)."""
        from mlrun_cli.tracking.stores.rest_artifacts import ProxiedArtifacts

        return ProxiedArtifacts(self, run_id, self.location.staging_dir(run_id))

    def upload_artifacts(self, run_id: str) -> int:
        """Upload every file the run staged (each PUT replaces the file); return how many.

        Every name is uploaded, whatever it looks like (only ``_mlrun/.partial/``, files
        being received, is not a file of the run). A symlink the run left in its folder is
        uploaded as its target's bytes when that is inside the folder; one that leads out of
        it is left out with a warning on stderr (uploading files from elsewhere on this machine
        is not what a run's folder is for)."""
        import sys

        from mlrun_cli.artifacts.staged import outside_links

        files = self.artifacts(run_id)
        staged = files.staged.list()
        for item in staged:
            files.put(item.path, files.staged.folder / item.path)
        for link in outside_links(files.staged.folder):
            sys.stderr.write(
                f"warning: run {run_id}: artifact {link!r} is a symlink leading out of the "
                "run's artifact folder: not uploaded (copy the file there instead)\n"
            )
        return len(staged)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}
