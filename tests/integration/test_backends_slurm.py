"""Runs and sweeps on a real one-node Slurm cluster (munge, slurmctld, slurmd) of this host.

The fixture writes its own slurm.conf and munge key in a private folder, starts the daemons in
the foreground as root and stops them by PID; nothing of the host's own Slurm or munge is used.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import mlrun_argv, run_mlrun, write_project
from tests.integration.remote_checks import (
    assert_sweep_recorded,
    files_holding,
    logs_and_cancel_from_elsewhere,
    slow_run,
    submit_slow_run,
    sweep_args,
    team_server,
)
from tests.integration.test_sweep import MLPROJECT, TRAIN, store_rows

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration
TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _conf(folder: Path, host: str) -> str:
    return textwrap.dedent(
        f"""\
        ClusterName=mlruntest
        SlurmctldHost={host}
        SlurmctldPort={_free_port()}
        SlurmdPort={_free_port()}
        AuthType=auth/munge
        AuthInfo=socket={folder}/munge.sock
        CredType=cred/munge
        ProctrackType=proctrack/linuxproc
        TaskPlugin=task/none
        JobAcctGatherType=jobacct_gather/none
        SelectType=select/cons_tres
        SelectTypeParameters=CR_Core
        SlurmUser=root
        SlurmdUser=root
        StateSaveLocation={folder}/state
        SlurmdSpoolDir={folder}/spool
        SlurmctldPidFile={folder}/slurmctld.pid
        SlurmdPidFile={folder}/slurmd.pid
        SlurmctldLogFile={folder}/slurmctld.log
        SlurmdLogFile={folder}/slurmd.log
        ReturnToService=2
        MpiDefault=none
        SchedulerType=sched/backfill
        AccountingStorageType=accounting_storage/none
        JobCompType=jobcomp/none
        MinJobAge=300
        NodeName={host} CPUs=2 RealMemory=500 State=UNKNOWN
        PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
        """
    )


@pytest.fixture(scope="session")
def slurm() -> Iterator[Path]:
    """A one-node cluster; yields its slurm.conf (clients find it through SLURM_CONF)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing): "
                    "apt-get install slurmctld slurmd slurm-client munge")  # fmt: skip
    if os.geteuid() != 0:
        pytest.skip("the one-node Slurm fixture starts its daemons as root")
    folder = Path(tempfile.mkdtemp(prefix="mlrun-slurm-", dir="/tmp"))  # short socket path
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = folder / "slurm.conf"
    conf.write_text(_conf(folder, socket.gethostname().split(".")[0]))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    daemons: list[subprocess.Popen[bytes]] = []
    log = (folder / "daemons.log").open("ab")
    try:
        daemons.append(subprocess.Popen(
            ["munged", "-F", "--force", f"--socket={folder}/munge.sock", f"--key-file={key}",
             f"--log-file={folder}/munged.log", f"--pid-file={folder}/munged.pid",
             f"--seed-file={folder}/munged.seed"], stdout=log, stderr=log))  # fmt: skip
        while not (folder / "munge.sock").exists():
            assert daemons[0].poll() is None, (folder / "munged.log").read_text()
            time.sleep(0.1)
        for daemon in ("slurmctld", "slurmd"):
            daemons.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], env=env,
                                            stdout=log, stderr=log))  # fmt: skip
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%T"], env=env,
                                           capture_output=True, text=True, check=False).stdout:  # fmt: skip
            for daemon in daemons:
                assert daemon.poll() is None, (folder / "daemons.log").read_text()[-2000:]
            time.sleep(0.3)
        os.environ["SLURM_CONF"] = str(conf)
        yield conf
    finally:
        os.environ.pop("SLURM_CONF", None)
        for daemon in reversed(daemons):  # by PID: only the daemons this fixture started
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def slurm_config(slurm: Path, tmp_path: Path) -> Path:
    path = tmp_path / "slurm.json"
    path.write_text(json.dumps({"partition": "debug", "cpus": 1, "time": "00:10:00"}))
    return path


@pytest.fixture
def project(isolated: Path) -> Path:
    return write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN})


