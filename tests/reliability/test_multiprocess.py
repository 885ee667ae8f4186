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

from tests.trainers.test_decision_trainer import make_trainer

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


def train_in_subprocess(output_dir: Path, launcher: list[str], per_device_batch: int) -> dict[str, torch.Tensor]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [*launcher, "-m", "tests.reliability.tiny_training", str(output_dir), "--max_steps", "30"]
    command += ["--per_device_batch", str(per_device_batch)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return load_file(output_dir / "final" / "model.safetensors")


@pytest.mark.slow
def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    """torchrun, 2 CPU processes (gloo), 8 windows each vs 1 process with 16: 30 steps (1.5 epochs of the 320
    windows, with the default window sampling, whose windows differ in length) give the same parameters."""
    one = train_in_subprocess(tmp_path / "one", [sys.executable], per_device_batch=16)
    two = train_in_subprocess(tmp_path / "two", [str(TORCHRUN), "--nproc_per_node", "2"], per_device_batch=8)
    assert_same_parameters(one, two, 1e-5)
