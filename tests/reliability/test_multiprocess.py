"""Splitting the global batch (over processes, or over gradient-accumulation micro-batches) trains the DT to the
same parameters as one process with the whole batch.

The windows of a batch hold different numbers of real (unpadded) steps, so the action loss must be the mean over
the real steps of the whole global batch, not a mean of per-process means (see
`DecisionTransformerTrainer.compute_loss`). Both runs see the same windows: the Trainer's seeded sampler draws one
permutation of the windows, and process r takes the r-th half of each global batch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.trainers.tasks import make_trainer

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")


def assert_same_parameters(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=atol, msg=name)


def test_gradient_accumulation_trains_like_the_whole_batch(tmp_path):
    whole = make_trainer(tmp_path / "whole", max_steps=10, per_device_train_batch_size=16)
    whole.train()
    halves = make_trainer(
        tmp_path / "halves", max_steps=10, per_device_train_batch_size=8, gradient_accumulation_steps=2
    )
    halves.train()
    assert_same_parameters(dict(whole.model.named_parameters()), dict(halves.model.named_parameters()), 1e-5)


def train_in_subprocess(output_dir: Path, launcher: list[str], per_device_batch: int, *args: str):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [*launcher, "-m", "tests.reliability.tiny_training", str(output_dir), "--max_steps", "30"]
    command += ["--per_device_batch", str(per_device_batch), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def trained_parameters(output_dir: Path, launcher: list[str], per_device_batch: int, *args: str):
    result = train_in_subprocess(output_dir, launcher, per_device_batch, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return load_file(output_dir / "final" / "model.safetensors")


ONE = [sys.executable]
TWO = [str(TORCHRUN), "--nproc_per_node", "2"]


@pytest.mark.slow
def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    """torchrun, 2 CPU processes (gloo), 8 windows each vs 1 process with 16: 30 steps (1.5 epochs of the 320
    windows, with the default window sampling, whose windows differ in length) give the same parameters."""
    one = trained_parameters(tmp_path / "one", ONE, 16)
    two = trained_parameters(tmp_path / "two", TWO, 8)
    assert_same_parameters(one, two, 1e-5)


@pytest.mark.slow
def test_a_nan_loss_on_one_process_stops_or_skips_on_every_process(tmp_path):
    """Process 1 alone sees a NaN loss at step 5. With nonfinite_loss='raise' both processes stop (none hangs in
    the next all-reduce); with 'skip' both drop step 5, like one process whose whole batch of step 5 is skipped."""
    raised = train_in_subprocess(tmp_path / "raise", TWO, 8, "--nan_at", "5", "--nan_rank", "1")
    assert raised.returncode != 0
    for process in (0, 1):  # each process raised, naming process 1 as the one at fault
        assert (
            f"optimizer step 5 (batch 4 counted from the start of training, micro-batch 0 of the step) on "
            f"process(es) [1]; on process {process}: action_loss=" in raised.stderr
        )
    skip = ("--nonfinite_loss", "skip", "--nan_at", "5")
    one = trained_parameters(tmp_path / "one", ONE, 16, *skip)
    two = trained_parameters(tmp_path / "two", TWO, 8, *skip, "--nan_rank", "1")
    assert_same_parameters(one, two, 1e-5)
