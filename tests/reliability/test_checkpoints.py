"""Checkpoints: loading never unpickles by default, and a crash during a save never leaves a checkpoint that
`get_last_checkpoint` would pick but that cannot be loaded."""

from __future__ import annotations

import errno
import json
import os
import signal

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, TrainerCallback, modeling_utils
from transformers.trainer_utils import get_last_checkpoint

from hf_decision import DecisionTransformerModel
from hf_decision.models.base import UnsafeCheckpointError
from hf_decision.trainers.decision_trainer import LANGUAGE_STATE_FILE
from tests.conftest import random_window, tiny_dt_config
from tests.reliability.bad_runs import checkpoint, tiny_trainer
from tests.trainers.tasks import FixedText, make_trainer


def pickle_checkpoint(folder):
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config()).eval()
    model.save_pretrained(folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return model


def test_pickle_weights_load_only_when_explicitly_allowed(tmp_path):
    model = pickle_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="allow_pickle=True"):
        DecisionTransformerModel.from_pretrained(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="allow_pickle=True"):
        AutoModel.from_pretrained(tmp_path)  # the auto class goes through the same base class
    loaded = DecisionTransformerModel.from_pretrained(tmp_path, allow_pickle=True)
    batch = random_window(model.config)
    assert torch.equal(loaded(**batch).action_preds, model(**batch).action_preds)


def test_resume_unpickles_only_with_weights_only(tmp_path, monkeypatch):
    """transformers 5.24 reads optimizer, scheduler and RNG state with `torch.load(weights_only=True)`, a restricted
    unpickler; the model weights come from safetensors."""
    make_trainer(tmp_path, max_steps=2, save_strategy="steps", save_steps=2).train()
    calls = []
    torch_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append((os.path.basename(str(args[0])), kwargs.get("weights_only")))
        return torch_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    make_trainer(tmp_path, max_steps=3, save_strategy="no").train(resume_from_checkpoint=True)
    assert {name for name, _ in calls} >= {"optimizer.pt", "scheduler.pt", "rng_state.pth"}
    assert all(weights_only is True for _, weights_only in calls), calls


class FailingSave(Exception):
    pass


def checkpointing_trainer(output_dir, **overrides):
    kwargs = dict(max_steps=6, save_strategy="steps", save_steps=3, lm_coef=0.5, language_batches=FixedText())
    return make_trainer(output_dir, **{**kwargs, **overrides})


@pytest.mark.parametrize("failing", ["_save_optimizer_and_scheduler", "save_extra_state"])
def test_a_crash_during_a_save_leaves_the_previous_checkpoint_last_and_loadable(tmp_path, failing):
    """The save of checkpoint-6 dies after the model weights are written (in transformers' part of the save, or in
    the subclass hook): checkpoint-3 stays the last checkpoint, and training resumes from it."""
    trainer = checkpointing_trainer(tmp_path)
    original = getattr(trainer, failing)

    def write_then_die(folder, *args):
        if trainer.state.global_step == 6:
            assert os.path.exists(os.path.join(folder, "model.safetensors"))  # part of the checkpoint is written
            raise FailingSave(folder)
        return original(folder, *args)

    setattr(trainer, failing, write_then_die)
    with pytest.raises(FailingSave):
        trainer.train()
    assert get_last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-3")
    assert not (tmp_path / "checkpoint-6").exists()
    assert (tmp_path / "checkpoint-3" / LANGUAGE_STATE_FILE).exists()  # the hook ran inside the atomic window
    DecisionTransformerModel.from_pretrained(tmp_path / "checkpoint-3")

    resumed = checkpointing_trainer(tmp_path)
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 6
    assert resumed.language_batches.draws == 6  # restored 3 from checkpoint-3, then 3 more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3", "checkpoint-6"]  # staging cleaned up


def test_rotation_keeps_the_newest_complete_checkpoints(tmp_path):
    checkpointing_trainer(tmp_path, max_steps=8, save_steps=2, save_total_limit=2).train()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-6", "checkpoint-8"]


