import numpy as np
import pytest
import torch

from hf_decision.data import ReplayBuffer
from hf_decision.models import QNetworkConfig, QNetworkModel
from hf_decision.trainers.online import EpsilonGreedyReplay


def replay(model, epsilon: float, learning_starts: int = 0) -> EpsilonGreedyReplay:
    return EpsilonGreedyReplay(
        lambda: model,
        "CartPole-v1",
        num_envs=2,
        buffer=ReplayBuffer(64, 4),
        batch_size=4,
        learning_starts=learning_starts,
        train_frequency=8,
        gradient_steps=1,
        epsilon=lambda step: epsilon,
        seed=0,
    )


def test_with_epsilon_zero_the_stored_actions_are_the_q_networks_greedy_ones():
    torch.manual_seed(0)
    model = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8])).train()
    source = replay(model, epsilon=0.0)
    next(iter(source))
    buffer = source.buffer
    assert len(buffer) == 8 and source.env_steps == 8
    greedy = model(torch.from_numpy(buffer.observations[:8])).q_values.argmax(-1).numpy()
    assert np.array_equal(buffer.actions[:8], greedy)
    assert model.training  # acting does not leave the trained model in eval mode


def test_random_steps_before_learning_starts_do_not_follow_the_q_network():
    torch.manual_seed(0)
    model = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
    source = replay(model, epsilon=0.0, learning_starts=40)
    next(iter(source))
    greedy = model(torch.from_numpy(source.buffer.observations[:40])).q_values.argmax(-1).numpy()
    assert 8 < (source.buffer.actions[:40] != greedy).sum() < 32  # uniform actions disagree about half the time


def test_a_q_network_with_another_action_count_is_refused():
    model = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=3, hidden_sizes=[8]))
    with pytest.raises(ValueError, match="CartPole-v1 has 2 actions, the Q-network 3"):
        next(iter(replay(model, epsilon=0.5)))


def test_resumed_online_trainers_continue_the_collection_instead_of_collecting_the_trained_batches_again(tmp_path):
    """transformers skips the batches a resumed run already trained on by drawing them from the loader; for an
    online source that would collect them again (more env steps, a shifted ε schedule, other batches)."""
    from hf_decision.models import PolicyConfig, PolicyModel
    from hf_decision.trainers import DQNConfig, DQNTrainer, ReinforceConfig, ReinforceTrainer

    common = dict(max_steps=6, save_strategy="steps", save_steps=3, report_to=[], disable_tqdm=True, seed=0)

    def dqn(output_dir) -> DQNTrainer:
        torch.manual_seed(0)
        model = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
        args = DQNConfig(
            output_dir=str(output_dir), env_id="CartPole-v1", num_envs=2, learning_starts=8, train_frequency=4,
            gradient_steps=1, per_device_train_batch_size=4, buffer_size=64, **common,
        )  # fmt: skip
        return DQNTrainer(model, args)

    def reinforce(output_dir) -> ReinforceTrainer:
        torch.manual_seed(0)
        model = PolicyModel(PolicyConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
        args = ReinforceConfig(
            output_dir=str(output_dir), env_id="CartPole-v1", num_envs=2, episodes_per_batch=2, **common
        )
        return ReinforceTrainer(model, args)

    for name, make in (("dqn", dqn), ("reinforce", reinforce)):
        uninterrupted = make(tmp_path / name)
        uninterrupted.train()
        resumed = make(tmp_path / f"{name}-resumed")
        resumed.train(resume_from_checkpoint=str(tmp_path / name / "checkpoint-3"))
        assert resumed.online_source.env_steps == uninterrupted.online_source.env_steps, name
        if name == "dqn":  # the resumed run restarts its episodes (an env's state is not checkpointed)
            assert len(resumed.online_source.buffer) == len(uninterrupted.online_source.buffer) == 8 + 6 * 4
        else:  # whole, seeded episodes per batch: the same run, bit for bit
            assert resumed.online_source.batches == uninterrupted.online_source.batches == 6
            for a, b in zip(resumed.model.parameters(), uninterrupted.model.parameters(), strict=True):
                assert torch.equal(a, b), name
