"""Batched evaluation rollouts in gymnasium vector environments, and D4RL normalized scores.

Episode j of an evaluation is reset with seed `seed + j`, whichever sub-environment runs it, and every agent context
is per environment, so a batched evaluation returns exactly the per-episode returns of a sequential one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from hf_decision.agents import agent_class_for, agent_for

# D4RL reference returns (random, expert) for the normalized score, keyed by the lower-case env name.
D4RL_REFERENCE_RETURNS: dict[str, tuple[float, float]] = {
    "hopper": (-20.272305, 3234.3),
    "halfcheetah": (-280.178953, 12135.0),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}


def reference_returns(env_id: str) -> tuple[float, float] | None:
    """The (random, expert) D4RL reference returns of an env id such as `Hopper-v5`, or None."""
    return D4RL_REFERENCE_RETURNS.get(env_id.split("/")[-1].split("-")[0].lower())


def normalized_score(
    env_id: str, episode_return: float | np.ndarray, reference: tuple[float, float] | None = None
) -> float | np.ndarray | None:
    """D4RL normalized score `100 · (return − random) / (expert − random)`; None without a reference."""
    reference = reference or reference_returns(env_id)
    if reference is None:
        return None
    random_return, expert_return = reference
    return 100.0 * (np.asarray(episode_return) - random_return) / (expert_return - random_return)


def check_model_fits_env(config: Any, observation_space: gym.Space, action_space: gym.Space, env_id: str) -> None:
    """Refuse a model whose config does not fit the environment: the size of an observation (`state_dim`), the kind
    of action space (discrete or continuous) and the number or size of actions (`act_dim`).

    Raises:
        ValueError: naming the config field, the environment and both values.
    """
    if isinstance(observation_space, gym.spaces.Box):
        size = int(np.prod(observation_space.shape))
        if size != config.state_dim:
            raise ValueError(
                f"the model has state_dim={config.state_dim} but {env_id}'s observations have {size} values "
                f"(observation space {observation_space})"
            )
    kind = getattr(config, "action_space", "discrete")  # a Q-network's actions are discrete
    if isinstance(action_space, gym.spaces.Discrete):
        env_kind, env_dim = "discrete", int(action_space.n)
    elif isinstance(action_space, gym.spaces.Box):
        env_kind, env_dim = "continuous", int(np.prod(action_space.shape))
    else:
        raise ValueError(f"{env_id} has a {type(action_space).__name__} action space; models act in Discrete or Box")
    if kind != env_kind:
        raise ValueError(
            f"the model's actions are {kind} (act_dim={config.act_dim}) but {env_id}'s are {env_kind} "
            f"(action space {action_space})"
        )
    if config.act_dim != env_dim:
        what = "actions" if env_kind == "discrete" else "values per action"
        raise ValueError(
            f"the model has act_dim={config.act_dim} but {env_id} has {env_dim} {what} (action space {action_space})"
        )


def rollout(
    make_agent: Callable[[int], Any],
    env_id: str,
    n_episodes: int = 10,
    num_envs: int = 10,
    seed: int = 0,
    env_kwargs: dict | None = None,
    max_episode_steps: int | None = None,
    record: bool = False,
) -> dict[str, Any]:
    """Run `n_episodes` episodes of the agent `make_agent(num_envs)` (with `act` / `observe`) in a vector env.

    An agent with a model (`agent.model.config`, or `agent.config`) is first checked against the environment
    (`check_model_fits_env`). Returns the returns and lengths in episode order (episode j was reset with seed
    `seed + j`). With `record`, also `episodes`: per episode, the `observations` the agent acted on, its `actions`,
    the `rewards` and whether the episode `terminated` (rather than being truncated), as numpy arrays.
    """
    for name, value in (("n_episodes", n_episodes), ("num_envs", num_envs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    num_envs = min(num_envs, n_episodes)
    kwargs = dict(env_kwargs or {})
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = max_episode_steps
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
        **kwargs,
    )
    agent = make_agent(num_envs)
    config = getattr(getattr(agent, "model", None), "config", None) or getattr(agent, "config", None)
    if config is not None and hasattr(config, "state_dim"):
        try:
            check_model_fits_env(config, envs.single_observation_space, envs.single_action_space, env_id)
        except ValueError:
            envs.close()
            raise
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=np.int64)
    episode_of_env = np.arange(num_envs)  # which episode each env runs; -1 when idle
    next_episode = num_envs
    steps: list[list[tuple]] = [[] for _ in range(n_episodes)]
    terminal = np.zeros(n_episodes, dtype=bool)
    observations, _ = envs.reset(seed=[seed + int(j) for j in episode_of_env])
    try:
        while (episode_of_env >= 0).any():
            actions = agent.act(observations)
            previous = observations
            observations, rewards, terminated, truncated, _ = envs.step(actions)
            active = episode_of_env >= 0
            returns[episode_of_env[active]] += rewards[active]
            lengths[episode_of_env[active]] += 1
            if record:
                for env_index in np.flatnonzero(active):
                    episode = episode_of_env[env_index]
                    steps[episode].append((previous[env_index], actions[env_index], rewards[env_index]))
                    terminal[episode] = terminated[env_index]
            ended = terminated | truncated  # idle envs keep stepping and must be reset too
            agent.observe(rewards, ended)
            if not ended.any():
                continue
            for env_index in np.flatnonzero(ended & active):
                if next_episode < n_episodes:
                    episode_of_env[env_index] = next_episode
                    next_episode += 1
                else:
                    episode_of_env[env_index] = -1
            seeds = [seed + int(j) if j >= 0 else None for j in episode_of_env]
            observations, _ = envs.reset(seed=seeds, options={"reset_mask": ended})
    finally:
        envs.close()
    result: dict[str, Any] = {"returns": returns, "lengths": lengths}
    if record:
        result["episodes"] = [
            {
                "observations": np.stack([o for o, _, _ in episode]),
                "actions": np.stack([a for _, a, _ in episode]),
                "rewards": np.array([r for _, _, r in episode], dtype=np.float32),
                "terminated": bool(done),
            }
            for episode, done in zip(steps, terminal, strict=True)
        ]
    return result


def evaluate(
    model,
    env_id: str,
    target_return: float | Sequence[float] | None = None,
    n_episodes: int = 10,
    num_envs: int = 10,
    seed: int = 0,
    reference: tuple[float, float] | None = None,
    env_kwargs: dict | None = None,
) -> dict[str, Any]:
    """Evaluate a trained agent with batched rollouts; a Decision Transformer at one or several target returns.

    Args:
        model: a model with an agent (`agent_for`): a `DecisionTransformerModel`, `QNetworkModel` (greedy) or
            `PolicyModel` (the mode of π).
        env_id: gymnasium id.
        target_return: unscaled target return(s) of a Decision Transformer; defaults to
            `model.config.target_returns`. Ignored by the other models and by a DT trained without returns (BC).
        n_episodes, num_envs, seed: episodes per target, parallel environments, first episode seed.
        reference: (random, expert) returns for the normalized score; built in for the D4RL MuJoCo envs.

    Returns:
        For one target (or a model without one): `{mean_return, std_return, returns, lengths, normalized_score,
        target_return}`. For several: `{"per_target": {target: <that dict>}, ...the dict of the first target}`.
    """
    targets = agent_class_for(model).evaluation_targets(model, target_return)
    if targets is None:
        # No target to sweep: a DQN, a REINFORCE policy, or a DT trained without returns (BC).
        result = rollout(lambda n: agent_for(model, n), env_id, n_episodes, num_envs, seed, env_kwargs)
        return summarize(result["returns"], result["lengths"], env_id, reference) | {"target_return": None}
    per_target = {}
    for target in targets:
        result = rollout(
            lambda n, target=target: agent_for(model, n, target_return=target),
            env_id,
            n_episodes=n_episodes,
            num_envs=num_envs,
            seed=seed,
            env_kwargs=env_kwargs,
        )
        per_target[target] = summarize(result["returns"], result["lengths"], env_id, reference) | {
            "target_return": target
        }
    first = per_target[targets[0]]
    return first if len(targets) == 1 else {**first, "per_target": per_target}


def summarize(
    returns: np.ndarray, lengths: np.ndarray, env_id: str, reference: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Mean/std of episode returns, the raw lists, and the mean D4RL normalized score (None without reference)."""
    score = normalized_score(env_id, float(np.mean(returns)), reference)
    return {
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "returns": [float(r) for r in returns],
        "lengths": [int(n) for n in lengths],
        "normalized_score": None if score is None else float(score),
    }
