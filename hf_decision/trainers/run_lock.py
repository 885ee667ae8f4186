"""An exclusive lock on a run's `output_dir`, so that two training runs never write into one folder.

Two runs with the same `output_dir` would damage each other: each save clears the staging folders it finds (the other
run's too) and replaces the other run's checkpoint of the same step, leaving checkpoints of two models interleaved.
`RLTrainer.train` therefore holds `<output_dir>/.hf_decision-run.lock` for the whole run: the file is created with
`O_CREAT | O_EXCL` (atomic, also on NFS v3+) and holds the owner's pid, host and start time as JSON.

A lock left by a run that died (`kill -9`, a crashed node) is *stale*:

- on the same host, a lock whose pid no longer runs is taken over automatically (with a warning);
- from another host it cannot be checked from here: delete the lock file, or train with `take_over_lock=True`
  (`--take_over_lock`), once you know that run is gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK_NAME = ".hf_decision-run.lock"


class RunLockError(RuntimeError):
    """`output_dir` is locked by another training run; the message names it and how to take over a stale lock."""


@dataclass
class RunLock:
    """A held lock; `release` removes the file only while it is still this lock's (not a successor's)."""

    path: Path
    token: str

    def release(self) -> None:
        if _read(self.path).get("token") == self.token:
            self.path.unlink(missing_ok=True)


def acquire_run_lock(output_dir: str | os.PathLike, take_over: bool = False) -> RunLock:
    """Lock `output_dir` (created if missing) for this process; see the module docstring.

    Raises:
        RunLockError: another live run holds the lock (or a run on another host, or the lock file is unreadable),
            and `take_over` is False.
    """
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "token": uuid.uuid4().hex,
    }
    for _ in range(3):  # a stale lock removed here may be re-created by a third run in between
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            reason = "take_over_lock=True" if take_over else _stale_reason(holder)
            if reason is None:
                raise RunLockError(_locked_message(folder, path, holder)) from None
            logger.warning("taking over the lock %s of %s (%s)", path, _describe(holder), reason)
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        return RunLock(path, record["token"])
    raise RunLockError(f"could not lock {folder}: other runs keep creating {path}")


def _read(path: Path) -> dict:
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _stale_reason(holder: dict) -> str | None:
    """Why the lock `holder` describes is stale, or None when it may be alive (or cannot be checked from here)."""
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"process {pid} no longer runs on this host"
    except PermissionError:  # it runs, as another user
        return None
    return None


def _describe(holder: dict) -> str:
    if not holder:
        return "an unknown run (the lock file is empty or unreadable)"
    return f"process {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}"


def _locked_message(folder: Path, path: Path, holder: dict) -> str:
    return (
        f"output_dir {folder} is in use by another training run: {_describe(holder)} (lock file {path}). Two runs "
        "writing into one output_dir overwrite each other's checkpoints: use another output_dir. If that run is gone "
        f"(killed on another host, say), delete {path} or train with take_over_lock=True (--take_over_lock)."
    )
