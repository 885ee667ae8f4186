"""Settings every algorithm shares: a short run of a long config warns that its warmup never ends; pinning."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import torch

from hf_decision.trainers import DecisionTransformerTrainingConfig


def config(tmp_path, **kwargs):
    return DecisionTransformerTrainingConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, **kwargs)


@pytest.mark.parametrize(
    ("max_steps", "warmup_steps", "warns"),
    [(100, 10_000, True), (100, 100, True), (100, 99, False), (100, 0.5, False), (-1, 10_000, False)],
)
def test_warmup_longer_than_the_run_is_named(tmp_path, caplog, max_steps, warmup_steps, warns):
    with caplog.at_level(logging.WARNING, logger="hf_decision.trainers.rl_config"):
        config(tmp_path, max_steps=max_steps, warmup_steps=warmup_steps, learning_rate=1e-4)
    messages = [r.getMessage() for r in caplog.records if r.name == "hf_decision.trainers.rl_config"]
    assert bool(messages) == warns
    if warns:  # linear warmup: at step 100 of 10,000 the rate is 1e-4 × 100 / 10,000 = 1e-6
        expected = "1e-06" if warmup_steps == 10_000 else "0.0001"
        assert f"warmup_steps={warmup_steps} >= max_steps=100" in messages[0] and expected in messages[0]


def test_batches_are_pinned_only_where_cuda_is_available(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not DecisionTransformerTrainingConfig(output_dir=str(tmp_path)).dataloader_pin_memory
    (pin,) = [f for f in dataclasses.fields(DecisionTransformerTrainingConfig) if f.name == "dataloader_pin_memory"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # building the config would then look for a GPU
    assert pin.default_factory() is True