def test_sweep_on_slurm_uses_one_job_array(project: Path, slurm_config: Path) -> None:
    result = run_mlrun(*sweep_args(project, "slurm", slurm_config, None))
    assert result.returncode == 0, result.stderr
    assert_sweep_recorded(result.stdout, None)
    trials = json.loads(result.stdout)["trials"]
    records = [
        json.loads((Path("mlruns/artifacts") / t["run_id"] / "_mlrun/backend.json").read_text())
        for t in trials
    ]
    arrays = {r["job_id"].split("_")[0] for r in records}
    assert len(arrays) == 1  # one sbatch
    shown = subprocess.run(["scontrol", "show", "job", "-o", arrays.pop()], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert "ArrayTaskThrottle=2" in shown


def test_a_run_the_engine_loses_is_marked_failed(
    project: Path, slurm_config: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    env = {**os.environ, "SLOW_FROM": "0", "MARKERS": str(markers)}
    argv = mlrun_argv("run", str(project), "--env-manager", "local", "--backend", "slurm",
                      "--backend-config", str(slurm_config), "-P", "x=0.5")  # fmt: skip
    with slow_run(argv, markers, env=env) as slow:
        ((run_id, pid, child),) = store_rows("SELECT run_id, pid, child_pid FROM runs")
        record = json.loads(
            (Path("mlruns/artifacts") / str(run_id) / "_mlrun/backend.json").read_text()
        )
        # As a dead node would: the worker's mlrun gets no chance to record anything.
        os.kill(int(str(pid)), signal.SIGKILL)
        os.killpg(int(str(child)), signal.SIGKILL)  # the entry point's own process group
    assert slow.returncode == 1, slow.err
    ((status, reason),) = store_rows("SELECT status, status_reason FROM runs")
    assert status == "FAILED"
    assert str(reason).startswith(f"slurm: job {record['job_id']}")


def test_sweep_on_slurm_reports_to_the_team_server_and_no_file_holds_the_token(
    project: Path,
    slurm: Path,
    slurm_config: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with team_server(isolated, monkeypatch) as team:
        result = run_mlrun(*sweep_args(project, "slurm", slurm_config, team.url))
        assert result.returncode == 0, result.stderr
        recorded = assert_sweep_recorded(result.stdout, team.url)
        assert not (isolated / "mlruns").exists()  # recorded by the server only
        jobs = {str(dict(r["tags"])["mlrun.backend.job_id"]) for r in recorded}  # type: ignore[call-overload]
        assert len({job.split("_")[0] for job in jobs}) == 1  # one array, ids from the worker
        shown = run_mlrun("runs", "logs", str(recorded[0]["run_id"]), "--tracking-uri", team.url)
        assert shown.returncode == 0, shown.stderr
        assert "training x=" in shown.stdout
        array = next(iter(jobs)).split("_")[0]
        scontrol = subprocess.run(["scontrol", "show", "job", "-d", array], capture_output=True,
                                  text=True, check=False).stdout  # fmt: skip
    assert team.token not in scontrol + result.stdout + result.stderr
    # slurmctld's saved scripts and environments, slurmd's spool, every log, the store, the
    # submitter's and the worker's staging folders, the project (the job's working dir).
    assert not files_holding(team.token, tmp_path_factory.getbasetemp(), slurm.parent, project)
    saved = slurm.parent.glob("state/hash.*/job.*/script")  # what slurmctld keeps: run tokens
    assert any(b"MLRUN_TRACKING_TOKEN=mlrr_" in path.read_bytes() for path in saved)


def test_logs_and_cancel_through_the_team_server_from_another_machine(
    project: Path,
    slurm_config: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    monkeypatch.setenv("SLOW_FROM", "0")  # the job inherits the submitter's environment
    monkeypatch.setenv("MARKERS", str(markers))
    with team_server(isolated, monkeypatch) as team:
        run_id = submit_slow_run(project, "slurm", slurm_config, team.url, markers)
        logs_and_cancel_from_elsewhere(team.url, run_id, tmp_path / "elsewhere", monkeypatch)


def test_a_job_cancelled_outside_mlrun_ends_killed_with_slurms_word(
    project: Path, slurm_config: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    env = {**os.environ, "SLOW_FROM": "0", "MARKERS": str(markers)}
    argv = mlrun_argv("run", str(project), "--env-manager", "local", "--backend", "slurm",
                      "--backend-config", str(slurm_config), "-P", "x=0.5")  # fmt: skip
    with slow_run(argv, markers, env=env) as slow:
        ((run_id,),) = store_rows("SELECT run_id FROM runs")
        record = json.loads(
            (Path("mlruns/artifacts") / str(run_id) / "_mlrun/backend.json").read_text()
        )
        subprocess.run(["scancel", record["job_id"]], check=True)
    assert slow.returncode != 0, slow.err
    ((status, why),) = store_rows("SELECT status, status_reason FROM runs")
    assert status == "KILLED", why  # the worker got Slurm's SIGTERM and recorded its end
    ((ended,),) = store_rows("SELECT value FROM tags WHERE key = 'mlrun.backend.ended'")
    assert str(ended).startswith(f"slurm: job {record['job_id']} stopped: CANCELLED"), ended
