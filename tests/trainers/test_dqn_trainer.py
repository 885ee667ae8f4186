import numpy as np
import pytest
import torch

from hf_decision.agents import QNetworkAgent
from hf_decision.evaluation import evaluate
from hf_decision.models import QNetworkConfig, QNetworkModel
from hf_decision.trainers import DQNConfig, DQNTrainer
from hf_decision.trainers.dqn_trainer import TARGET_NETWORK_FILE
from tests.trainers.tasks import DISCRETE_ENV_ID, HORIZON, observation, optimal_two_arm_q, two_arm_dataset


def dqn_args(tmp_path, **overrides) -> DQNConfig:
    kwargs = dict(
        output_dir=str(tmp_path),
        max_steps=10,
        per_device_train_batch_size=32,
        learning_rate=1e-2,
        target_update_interval=3,
        logging_steps=5,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=0,
    )
    return DQNConfig(**(kwargs | overrides))


def q_network(**overrides) -> QNetworkModel:
    torch.manual_seed(0)
    return QNetworkModel(QNetworkConfig(**({"state_dim": 2, "act_dim": 2, "hidden_sizes": [32, 32]} | overrides)))


def parameters(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_target_network_changes_only_at_its_refresh(tmp_path):
    trainer = DQNTrainer(q_network(), dqn_args(tmp_path, max_steps=7), train_dataset=two_arm_dataset())
    snapshots = []

    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            snapshots.append((state.global_step, parameters(trainer.target_model), parameters(trainer.model)))

    trainer.add_callback(Record())  # runs after the target update of the same step
    initial = parameters(trainer.target_model)
    trainer.train()
    for step, target, online in snapshots:
        refreshed = step - step % 3  # the last refresh at or before this step
        if refreshed == 0:
            assert all(torch.equal(t, i) for t, i in zip(target, initial, strict=True)), step
        else:
            expected = next(o for s, _, o in snapshots if s == refreshed)
            assert all(torch.equal(t, e) for t, e in zip(target, expected, strict=True)), step
            if step != refreshed:
                assert not all(torch.equal(t, o) for t, o in zip(target, online, strict=True)), step


def test_polyak_update_is_a_convex_combination(tmp_path):
    trainer = DQNTrainer(q_network(), dqn_args(tmp_path, tau=0.25), train_dataset=two_arm_dataset())
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    before = parameters(trainer.target_model)
    trainer.update_target_network()
    for old, new, online in zip(before, parameters(trainer.target_model), parameters(trainer.model), strict=True):
        assert torch.allclose(new, 0.75 * old + 0.25 * online)


def test_offline_dqn_recovers_the_optimal_q_values(tmp_path):
    gamma = 0.5
    args = dqn_args(
        tmp_path,
        max_steps=500,
        gamma=gamma,
        target_update_interval=25,
        learning_rate=3e-3,
        per_device_train_batch_size=64,
    )
    model = q_network()
    DQNTrainer(model, args, train_dataset=two_arm_dataset(episodes=400)).train()
    obs = torch.tensor(np.stack([observation(t) for t in range(HORIZON)]))
    with torch.no_grad():
        q = model(obs).q_values.numpy()
    assert np.abs(q - optimal_two_arm_q(gamma)).max() < 0.05
    assert model.config.state_mean is not None  # dataset statistics travel with the checkpoint


def test_offline_dqn_refuses_continuous_actions_and_mismatched_sizes(tmp_path):
    from tests.trainers.tasks import two_behaviour_dataset

    with pytest.raises(ValueError, match="discrete actions"):
        DQNTrainer(q_network(), dqn_args(tmp_path), train_dataset=two_behaviour_dataset(2))
    with pytest.raises(ValueError, match="state_dim=2 .* state_dim=3"):
        DQNTrainer(q_network(state_dim=3), dqn_args(tmp_path), train_dataset=two_arm_dataset())
    with pytest.raises(ValueError, match="train_dataset .* or args.env_id"):
        DQNTrainer(q_network(), dqn_args(tmp_path))
    with pytest.raises(ValueError, match="max_steps > 0"):
        DQNTrainer(q_network(), dqn_args(tmp_path, env_id=DISCRETE_ENV_ID, max_steps=-1))


def test_online_dqn_learns_the_two_arm_env_and_checkpoints_its_state(tmp_path):
    args = dqn_args(
        tmp_path,
        env_id=DISCRETE_ENV_ID,
        max_steps=300,
        learning_starts=64,
        train_frequency=8,
        gradient_steps=4,
        num_envs=2,
        buffer_size=5000,
        gamma=0.5,
        target_update_interval=20,
        learning_rate=3e-3,
        exploration_fraction=0.5,
        save_strategy="steps",
        save_steps=300,
    )
    model = q_network()
    trainer = DQNTrainer(model, args)
    trainer.train()
    source = trainer.online_source
    # env steps: the random warmup, then train_frequency per round of gradient_steps
    assert source.env_steps == 64 + (300 // 4) * 8 == args.total_env_steps
    assert evaluate(model, DISCRETE_ENV_ID, n_episodes=2)["mean_return"] == HORIZON
    checkpoint = tmp_path / "checkpoint-300"
    assert (checkpoint / TARGET_NETWORK_FILE).exists() and (checkpoint / "replay_buffer.npz").exists()

    resumed = DQNTrainer(q_network(), args)
    resumed.load_extra_state(str(checkpoint))
    assert resumed.online_source.env_steps == source.env_steps
    assert len(resumed.online_source.buffer) == len(source.buffer)
    assert np.array_equal(resumed.online_source.buffer.observations, source.buffer.observations)
    assert all(
        torch.equal(a, b)
        for a, b in zip(parameters(resumed.target_model), parameters(trainer.target_model), strict=True)
    )
    history = [log for log in trainer.state.log_history if "episode_return" in log]
    assert history and history[-1]["env_steps"] > history[0]["env_steps"]


def test_q_network_agent_is_greedy_and_epsilon_explores():
    model = q_network()
    obs = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    greedy = QNetworkAgent(model, num_envs=200).act(obs)
    assert np.array_equal(greedy, model(torch.from_numpy(obs)).q_values.argmax(-1).numpy())
    explored = QNetworkAgent(model, num_envs=200, epsilon=1.0, seed=3).act(obs)
    assert 60 < (explored != greedy).sum() < 140  # uniform random actions disagree about half the time


def test_dqn_and_pg_configs_share_the_non_finite_loss_policy(tmp_path):
    from hf_decision.trainers import ReinforceConfig

    assert dqn_args(tmp_path, nonfinite_loss="skip").nonfinite_loss == "skip"
    with pytest.raises(ValueError, match="nonfinite_loss must be 'raise' or 'skip'"):
        dqn_args(tmp_path, nonfinite_loss="ignore")
    with pytest.raises(ValueError, match="nonfinite_loss"):
        ReinforceConfig(output_dir=str(tmp_path), env_id=DISCRETE_ENV_ID, max_steps=1, nonfinite_loss="zero")