def test_saving_the_same_step_again_replaces_the_checkpoint(tmp_path):
    trainer = checkpointing_trainer(tmp_path)
    trainer.train()
    trainer.language_batches.draws = 99
    trainer._save_checkpoint(trainer.model, trial=None)
    assert json.loads((tmp_path / "checkpoint-6" / LANGUAGE_STATE_FILE).read_text()) == {"draws": 99}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3", "checkpoint-6"]


class MarkBest(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            state.best_global_step, state.best_metric = 3, 0.0


def test_the_best_checkpoint_is_recorded_at_its_final_path(tmp_path):
    trainer = checkpointing_trainer(tmp_path)
    trainer.add_callback(MarkBest())
    trainer.train()
    best = str(tmp_path / "checkpoint-3")
    assert trainer.state.best_model_checkpoint == best
    saved = json.loads((tmp_path / "checkpoint-3" / "trainer_state.json").read_text())
    assert saved["best_model_checkpoint"] == best


def test_resume_incomplete_goes_on_with_fresh_state_for_what_is_missing(tmp_path, caplog):
    folder = checkpoint(tmp_path, "optimizer.pt", "rng_state.pth")
    trainer = tiny_trainer(tmp_path / "resumed", max_steps=3, resume_incomplete=True)
    with caplog.at_level("WARNING", logger="hf_decision.trainers.resume"):
        trainer.train(resume_from_checkpoint=str(folder))
    assert trainer.state.global_step == 3
    assert "without optimizer.pt, rng_state.pth: fresh optimizer state" in caplog.text


def test_a_save_that_fails_on_a_full_disk_leaves_the_previous_save_whole(tmp_path, monkeypatch):
    """The final `save_pretrained` over an earlier one dies writing the weights: the folder still loads as the
    earlier model, config and weights together (not the new config over the old weights)."""
    torch.manual_seed(0)
    old = DecisionTransformerModel(tiny_dt_config(state_mean=[0.0] * 4)).eval()
    old.save_pretrained(tmp_path)
    new = DecisionTransformerModel(tiny_dt_config(state_mean=[1.0] * 4))
    save_file = modeling_utils.safe_save_file

    def disk_full(tensors, filename, metadata=None):
        save_file(dict(list(tensors.items())[:2]), filename, metadata=metadata)  # part of it, then no space
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(modeling_utils, "safe_save_file", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        new.save_pretrained(tmp_path)
    loaded = DecisionTransformerModel.from_pretrained(tmp_path)
    assert loaded.config.state_mean == [0.0] * 4
    batch = random_window(old.config)
    assert torch.equal(loaded(**batch).action_preds, old(**batch).action_preds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]  # no staging left


def test_a_save_over_an_earlier_one_replaces_it_and_keeps_other_files(tmp_path):
    (tmp_path / "checkpoint-3").mkdir()
    DecisionTransformerModel(tiny_dt_config(n_layer=1)).save_pretrained(tmp_path)
    torch.manual_seed(1)
    model = DecisionTransformerModel(tiny_dt_config()).eval()
    model.save_pretrained(tmp_path)
    loaded = DecisionTransformerModel.from_pretrained(tmp_path)
    batch = random_window(model.config)
    assert torch.equal(loaded(**batch).action_preds, model(**batch).action_preds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3", "config.json", "model.safetensors"]


class SigtermAt(TrainerCallback):
    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == 1:  # during optimizer step 2
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_a_checkpoint_stops_then_delivers_the_signal(tmp_path):
    delivered = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: delivered.append(signum))
    try:
        trainer = tiny_trainer(tmp_path, max_steps=6)  # save_strategy="no": the checkpoint is SIGTERM's
        trainer.add_callback(SigtermAt())
        trainer.train()
        assert delivered == [signal.SIGTERM]  # to the handler that was there before training
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert trainer.state.global_step == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2"]
    resumed = tiny_trainer(tmp_path, max_steps=3)
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 3
