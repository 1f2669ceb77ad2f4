"""The token handoff: a real loopback endpoint, tickets redeemed once, secrets never exported."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mlrun_cli.backends import handoff
from mlrun_cli.backends.base import Job, get_backend
from mlrun_cli.backends.slurm import SlurmBackend
from mlrun_cli.errors import StoreError, UsageError


def test_no_token_no_handoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(handoff.TOKEN_ENV, raising=False)
    assert handoff.handoff_for({}, "127.0.0.1") is None


def test_a_ticket_is_redeemed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    served = handoff.Handoff("mlrt_secret", "127.0.0.1", 0)
    ticket = served.ticket("run1")
    assert "mlrt_secret" not in ticket
    assert not served.claimed("run1")
    monkeypatch.setenv(handoff.TICKET_ENV, ticket)
    monkeypatch.delenv(handoff.TOKEN_ENV, raising=False)
    handoff.redeem_ticket()
    assert os.environ[handoff.TOKEN_ENV] == "mlrt_secret"
    assert handoff.TICKET_ENV not in os.environ  # the entry point never sees the ticket
    assert served.claimed("run1")
    monkeypatch.setenv(handoff.TICKET_ENV, ticket)
    with pytest.raises(StoreError, match="redeemed already"):
        handoff.redeem_ticket()


def test_a_forged_ticket_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    served = handoff.Handoff("mlrt_secret", "127.0.0.1", 0)
    monkeypatch.setenv(handoff.TICKET_ENV, served.url + "/guess")
    with pytest.raises(StoreError) as caught:
        handoff.redeem_ticket()
    assert "mlrt_secret" not in str(caught.value)


def test_an_unreachable_submitter_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    served = handoff.Handoff("t", "127.0.0.1", 0)
    url = served.ticket("r")
    served._server.shutdown()
    served._server.server_close()
    monkeypatch.setenv(handoff.TICKET_ENV, url)
    with pytest.raises(StoreError, match="cannot reach the submitter"):
        handoff.redeem_ticket()


def test_handoff_is_started_once_per_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handoff.TOKEN_ENV, "tok")
    first = handoff.handoff_for({"callback_host": "127.0.0.1"}, "ignored")
    assert first is not None
    assert handoff.handoff_for({"callback_host": "127.0.0.1"}, "ignored") is first
    assert first.url.startswith("http://127.0.0.1:")


def test_bad_callback_settings_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handoff.TOKEN_ENV, "tok")
    with pytest.raises(UsageError, match="callback_port 'x': expected a number"):
        handoff.handoff_for({"callback_port": "x"}, "127.0.0.1")
    with pytest.raises(UsageError, match="cannot listen there"):
        handoff.handoff_for({"callback_host": "192.0.2.254"}, "127.0.0.1")


def test_ray_refuses_a_secret_in_env_vars() -> None:
    with pytest.raises(UsageError, match=r"env_vars\.MLRUN_TRACKING_TOKEN: Ray shows"):
        get_backend("ray", {"env_vars": {"MLRUN_TRACKING_TOKEN": "x"}})


def test_common_settings_are_known_to_both_engines() -> None:
    for name in ("ray", "slurm"):
        backend = get_backend(name, {"python": "/opt/py", "callback_host": "h"})
        assert backend.config["python"] == "/opt/py"
    with pytest.raises(UsageError, match="unknown slurm setting 'partiton'"):
        get_backend("slurm", {"partiton": "debug"})


def test_the_sbatch_script_names_the_worker_and_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handoff.TOKEN_ENV, "mlrt_secret")
    job = Job("a" * 32, ("/venv/python", "-m", "mlrun_cli.backends.worker", "run", "."),
              Path("/proj"), {"MLRUN_TOKEN_TICKET": "http://h:1/t"})  # fmt: skip
    script = SlurmBackend({"python": "/opt/py"}).script([job])
    assert "exec /opt/py -m mlrun_cli.backends.worker run ." in script
    assert "mlrt_secret" not in script


def test_sbatch_runs_without_the_submitters_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in sbatch that keeps the environment it got (slurmctld would save it on disk).
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    seen = tmp_path / "env.json"
    fake.write_text(f"#!{sys.executable}\nimport json, os\n"
                    f"json.dump(dict(os.environ), open({str(seen)!r}, 'w'))\nprint('42')\n")  # fmt: skip
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    for name in handoff.SECRET_ENV:
        monkeypatch.setenv(name, "mlrt_secret")
    monkeypatch.setenv("KEPT", "1")
    job = Job("a" * 32, (sys.executable, "-m", "mlrun_cli.backends.worker"), tmp_path)
    assert SlurmBackend({}).submit(job) == "42"
    env = json.loads(seen.read_text())
    assert env["KEPT"] == "1"
    assert not set(handoff.SECRET_ENV) & set(env)
