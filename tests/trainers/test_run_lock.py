"""The lock on `output_dir`: one run at a time, a dead run's lock taken over, another host's only when asked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from hf_decision.trainers.run_lock import LOCK_NAME, RunLockError, acquire_run_lock
from tests.reliability.bad_runs import checkpoint, tiny_trainer


def write_lock(folder, pid, host=None):
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "host": host or socket.gethostname(), "started": "then", "token": "theirs"}
    (folder / LOCK_NAME).write_text(json.dumps(record))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_held_lock_refuses_a_second_run_and_is_released(tmp_path):
    lock = acquire_run_lock(tmp_path)
    with pytest.raises(RunLockError, match=rf"in use by another training run: process {os.getpid()} on host"):
        acquire_run_lock(tmp_path)
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    acquire_run_lock(tmp_path).release()


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    write_lock(tmp_path, dead_pid())
    lock = acquire_run_lock(tmp_path)
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


def test_a_lock_from_another_host_is_taken_over_only_when_asked(tmp_path):
    write_lock(tmp_path, 1, host="another-host")
    with pytest.raises(RunLockError, match=r"process 1 on host another-host.*delete .*take_over_lock=True"):
        acquire_run_lock(tmp_path)
    acquire_run_lock(tmp_path, take_over=True).release()


def test_release_leaves_a_successors_lock_alone(tmp_path):
    lock = acquire_run_lock(tmp_path)
    write_lock(tmp_path, 1, host="another-host")  # taken over meanwhile
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["host"] == "another-host"


def test_training_releases_the_lock_also_when_it_fails(tmp_path):
    folder = checkpoint(tmp_path)
    assert not (tmp_path / "run" / LOCK_NAME).exists()
    (folder / "optimizer.pt").unlink()
    with pytest.raises(ValueError):
        tiny_trainer(tmp_path / "run", max_steps=3).train(resume_from_checkpoint=True)
    assert not (tmp_path / "run" / LOCK_NAME).exists()
