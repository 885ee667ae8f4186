"""Collect offline RL datasets by rolling out a behaviour policy in a gymnasium vector env.

`collect` writes the canonical schema of `hf_decision.data.schema`; `dataset_card`, `save_collected` and
`push_collected` describe and publish the result; `collect_d4rl_family` builds the D4RL-style random / medium /
medium-replay / expert / medium-expert datasets of an env in one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from datasets import Dataset
from gymnasium.spaces import Box, Discrete, MultiBinary, MultiDiscrete
from gymnasium.vector.utils import batch_space, iterate
from huggingface_hub import DatasetCard, HfApi

from hf_decision.agents import Agent
from hf_decision.collection.policies import make_policy
from hf_decision.data.schema import dataset_from_flat


def flatten_observations(space: gym.Space, observations: Any, num_envs: int) -> np.ndarray:
    """Observations of `num_envs` envs (batched, or a list) in the single-env `space` -> float32 `[num_envs, D]`.

    Box, MultiBinary and MultiDiscrete observations are reshaped; a Discrete observation becomes a 1-dim state holding
    its index (not a one-hot); other spaces (Dict, Tuple) go through `gymnasium.spaces.flatten`.
    """
    if isinstance(space, (Box, Discrete, MultiBinary, MultiDiscrete)):
        return np.asarray(observations, dtype=np.float32).reshape(num_envs, -1)
    items = observations if isinstance(observations, list) else iterate(batch_space(space, num_envs), observations)
    return np.stack([np.asarray(gym.spaces.flatten(space, item)) for item in items]).astype(np.float32)


def action_kind(space: gym.Space) -> str:
    """`"discrete"` or `"continuous"`: the schema's name for the single-env action `space`."""
    if isinstance(space, Discrete):
        return "discrete"
    if isinstance(space, Box):
        return "continuous"
    raise ValueError(f"actions in {space} do not fit the canonical schema, which takes Discrete or Box actions")


def actions_array(space: gym.Space, actions: Any, num_envs: int) -> np.ndarray:
    """Actions of `num_envs` envs -> int64 `[num_envs]` (Discrete) or float32 `[num_envs, act_dim]` (Box)."""
    if action_kind(space) == "discrete":
        return np.asarray(actions, dtype=np.int64).reshape(num_envs)
    return np.asarray(actions, dtype=np.float32).reshape(num_envs, -1)


def collect(
    env_id: str,
    policy: str | Agent,
    *,
    num_steps: int | None = None,
    num_episodes: int | None = None,
    num_envs: int = 8,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> Dataset:
    """Roll out `policy` in `num_envs` copies of `env_id` and return the complete episodes in the canonical schema.

    Args:
        env_id: a registered gymnasium id.
        policy: a spec for `make_policy` (`"random"`, `"sb3:PATH"`), built and seeded with `seed`; or a behaviour
            policy object (see `hf_decision.collection.policies`), used as is with its own seeding.
        num_steps: stop once the completed episodes hold at least this many steps.
        num_episodes: stop once this many episodes are complete; exactly this many are kept.
        num_envs: envs stepped together in a synchronous vector env (same-step autoreset).
        seed: seeds the envs (`reset(seed=seed)`: env i gets `seed + i`), the vector action space and a policy built
            from a spec. The result is a function of the seed (and of the policy object's own seeding).
        env_kwargs: keyword arguments for the env's constructor.

    Episodes are ordered by the step at which they ended (then by env index), and the shortest such prefix that
    meets the budget is kept. Episodes still running when the budget is met are dropped, which slightly favours
    short episodes when episode lengths vary.

    Raises:
        ValueError: unless exactly one of `num_steps` and `num_episodes` is given (and positive).
    """
    if (num_steps is None) == (num_episodes is None):
        raise ValueError(f"pass exactly one of num_steps and num_episodes, got {num_steps=} and {num_episodes=}")
    budget = num_steps if num_steps is not None else num_episodes
    if budget is None or budget <= 0:
        raise ValueError(f"the collection budget must be positive, got {num_steps=} and {num_episodes=}")
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        **(env_kwargs or {}),
    )
    try:
        policy = make_policy(policy, envs, seed=seed)
        obs_space, act_space = envs.single_observation_space, envs.single_action_space
        kind = action_kind(act_space)
        envs.action_space.seed(seed)
        observations, _ = envs.reset(seed=seed)
        steps: dict[str, list[np.ndarray]] = {name: [] for name in ("obs", "act", "rew", "term", "trunc")}
        starts = np.zeros(num_envs, dtype=np.int64)  # the step at which each env's running episode began
        ended: list[tuple[int, int]] = []  # (env index, start step) of each complete episode, in the order they end
        lengths: list[int] = []
        collected = 0  # steps or episodes, as the budget counts them
        t = 0
        while collected < budget:
            actions = policy.act(observations)
            next_observations, rewards, terminated, truncated, _ = envs.step(actions)
            steps["obs"].append(flatten_observations(obs_space, observations, num_envs))
            steps["act"].append(actions_array(act_space, actions, num_envs))
            steps["rew"].append(np.asarray(rewards, dtype=np.float32))
            steps["term"].append(np.asarray(terminated, dtype=bool))
            steps["trunc"].append(np.asarray(truncated, dtype=bool))
            dones = np.logical_or(terminated, truncated)
            policy.observe(rewards, dones)
            for env_index in np.flatnonzero(dones):
                ended.append((int(env_index), int(starts[env_index])))
                lengths.append(t + 1 - int(starts[env_index]))
                collected += lengths[-1] if num_steps is not None else 1
            starts[dones] = t + 1
            observations = next_observations
            t += 1
    finally:
        envs.close()

    lengths_arr = np.asarray(lengths, dtype=np.int64)
    keep = num_episodes if num_episodes is not None else int(np.searchsorted(np.cumsum(lengths_arr), budget)) + 1
    lengths_arr = lengths_arr[:keep]
    # the (vector step, env) at which each step of the kept episodes was recorded, episode after episode
    step_of = np.concatenate(
        [np.arange(start, start + n) for (_, start), n in zip(ended[:keep], lengths_arr, strict=True)]
    )
    env_of = np.repeat([env for env, _ in ended[:keep]], lengths_arr)
    stacked = {name: np.stack(values)[step_of, env_of] for name, values in steps.items()}
    return dataset_from_flat(
        observations=stacked["obs"],
        actions=stacked["act"],
        rewards=stacked["rew"],
        terminals=stacked["term"],
        timeouts=stacked["trunc"] & ~stacked["term"],
        episode_lengths=lengths_arr,
        action_space=kind,
    )


def save_collected(dataset: Dataset, output_dir: str | Path, card: DatasetCard) -> Path:
    """Save `dataset` with `save_to_disk` into `output_dir`, with `card` as its `README.md`; return the folder."""
    output_dir = Path(output_dir)
    dataset.save_to_disk(str(output_dir))
    card.save(output_dir / "README.md")
    return output_dir


def push_collected(dataset: Dataset, repo_id: str, card: DatasetCard, private: bool = False) -> None:
    """Push `dataset` and its `card` to the Hub dataset repo `repo_id`.

    The card goes first: `Dataset.push_to_hub` then adds its `dataset_info` and `configs` metadata to the card
    already in the repo, instead of the card overwriting them.
    """
    HfApi().create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    card.push_to_hub(repo_id, repo_type="dataset")
    dataset.push_to_hub(repo_id, private=private)
