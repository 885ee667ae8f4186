"""`kill -9` during training, then resume from the last checkpoint: on CPU with a fixed seed and deterministic
algorithms, the losses after the resume equal an uninterrupted run's bit for bit, and so do the final parameters.

The training runs in a subprocess (`tests/reliability/tiny_training.py`: the tiny DT of `tests/trainers`, a
checkpoint every 10 of 30 steps, `full_determinism`) that stops at a chosen point and waits to be killed: at the
end of step 15 (between two checkpoints), or in the middle of writing checkpoint-20. Either way the last
checkpoint is checkpoint-10, and the resumed run must redo steps 11-30 exactly as the uninterrupted run did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers.trainer_utils import get_last_checkpoint

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
COMMAND = [sys.executable, "-m", "tests.reliability.tiny_training"]
TIMEOUT_S = 300


def losses(output_dir: Path) -> list[tuple[int, str]]:
    """The `(step, loss as float.hex)` lines the script wrote, in order."""
    lines = (output_dir / "losses.txt").read_text().splitlines()
    return [(int(step), loss) for step, loss in (line.split() for line in lines)]


def train(output_dir: Path, *args: str) -> None:
    result = subprocess.run(
        [*COMMAND, str(output_dir), *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert result.returncode == 0, result.stderr[-3000:]


def train_until_killed(output_dir: Path, block_at: int, block_in: str, *extra: str) -> None:
    """Start training, wait until the script reports it stopped at `block_at`, then SIGKILL it."""
    with open(output_dir.with_suffix(".stderr"), "w") as stderr:
        process = subprocess.Popen(
            [*COMMAND, str(output_dir), "--block_at", str(block_at), "--block_in", block_in, *extra],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        watchdog = threading.Timer(TIMEOUT_S, process.kill)
        watchdog.start()
        try:
            blocked = any(line.startswith(f"BLOCKED {block_at}") for line in process.stdout)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            watchdog.cancel()
            process.stdout.close()
    assert blocked, output_dir.with_suffix(".stderr").read_text()[-3000:]
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize(("block_in", "block_at"), [("step", 15), ("save", 20)])
def test_kill_9_then_resume_repeats_the_uninterrupted_run_bit_for_bit(tmp_path, block_in, block_at):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    train(reference_dir)
    reference = dict(losses(reference_dir))
    assert sorted(reference) == list(range(1, 31))

    train_until_killed(killed_dir, block_at, block_in)
    assert get_last_checkpoint(str(killed_dir)) == str(killed_dir / "checkpoint-10")
    if block_in == "save":  # the half-written checkpoint is still in its staging folder, not at checkpoint-20
        assert (killed_dir / ".tmp-checkpoint-20" / "checkpoint-20" / "model.safetensors").exists()
        assert not (killed_dir / "checkpoint-20").exists()
    before_resume = len(losses(killed_dir))

    train(killed_dir, "--resume")
    resumed = losses(killed_dir)[before_resume:]
    assert [step for step, _ in resumed] == list(range(11, 31))
    assert all(loss == reference[step] for step, loss in resumed), [
        (step, float.fromhex(loss), float.fromhex(reference[step])) for step, loss in resumed
    ]
    final, expected = (load_file(d / "final" / "model.safetensors") for d in (killed_dir, reference_dir))
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    assert not (killed_dir / ".tmp-checkpoint-20").exists()  # the next save cleaned the staging folder up


@pytest.mark.slow
@pytest.mark.parametrize(("block_in", "block_at"), [("step", 15), ("save", 20)])
def test_online_dt_kill_9_then_resume_repeats_the_uninterrupted_run_bit_for_bit(tmp_path, block_in, block_at):
    """The same for online fine-tuning (`--online`): rounds of 2 rollouts and 4 gradient steps, so checkpoint-10
    falls in the middle of round 3; the replay buffer, the collector's counters and its window generator come back
    from the checkpoint, and the resumed run collects the same episodes and samples the same windows."""
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    train(reference_dir, "--online")
    reference = dict(losses(reference_dir))
    assert sorted(reference) == list(range(1, 31))

    train_until_killed(killed_dir, block_at, block_in, "--online")
    assert get_last_checkpoint(str(killed_dir)) == str(killed_dir / "checkpoint-10")
    before_resume = len(losses(killed_dir))

    train(killed_dir, "--resume", "--online")
    resumed = losses(killed_dir)[before_resume:]
    assert [step for step, _ in resumed] == list(range(11, 31))
    assert all(loss == reference[step] for step, loss in resumed), [
        (step, float.fromhex(loss), float.fromhex(reference[step])) for step, loss in resumed
    ]
    final, expected = (load_file(d / "final" / "model.safetensors") for d in (killed_dir, reference_dir))
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    for directory in (killed_dir, reference_dir):
        assert (directory / "checkpoint-30" / "replay_buffer.npz").exists()
    states = [(d / "checkpoint-30" / "online_state.json").read_text() for d in (killed_dir, reference_dir)]
    assert states[0] == states[1]
