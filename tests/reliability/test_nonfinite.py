"""A NaN/inf loss stops training naming the step and batch, or (nonfinite_loss="skip") moves no parameter."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import TrainerCallback

from hf_decision.trainers.base import NonFiniteLossError
from tests.trainers.tasks import make_trainer


def poison_forward(trainer, call: int) -> None:
    """Make the action head output NaN on its `call`-th training forward (1-based), so that batch's loss is NaN."""
    calls = 0

    def hook(module, args, output):
        nonlocal calls
        if not module.training:
            return output
        calls += 1
        return output * math.nan if calls == call else output

    trainer.model.predict_action.register_forward_hook(hook)


class Snapshots(TrainerCallback):
    """The parameters after every optimizer step."""

    def __init__(self):
        self.after_step = {}

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.after_step[state.global_step] = [p.detach().clone() for p in model.parameters()]


def test_a_nan_loss_raises_naming_the_step_and_batch(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=5)
    poison_forward(trainer, call=3)
    with pytest.raises(
        NonFiniteLossError,
        match=r"non-finite training loss at optimizer step 3 \(batch 2 counted from the start of training, "
        r"micro-batch 0 of the step\): action_loss=nan\. Set nonfinite_loss='skip'",
    ):
        trainer.train()
    assert trainer.state.global_step == 2


def test_with_gradient_accumulation_the_batch_index_counts_micro_batches(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=5, per_device_train_batch_size=8, gradient_accumulation_steps=2)
    poison_forward(trainer, call=4)
    with pytest.raises(NonFiniteLossError, match=r"optimizer step 2 \(batch 3 .* micro-batch 1 of the step"):
        trainer.train()


def test_skip_drops_the_batch_and_counts_it_in_the_logs(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=5, nonfinite_loss="skip")
    poison_forward(trainer, call=3)
    snapshots = Snapshots()
    trainer.add_callback(snapshots)
    trainer.train()

    for before, after in zip(snapshots.after_step[2], snapshots.after_step[3], strict=True):
        assert torch.equal(before, after)  # step 3 moved no parameter
    assert not all(map(torch.equal, snapshots.after_step[3], snapshots.after_step[4]))  # training went on
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    logged = {entry["step"]: entry for entry in trainer.state.log_history if "loss" in entry}
    assert [logged[step]["nonfinite_skipped"] for step in range(1, 6)] == [0, 0, 1, 0, 0]
    assert "action_loss" not in logged[3]  # the skipped batch's NaN loss part is dropped, not logged
    assert all(math.isfinite(logged[step]["action_loss"]) for step in (1, 2, 4, 5))
    adam_steps = {int(state["step"]) for state in trainer.optimizer.state_dict()["state"].values()}
    assert adam_steps == {4}  # five optimizer steps, one of which had no gradient
