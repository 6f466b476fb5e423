"""The workflow on a real SLURM: a one-node cluster on localhost, started by this test.

Debian's slurm-wlm and munge are installed when missing (as root, with apt-get); then munged,
slurmctld and slurmd run in the foreground as children of this test, on free ports, with their
state in a temporary folder, and are stopped at the end. The cluster configuration must be at
/etc/slurm/slurm.conf, because the SLURM executor's job steps drop SLURM_CONF from the
environment of `srun`; so the test writes it there only where no such file exists (a machine
with a SLURM of its own is never touched) and removes it afterwards. The file it writes names
itself (MARKER) and its daemons: a later run recognises what a killed run left, stops those
daemons and removes the file, instead of skipping as if the machine had a SLURM of its own. There is no accounting
database: the executor reads job states with squeue (MinJobAge keeps finished jobs listed).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY, compared_artifacts, copy_project, environment, skip_if_a_real_compiler_is_installed

PACKAGES = ["slurm-wlm", "munge"]
PROGRAMS = ["munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun", "scancel"]
SYSTEM_CONFIG = Path("/etc/slurm/slurm.conf")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
TRAIN_MEMORY_MB = 4000  # what profiles/slurm asks for training
RUN_TIMEOUT_S = 900


def program(name):
    return shutil.which(name, path=SEARCH_PATH)


def install_or_skip():
    """Make SLURM and munge available, or skip saying why they cannot be."""
    if os.geteuid() != 0:
        pytest.skip("a SLURM cluster needs root: slurmd runs jobs as their users and apt-get installs the packages")
    if all(map(program, PROGRAMS)):
        return
    if not shutil.which("apt-get"):
        pytest.skip(f"{', '.join(PACKAGES)} are not installed and there is no apt-get to install them")
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=quiet, timeout=900)
    if result.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=quiet, timeout=600)
        result = subprocess.run(install, capture_output=True, text=True, env=quiet, timeout=900)
    if result.returncode != 0 or not all(map(program, PROGRAMS)):
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"could not install {', '.join(PACKAGES)} with apt-get: {last}")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def memory_mb():
    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    return int(total_kb / 1024 * 0.8)  # leave room for the system


# The first line of the configuration this test writes: a file that starts with it is this test's
# own, left by a run that could not clean up (killed in teardown), and is removed with its daemons.
MARKER = "# Written by coralbuild's tests/test_slurm.py for a throwaway cluster; removed when the test ends."
DAEMON_NAMES = {"munged", "slurmctld", "slurmd", "slurmstepd"}


def cluster_config(folder, node, cpus, memory, controller_port, node_port):
    return f"""\
{MARKER}
ClusterName=coralbuild-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmdPort={node_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge/munge.socket
SlurmUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Finished jobs stay in squeue for an hour: the executor's only source of job states here.
MinJobAge=3600
ReturnToService=2
MpiDefault=none
# The one node has no feature `coral` (no Coral device): profiles/slurm sends benchmark_edgetpu
# jobs there, which must then not be queued when they have nothing to measure.
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def wait_for(condition, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s} s")
        time.sleep(0.5)


def node_state():
    result = subprocess.run([program("sinfo"), "-h", "-N", "-o", "%T"], capture_output=True, text=True)
    return result.stdout.strip()


def daemon_name(pid):
    """The program name a process runs as (its argv[0]), or None when there is no such process."""
    try:
        return Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")).name
    except (OSError, IndexError):
        return None


def recorded_daemons(config):
    """The process ids the configuration at `config` records for the daemons this test started."""
    lines = [line for line in config.read_text().splitlines() if line.startswith("# daemons:")]
    return [int(pid) for line in lines for pid in line.split(":", 1)[1].split()]


def stop_daemons(pids, job_steps):
    """SIGKILL each of `pids` that runs a SLURM or munge daemon (a recycled id running something
    else is left alone), and with `job_steps` every slurmstepd: the cluster runs only where the
    machine has no SLURM of its own, so a job step there can only be this test's."""
    steps = [int(entry.name) for entry in Path("/proc").iterdir()
             if job_steps and entry.name.isdigit() and daemon_name(entry.name) == "slurmstepd"]
    for pid in [*pids, *steps]:
        if daemon_name(pid) in DAEMON_NAMES:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def remove_own_leftovers(config, job_steps=True):
    """When `config` is this test's own (its first line is MARKER), left by a run killed before
    its teardown: stop the daemons it records (and the job steps, see stop_daemons) and remove
    it. True when it was."""
    if not config.exists() or not config.read_text().startswith(MARKER):
        return False
    stop_daemons(recorded_daemons(config), job_steps)
    config.unlink()
    return True


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    install_or_skip()
    remove_own_leftovers(SYSTEM_CONFIG)
    if SYSTEM_CONFIG.exists():
        pytest.skip(f"this machine has a SLURM configuration of its own ({SYSTEM_CONFIG}); the test starts a "
                    "throwaway cluster only where there is none")
    cpus, memory = os.cpu_count() or 1, memory_mb()
    if cpus < 2 or memory < TRAIN_MEMORY_MB:
        pytest.skip(f"the cluster's one node needs 2 CPUs and {TRAIN_MEMORY_MB} MB for training; this machine "
                    f"has {cpus} CPUs and {memory} MB to spare")
    folder = tmp_path_factory.mktemp("slurm")
    for name in ("state", "spool", "munge"):
        (folder / name).mkdir(mode=0o755)
    (folder / "munge/munge.key").write_bytes(os.urandom(1024))
    (folder / "munge/munge.key").chmod(0o400)
    node = socket.gethostname().split(".")[0]
    SYSTEM_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONFIG.write_text(cluster_config(folder, node, cpus, memory, *free_ports(2)))
    munge = ["--socket", f"{folder}/munge/munge.socket", "--key-file", f"{folder}/munge/munge.key",
             "--pid-file", f"{folder}/munge/munged.pid", "--seed-file", f"{folder}/munge/munged.seed",
             "--log-file", f"{folder}/munge/munged.log"]
    commands = [[program("munged"), "--foreground", "--force", *munge],
                [program("slurmctld"), "-D", "-i"],
                [program("slurmd"), "-D", "-N", node]]
    daemons = []
    try:
        for command in commands:
            log = open(folder / f"{Path(command[0]).name}.out", "wb")
            daemons.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            with SYSTEM_CONFIG.open("a") as config:  # for a later run, should this one be killed before its teardown
                config.write(f"# daemons: {daemons[-1].pid}\n")
            time.sleep(1)
        wait_for(lambda: node_state() in ("idle", "mixed", "allocated"), "the node did not come up")
        yield folder
    finally:
        subprocess.run([program("scancel"), "--user", "root"], capture_output=True)
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        stop_daemons([], job_steps=True)  # job steps slurmd started in sessions of their own
        SYSTEM_CONFIG.unlink(missing_ok=True)


def submitted_jobs():
    """(rule and wildcards, CPUs, memory, features) of every job the cluster ran."""
    listing = subprocess.run([program("squeue"), "-h", "-t", "all", "-o", "%k|%C|%m|%f"],
                             capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|")) for line in listing.splitlines() if line.startswith("rule_")]


def test_the_tiny_run_on_slurm_matches_a_local_run(slurm_cluster, tiny_run, tmp_path):
    skip_if_a_real_compiler_is_installed()  # with one, benchmark_edgetpu jobs wait for a `coral` node
    project = copy_project(tmp_path / "project")
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", *TINY,
               # This cluster has no accounting database (slurmdbd): no account, job states from squeue.
               "--slurm-no-account", "--slurm-status-command", "squeue",
               "--slurm-init-seconds-before-status-checks", "1"]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=environment(),
                            timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/mnist/cnn/model_int8.tflite" in compared_artifacts(tiny_run, project)

    jobs = submitted_jobs()
    rules = sorted(job[0].split("_wildcards_")[0][len("rule_"):] for job in jobs)
    per_model = ["benchmark_cpu", "convert_float32", "estimate_edgetpu", "evaluate", "export_saved_model",
                 "predict_edgetpu", "quantize_int8", "train"]
    # Tables and plots ran on the submit host, and so did the Edge TPU benchmarks: without a
    # compiler they only write "skipped" rows, and a job constrained to `coral` would wait forever here.
    assert rules == sorted(["prepare_dataset", *per_model, *per_model])
    table = pd.read_csv(project / "results/benchmark.csv")
    assert set(table[table.device == "usb"].status) == {
        "skipped: no compiled model (compile skipped: no edgetpu_compiler on PATH and no compile.container_image configured)"}
    for rule_and_wildcards, cpus, memory, _features in jobs:
        if rule_and_wildcards.startswith("rule_train_"):
            assert (cpus, memory) == ("2", f"{TRAIN_MEMORY_MB}M")
        if rule_and_wildcards.startswith("rule_prepare_dataset_"):
            assert cpus == "2"  # profiles/slurm's threads, not the rule's 8 that no small node has


def test_a_killed_runs_leftovers_are_recognised_and_removed(tmp_path):
    """A configuration of this test's (MARKER) and a daemon it records: the daemon is stopped and
    the file removed. A process standing in for slurmd (sleep running as `slurmd`) is enough."""
    stand_in = subprocess.Popen(["bash", "-c", "exec -a slurmd sleep 300"], start_new_session=True)
    other = subprocess.Popen(["sleep", "300"], start_new_session=True)  # a recycled id running something else
    try:
        wait_for(lambda: daemon_name(stand_in.pid) == "slurmd", "the stand-in did not start", timeout_s=10)
        config = tmp_path / "slurm.conf"
        config.write_text(cluster_config(tmp_path, "node", 2, 4000, 1, 2) + f"# daemons: {stand_in.pid} {other.pid}\n")
        assert remove_own_leftovers(config, job_steps=False)  # a real SLURM's job steps may run on this machine
        assert stand_in.wait(timeout=10) == -signal.SIGKILL
        assert other.poll() is None and not config.exists()
    finally:
        for process in (stand_in, other):
            process.kill()
            process.wait()


def test_a_configuration_that_is_not_this_tests_is_never_touched(tmp_path):
    config = tmp_path / "slurm.conf"
    config.write_text("ClusterName=theirs\n# daemons: 1\n")
    assert not remove_own_leftovers(config, job_steps=False)
    assert config.read_text() == "ClusterName=theirs\n# daemons: 1\n"
