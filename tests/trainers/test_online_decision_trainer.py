"""Online fine-tuning of a Decision Transformer (Online DT) on the tiny SignReward task of `tests/trainers/tasks`."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hf_decision import DecisionTransformerModel
from hf_decision.trainers import OnlineDecisionTransformerConfig, OnlineDecisionTransformerTrainer
from tests.conftest import tiny_dt_config
from tests.trainers.tasks import ENV_ID, HORIZON, task_config, two_behaviour_dataset


def stochastic_dt(**overrides):
    torch.manual_seed(0)
    return DecisionTransformerModel(task_config(stochastic_policy=True, **overrides))


def make_online_trainer(output_dir, model=None, **overrides):
    kwargs = dict(
        output_dir=str(output_dir),
        max_steps=6,
        per_device_train_batch_size=8,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
        replay_size=10,
        episodes_per_round=2,
        num_envs=2,
        gradient_steps_per_round=3,
        exploration_target_return=HORIZON,
    )
    kwargs.update(overrides)
    args = OnlineDecisionTransformerConfig(**kwargs)
    return OnlineDecisionTransformerTrainer(model or stochastic_dt(), args, two_behaviour_dataset())


def test_rounds_collect_relabel_and_train_on_the_buffer(tmp_path):
    trainer = make_online_trainer(tmp_path)
    source = trainer.online_source
    assert len(source.buffer) == 10
    assert all(e["rewards"].sum() == HORIZON for e in source.buffer.episodes)  # the best offline episodes
    trainer.train()
    assert (source.rounds, source.episodes, source.env_steps) == (2, 4, 4 * HORIZON)
    rollouts = source.buffer.episodes[-4:]
    for e in rollouts:  # relabelled with what they achieved, not the exploration target they were conditioned on
        assert e["returns_to_go"][0] == e["rewards"].sum()
        assert np.array_equal(e["returns_to_go"], np.cumsum(e["rewards"][::-1])[::-1])
    logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(logs) == 6
    assert all({"action_nll", "action_entropy", "temperature", "env_steps"} <= set(log) for log in logs)
    assert logs[0]["env_steps"] == 2 * HORIZON and logs[-1]["env_steps"] == 4 * HORIZON
    assert "episode_return" in logs[0] and "episode_return" in logs[3]


def test_a_deterministic_dt_is_refused(tmp_path):
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config(state_dim=2, act_dim=1, max_ep_len=HORIZON, env_id=ENV_ID))
    with pytest.raises(ValueError, match="stochastic_policy=True"):
        make_online_trainer(tmp_path, model=model)


def test_ignore_data_skip_cannot_be_turned_off(tmp_path):
    with pytest.raises(ValueError, match="ignore_data_skip"):
        make_online_trainer(tmp_path, ignore_data_skip=False)


def test_checkpoints_hold_the_buffer_and_collector_state_and_resume_repeats_the_run(tmp_path):
    """A checkpoint in the middle of a round (step 4 = round 2, batch 1 of 3) resumes to the same parameters."""
    settings = dict(save_strategy="steps", save_steps=4, full_determinism=True)
    reference = make_online_trainer(tmp_path / "reference", **settings)
    reference.train()
    checkpoint = tmp_path / "reference" / "checkpoint-4"
    state = json.loads((checkpoint / "online_state.json").read_text())
    assert {k: state[k] for k in ("rounds", "episodes", "env_steps", "batches_in_round")} == {
        "rounds": 2,
        "episodes": 4,
        "env_steps": 4 * HORIZON,
        "batches_in_round": 1,
    }

    fresh = make_online_trainer(tmp_path / "fresh", **settings)
    fresh.load_extra_state(str(checkpoint))
    assert fresh.online_source.state_dict() == state
    assert len(fresh.online_source.buffer) == 10
    assert all(
        np.array_equal(a[name], b[name])
        for a, b in zip(fresh.online_source.buffer.episodes, reference.online_source.buffer.episodes, strict=True)
        for name in ("observations", "actions", "rewards", "returns_to_go")
    )  # no round after step 4: the buffer then is the buffer at the end

    resumed = make_online_trainer(tmp_path / "reference", **settings)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.online_source.state_dict() == reference.online_source.state_dict()
    final = load_file(tmp_path / "reference" / "checkpoint-6" / "model.safetensors")
    expected = {k: v.detach() for k, v in reference.model.state_dict().items()}
    assert all(torch.equal(final[name], expected[name]) for name in final)
