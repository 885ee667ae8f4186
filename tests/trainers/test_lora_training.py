"""A LoRA fine-tune of a tiny GPT-2 backbone trains, saves, reloads and acts identically after reload, and its merged
checkpoint acts as the adapter model does (the done-when of issue 22)."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from hf_decision import DecisionTransformerModel
from hf_decision.agents import DecisionTransformerAgent
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.trainers.tasks import ENV_ID, HORIZON, two_behaviour_dataset

pytest.importorskip("peft")
from hf_decision.models.decision_transformer.lora import DecisionTransformerLoraModel, merge_lora  # noqa: E402


class FixedText:
    def __init__(self):
        self.ids = torch.randint(0, 40, (2, 6), generator=torch.Generator().manual_seed(0))

    def __next__(self):
        return self.ids


def lora_trainer(tmp_path, **overrides):
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_embd=24, n_layer=2, n_head=3, vocab_size=40, n_positions=48)).save_pretrained(
        tmp_path / "gpt2"
    )
    model = DecisionTransformerModel.from_pretrained_backbone(
        tmp_path / "gpt2", state_dim=2, act_dim=1, context_length=4, max_ep_len=HORIZON, env_id=ENV_ID,
        return_scale=HORIZON, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    ).train()  # fmt: skip
    kwargs = dict(
        output_dir=str(tmp_path / "run"), max_steps=4, per_device_train_batch_size=16, learning_rate=1e-2,
        warmup_steps=0, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, seed=0,
        disable_tqdm=True, lora_r=4, lora_dropout=0.0,
    )  # fmt: skip
    kwargs.update(overrides)
    text = FixedText() if kwargs.get("lm_coef", 0) > 0 else None
    args = DecisionTransformerTrainingConfig(**kwargs)
    return DecisionTransformerTrainer(model, args, two_behaviour_dataset(), language_batches=text)


def episode_actions(model) -> np.ndarray:
    agent = DecisionTransformerAgent(model, target_return=HORIZON)
    env = gym.make(ENV_ID)
    observation, _ = env.reset(seed=0)
    actions, done = [], False
    while not done:
        action = agent.act(observation)
        observation, reward, terminated, truncated, _ = env.step(action)
        agent.observe([reward], [terminated or truncated])
        actions.append(action)
        done = terminated or truncated
    return np.stack(actions)


def test_lora_fine_tune_trains_saves_reloads_and_merges_to_the_same_actions(tmp_path):
    trainer = lora_trainer(tmp_path)
    assert isinstance(trainer.model, DecisionTransformerLoraModel)
    trainable, total = trainer.trainable_parameters
    assert 0 < trainable < total
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])}
    assert any("lora_B" in name for name in changed) and any("predict_action.modules_to_save" in n for n in changed)
    assert all("lora_" in name or ".modules_to_save." in name for name in changed)  # the backbone stays frozen

    expected = episode_actions(trainer.model)
    assert expected.shape == (HORIZON, 1)
    trainer.save_model(str(tmp_path / "adapter"))
    reloaded = DecisionTransformerAgent.from_pretrained(tmp_path / "adapter", target_return=HORIZON)
    np.testing.assert_array_equal(episode_actions(reloaded.model), expected)

    merged = merge_lora(DecisionTransformerModel.from_pretrained(tmp_path / "adapter"))
    merged.save_pretrained(tmp_path / "merged")
    plain = DecisionTransformerAgent.from_pretrained(tmp_path / "merged", target_return=HORIZON)
    assert type(plain.model) is DecisionTransformerModel
    np.testing.assert_allclose(episode_actions(plain.model), expected, rtol=0, atol=1e-5)


def test_lora_with_language_loss_and_gradient_checkpointing(tmp_path):
    # transformers renamed `gradient_checkpointing` to `activation_checkpointing` within 5.x
    name = (
        "activation_checkpointing"
        if hasattr(DecisionTransformerTrainingConfig, "activation_checkpointing")
        else ("gradient_checkpointing")
    )
    trainer = lora_trainer(tmp_path, lm_coef=0.5, max_steps=2, **{name: True})
    base = trainer.model.get_base_model()
    wte = base.transformer.wte.weight.detach().clone()
    trainer.train()
    assert all(block.gradient_checkpointing for block in base.transformer.h)
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logged) == 2 and all(np.isfinite(entry["lm_loss"]) for entry in logged)
    assert torch.equal(base.transformer.wte.weight, wte)  # the tied LM head is frozen


def test_lora_training_resumes_from_a_checkpoint_as_if_uninterrupted(tmp_path):
    full = lora_trainer(tmp_path / "full")
    full.train()
    interrupted = lora_trainer(tmp_path / "resumed", save_strategy="steps", save_steps=2)
    interrupted.train()
    checkpoint = tmp_path / "resumed" / "run" / "checkpoint-2"
    assert (checkpoint / "adapter_model.safetensors").is_file() and (checkpoint / "config.json").is_file()
    resumed = lora_trainer(tmp_path / "resumed", save_strategy="no")
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == 4
    for (name, p), q in zip(resumed.model.named_parameters(), full.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)


def test_resuming_a_lora_checkpoint_with_another_rank_is_refused(tmp_path):
    from hf_decision.models.base import CheckpointError

    lora_trainer(tmp_path, save_strategy="steps", save_steps=2, max_steps=2).train()
    other = lora_trainer(tmp_path, lora_r=8)
    with pytest.raises(CheckpointError, match=r"lora_A.weight: checkpoint \[4, 24\] vs model \[8, 24\]"):
        other.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-2"))
