import numpy as np
import pytest
import torch

from hf_decision.data import (
    DecisionCollator,
    DecisionWindows,
    Episodes,
    TrajectoryStore,
    Transitions,
    dataset_from_flat,
)
from tests.data.conftest import make_episodes

K = 4


@pytest.fixture
def store(dataset):
    return TrajectoryStore.from_dataset(dataset)


def first_index(store, episode, step):
    return int(store.episode_starts[episode]) + step


def test_store_flattens_once_in_episode_order(store, episodes):
    assert torch.equal(store.observations, torch.from_numpy(episodes["observations"]))
    assert store.episode_starts.tolist() == [0, 3, 8]
    assert store.episode_returns.tolist() == [6.0, 15.0, 3.0]
    assert store.timesteps.tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 0, 1]
    assert (store.num_steps, store.num_episodes, store.state_dim, store.act_dim) == (10, 3, 2, 1)


def test_window_at_the_first_step_of_a_long_episode_is_full(store):
    batch = DecisionCollator(store, K, return_scale=1.0)([first_index(store, 1, 0)])
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1]]
    assert batch["states"][0, :, 0].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert batch["timesteps"].tolist() == [[0, 1, 2, 3]]
    assert batch["returns_to_go"][0, :, 0].tolist() == [15.0, 14.0, 12.0, 9.0]


def test_window_near_the_episode_end_is_left_padded(store):
    batch = DecisionCollator(store, K, return_scale=1.0)([first_index(store, 1, 3)])  # steps 3, 4 of 5
    assert batch["attention_mask"].tolist() == [[0, 0, 1, 1]]
    assert batch["states"][0, :, 0].tolist() == [0.0, 0.0, 103.0, 104.0]
    assert batch["timesteps"].tolist() == [[0, 0, 3, 4]]
    assert batch["returns_to_go"][0, :, 0].tolist() == [0.0, 0.0, 9.0, 5.0]
    assert torch.equal(batch["actions"][0, :2], torch.zeros(2, 1))
    assert batch["labels"] is batch["actions"]


def test_episode_shorter_than_k_and_its_last_step(store):
    collator = DecisionCollator(store, K, return_scale=1.0)
    short = collator([first_index(store, 2, 0)])  # the 2-step episode
    assert short["attention_mask"].tolist() == [[0, 0, 1, 1]]
    assert short["states"][0, :, 0].tolist() == [0.0, 0.0, 200.0, 201.0]
    last = collator([first_index(store, 0, 2)])  # the last step of episode 0
    assert last["attention_mask"].tolist() == [[0, 0, 0, 1]]
    assert last["states"][0, -1, 0].item() == 2.0
    assert last["returns_to_go"][0, -1, 0].item() == 3.0


def test_windows_never_cross_episodes(store):
    collator = DecisionCollator(store, K, return_scale=1.0)
    batch = collator(torch.arange(store.num_steps))
    episode_of_token = torch.div(batch["states"][..., 0], 100, rounding_mode="floor")
    real = batch["attention_mask"].bool()
    for row in range(store.num_steps):
        assert len(set(episode_of_token[row][real[row]].tolist())) == 1


def test_normalization_and_return_scale(store):
    collator = DecisionCollator(store, K, return_scale=10.0, state_mean=[100.0, -100.0], state_std=[2.0, 4.0])
    batch = collator([first_index(store, 1, 0)])
    torch.testing.assert_close(batch["states"][0, 0], torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(batch["states"][0, 1], torch.tensor([0.5, -0.25]))
    assert batch["returns_to_go"][0, 0, 0].item() == pytest.approx(1.5)
    with pytest.raises(ValueError, match="state_mean"):
        DecisionCollator(store, K, state_mean=[0.0])


def test_training_rtg_follows_the_evaluation_decrement(store):
    """Evaluation starts from the episode's return and subtracts each reward / return_scale: same as training."""
    scale = 7.0
    batch = DecisionCollator(store, 5, return_scale=scale)([first_index(store, 1, 0)])
    rtg = store.episode_returns[1] / scale
    for t in range(5):
        assert batch["returns_to_go"][0, t, 0].item() == pytest.approx(rtg.item())
        rtg = rtg - store.rewards[first_index(store, 1, t)] / scale


def test_discrete_actions_are_long_and_padded_with_zero():
    store = TrajectoryStore.from_dataset(dataset_from_flat(**make_episodes(discrete=True)))
    batch = DecisionCollator(store, K)([first_index(store, 2, 0)])
    assert batch["actions"].dtype == torch.long and batch["actions"].shape == (1, K)
    assert batch["actions"][0, :2].tolist() == [0, 0]
    assert batch["actions"][0, 2:].tolist() == store.actions[8:10].tolist()


def test_window_samplings(store):
    by_length = DecisionWindows(store, K, sampling="length")
    assert len(by_length) == store.num_steps and by_length[4] == 4
    complete = DecisionWindows(store, K, sampling="windows")
    # episode 0 (3 < K): one start; episode 1 (5): starts 0, 1; episode 2 (2 < K): one start
    assert complete.starts.tolist() == [0, 3, 4, 8]
    assert len(complete.sample(100, torch.Generator().manual_seed(0))) == 100
    with pytest.raises(ValueError, match="sampling"):
        DecisionWindows(store, K, sampling="episodes")


def test_length_sampling_picks_episodes_in_proportion_to_length(store):
    starts = DecisionWindows(store, K).sample(50_000, torch.Generator().manual_seed(0))
    freq = np.bincount(store.episode_of_step[starts].numpy(), minlength=3) / 50_000
    np.testing.assert_allclose(freq, [0.3, 0.5, 0.2], atol=0.01)


def test_transitions_drop_only_truncated_last_steps(store):
    view = Transitions(store)
    # episode 0 and 2 end in a terminal (kept, done=1), episode 1 in a timeout (its last step dropped)
    assert view.indices.tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    batch = view.collate(view.indices)
    assert batch["dones"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert batch["next_observations"][0, 0].item() == 1.0  # s'(0) = obs of step 1
    assert batch["next_observations"][6, 0].item() == 104.0  # episode 1, step 3 -> step 4
    assert batch["rewards"].tolist() == [1, 2, 3, 1, 2, 3, 4, 1, 2]


def test_episodes_view(store):
    view = Episodes(store)
    assert len(view) == 3
    episode = view[1]
    assert episode["observations"][:, 0].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert episode["returns_to_go"].tolist() == [15.0, 14.0, 12.0, 9.0, 5.0]
    assert episode["timeouts"].tolist() == [False] * 4 + [True]
    with pytest.raises(IndexError):
        view[3]


def test_store_with_discount(dataset):
    store = TrajectoryStore.from_dataset(dataset, gamma=0.5)
    assert store.returns_to_go[8:10].tolist() == [2.0, 2.0]
    assert store.episode_returns.tolist() == [6.0, 15.0, 3.0]


@pytest.mark.parametrize("view", ["windows", "transitions"])
def test_a_dataloader_gathers_a_whole_batch_of_indices_at_once(store, view):
    dataset = DecisionWindows(store, 4, sampling="windows") if view == "windows" else Transitions(store)
    indices = [3, 0, len(dataset) - 1, 3]
    assert torch.equal(dataset.__getitems__(indices), torch.tensor([dataset[i] for i in indices]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=len(indices), sampler=indices, collate_fn=lambda x: x)
    assert torch.equal(next(iter(loader)), torch.tensor([dataset[i] for i in indices]))
