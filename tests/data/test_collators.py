import numpy as np
import torch

from hf_decision.data import collate_episodes


def test_collate_episodes_concatenates_recorded_episodes_with_their_index_and_timesteps():
    episodes = [
        {"observations": np.zeros((n, 3)), "actions": np.arange(n), "rewards": np.ones(n, np.float32)} for n in (2, 3)
    ]
    batch = collate_episodes(episodes)
    assert batch["episode_index"].tolist() == [0, 0, 1, 1, 1]
    assert batch["timesteps"].tolist() == [0, 1, 0, 1, 2]
    assert batch["actions"].dtype == torch.int64 and batch["observations"].shape == (5, 3)
    assert batch["num_episodes"] == 2
