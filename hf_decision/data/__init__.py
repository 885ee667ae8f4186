"""Offline trajectories: one canonical episode schema, loaders for every source, and views for each algorithm.

Collecting new datasets with a behaviour policy lives in `hf_decision.collection`."""

from hf_decision.data.collators import DecisionCollator, collate_episodes
from hf_decision.data.loading import load_trajectories
from hf_decision.data.preprocessing import add_returns_to_go, discounted_returns_to_go, trajectory_statistics
from hf_decision.data.replay_buffer import ReplayBuffer
from hf_decision.data.schema import COLUMNS, dataset_from_flat, episodes_to_dataset, trajectory_features
from hf_decision.data.targets import episode_returns, suggest_target_returns
from hf_decision.data.trajectories import TrajectoryStore
from hf_decision.data.trajectory_buffer import TrajectoryReplayBuffer, hindsight_returns_to_go
from hf_decision.data.validation import canonicalize
from hf_decision.data.views import DecisionWindows, Episodes, Transitions

__all__ = [
    "COLUMNS",
    "DecisionCollator",
    "DecisionWindows",
    "ReplayBuffer",
    "Episodes",
    "TrajectoryReplayBuffer",
    "TrajectoryStore",
    "Transitions",
    "add_returns_to_go",
    "canonicalize",
    "collate_episodes",
    "dataset_from_flat",
    "discounted_returns_to_go",
    "episode_returns",
    "episodes_to_dataset",
    "hindsight_returns_to_go",
    "load_trajectories",
    "suggest_target_returns",
    "trajectory_features",
    "trajectory_statistics",
]
