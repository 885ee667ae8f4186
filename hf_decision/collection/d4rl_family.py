"""D4RL-style dataset families in one call: random, medium, medium-replay, expert, medium-expert and mixed.

A Stable-Baselines3 agent (PPO for continuous actions, DQN for discrete ones) is trained on the env while every
training episode is recorded; checkpoints are evaluated, the best is the expert, the first to reach a third of the way
from random to best is the medium policy, and medium-replay holds all training episodes up to that checkpoint.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from datasets import Dataset, concatenate_datasets
from torch import nn

from hf_decision.agents import Agent
from hf_decision.cards.dataset import dataset_card, episode_returns
from hf_decision.collection.collect import (
    action_kind,
    actions_array,
    collect,
    flatten_observations,
    save_collected,
)
from hf_decision.collection.policies import SB3Policy, import_sb3
from hf_decision.data.schema import episodes_to_dataset

FAMILY_KINDS = ("random", "medium", "medium-replay", "expert", "medium-expert", "mixed")


def _linear_schedule(initial: float):
    """An SB3 schedule: `initial` at the start of training, falling linearly to 0 (the zoo's `lin_<initial>`)."""
    return lambda progress_remaining: progress_remaining * initial


# Tuned hyperparameters (from the rl-baselines3-zoo) used when `algo_kwargs` is not given; SB3's defaults are used
# for other (algorithm, env) pairs. As in the zoo, two keys are not the algorithm's: `n_envs`, the number of training
# envs (else `num_envs`), and `normalize`, which trains on SB3's `VecNormalize` (running observation and reward
# statistics); each checkpoint then saves its statistics beside it and acts through them.
# DQN is unstable on CartPole: on 4 envs (the collection command's default `num_envs`; `train_freq` counts vector
# steps, so that is a quarter of the zoo's gradient steps per transition) its best checkpoint reached 202-300 (8k-30k
# steps, seed 0); with `n_envs=1` as in the zoo, 482-500 in two of four runs (seeds 0-2, 12k-20k steps) and 180-250
# in the others, falling back to 100-300 after its peak. PPO with the zoo's recipe climbs steadily (seed 0: 500 from
# 20k steps on; seed 1: 385 at 30k and rising), so it is the choice where a CartPole expert must reach 500
# (`algo="PPO"`, as `make demo` does). The MuJoCo recipes are the zoo's for the v3 envs (the same dynamics and
# rewards as v5); SB3's default PPO reached a return of 207 on HalfCheetah-v5 in 1M steps (a random policy: -286).
_ZOO_MUJOCO_POLICY = dict(
    log_std_init=-2, ortho_init=False, activation_fn=nn.ReLU, net_arch=dict(pi=[256, 256], vf=[256, 256])
)
TUNED_HYPERPARAMETERS: dict[tuple[str, str], dict[str, Any]] = {
    ("DQN", "CartPole-v1"): dict(
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[256, 256]),
    ),
    ("PPO", "CartPole-v1"): dict(
        n_envs=8,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=_linear_schedule(1e-3),
        clip_range=_linear_schedule(0.2),
    ),
    ("PPO", "HalfCheetah-v5"): dict(
        normalize=True,
        n_envs=1,
        batch_size=64,
        n_steps=512,
        gamma=0.98,
        learning_rate=2.0633e-5,
        ent_coef=0.000401762,
        clip_range=0.1,
        n_epochs=20,
        gae_lambda=0.92,
        max_grad_norm=0.8,
        vf_coef=0.58096,
        policy_kwargs=_ZOO_MUJOCO_POLICY,
    ),
    ("PPO", "Hopper-v5"): dict(
        normalize=True,
        n_envs=1,
        batch_size=32,
        n_steps=512,
        gamma=0.999,
        learning_rate=9.80828e-5,
        ent_coef=0.00229519,
        clip_range=0.2,
        n_epochs=5,
        gae_lambda=0.99,
        max_grad_norm=0.7,
        vf_coef=0.835671,
        policy_kwargs=_ZOO_MUJOCO_POLICY,
    ),
    ("PPO", "Walker2d-v5"): dict(
        normalize=True,
        n_envs=1,
        batch_size=32,
        n_steps=512,
        gamma=0.99,
        learning_rate=5.05041e-5,
        ent_coef=0.000585045,
        clip_range=0.1,
        n_epochs=20,
        gae_lambda=0.95,
        max_grad_norm=1.0,
        vf_coef=0.871923,
    ),
}
VECNORMALIZE_SUFFIX = ".vecnormalize.pkl"  # `step_<N>.vecnormalize.pkl` beside `step_<N>.zip`


def family_folder_name(env_id: str, kind: str) -> str:
    """`<env-name-lower>-<kind>`, e.g. `cartpole-medium-replay` for `CartPole-v1` (namespace and version dropped)."""
    name = re.sub(r"-v\d+$", "", env_id.split(":")[-1].split("/")[-1])
    return f"{name.lower()}-{kind}"


class _EpisodeRecorder(gym.Wrapper):
    """Appends every episode the wrapped env plays to `episodes`, in the canonical schema.

    It sits below SB3's vector env and normalization, so it records raw observations and the actions the env receives.
    """

    def __init__(self, env: gym.Env, episodes: list[dict[str, np.ndarray]]):
        super().__init__(env)
        self.episodes = episodes
        self._steps: list[tuple[Any, Any, float, bool, bool]] = []
        self._observation: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._observation, info = self.env.reset(**kwargs)
        self._steps = []
        return self._observation, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._steps.append((self._observation, action, float(reward), terminated, truncated and not terminated))
        self._observation = observation
        if terminated or truncated:
            observations, actions, rewards, terminals, timeouts = zip(*self._steps, strict=True)
            length = len(self._steps)
            self.episodes.append(
                dict(
                    observations=flatten_observations(self.observation_space, list(observations), length),
                    actions=actions_array(self.action_space, np.stack(actions), length),
                    rewards=np.asarray(rewards, dtype=np.float32),
                    terminals=np.asarray(terminals, dtype=bool),
                    timeouts=np.asarray(timeouts, dtype=bool),
                )
            )
            self._steps = []
        return observation, reward, terminated, truncated, info


def _mean_return(dataset: Dataset) -> float:
    return float(episode_returns(dataset)[0].mean())


def _train_with_checkpoints(
    env_id: str,
    checkpoint_dir: Path,
    *,
    train_steps: int,
    num_checkpoints: int,
    num_envs: int,
    seed: int,
    eval_episodes: int,
    algo: str,
    deterministic: bool,
    algo_kwargs: dict[str, Any] | None,
    env_kwargs: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, np.ndarray]]]:
    """Train the SB3 `algo`, saving and evaluating a checkpoint every `train_steps / num_checkpoints` steps; return
    the checkpoints and every training episode. `algo_kwargs` may hold `n_envs` and `normalize` (see
    `TUNED_HYPERPARAMETERS`)."""
    sb3 = import_sb3()
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    algo_kwargs = copy.deepcopy(algo_kwargs or {})  # SB3 keeps (and may fill in) the dicts it is given
    normalize = bool(algo_kwargs.pop("normalize", False))
    train_envs = int(algo_kwargs.pop("n_envs", num_envs))

    episodes: list[dict[str, np.ndarray]] = []
    checkpoints: list[dict[str, Any]] = []
    interval = max(1, train_steps // num_checkpoints)

    def make_env() -> gym.Env:
        return Monitor(_EpisodeRecorder(gym.make(env_id, **(env_kwargs or {})), episodes))

    def checkpoint(model: Any) -> None:
        path = checkpoint_dir / f"step_{model.num_timesteps}.zip"
        model.save(path)
        statistics = None
        if normalize:
            statistics = checkpoint_dir / f"step_{model.num_timesteps}{VECNORMALIZE_SUFFIX}"
            model.get_vec_normalize_env().save(statistics)
        policy = SB3Policy(
            path,
            algo=algo,
            deterministic=deterministic,
            seed=seed + 1000 + len(checkpoints),
            vecnormalize_path=statistics,
        )
        evaluation = collect(
            env_id,
            policy,
            num_episodes=eval_episodes,
            num_envs=min(num_envs, eval_episodes),
            seed=seed + 1000 + len(checkpoints),
            env_kwargs=env_kwargs,
        )
        checkpoints.append(
            dict(
                path=str(path),
                vecnormalize_path=None if statistics is None else str(statistics),
                timesteps=int(model.num_timesteps),
                eval_return=_mean_return(evaluation),
                training_episodes=len(episodes),
            )
        )

    class CheckpointCallback(BaseCallback):
        def _on_step(self) -> bool:
            if len(checkpoints) < num_checkpoints and self.num_timesteps >= interval * (len(checkpoints) + 1):
                checkpoint(self.model)
            return True

    venv = DummyVecEnv([make_env] * train_envs)
    if normalize:  # returns are normalized with the algorithm's discount, as the zoo does
        venv = VecNormalize(venv, gamma=algo_kwargs.get("gamma", 0.99))
    model = getattr(sb3, algo)("MlpPolicy", venv, seed=seed, **algo_kwargs)
    model.learn(total_timesteps=train_steps, callback=CheckpointCallback())
    if len(checkpoints) < num_checkpoints:
        checkpoint(model)
    return checkpoints, episodes


def collect_d4rl_family(
    env_id: str,
    output_dir: str | Path,
    *,
    train_steps: int,
    steps_per_dataset: int,
    num_envs: int,
    seed: int,
    eval_episodes: int = 10,
    num_checkpoints: int = 10,
    algo: str | None = None,
    deterministic: bool = False,
    algo_kwargs: dict[str, Any] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    license: str = "other",
) -> dict[str, Dataset]:
    """Train an SB3 agent on `env_id` and collect the D4RL-style datasets of the env, each saved with its card.

    `algo` (by default PPO for Box actions, DQN for Discrete ones) is trained with `algo_kwargs` (by default the
    tuned ones of `TUNED_HYPERPARAMETERS` for the pair, else SB3's defaults; its `n_envs` and `normalize` keys are
    read as there) on `num_envs` envs (`env_kwargs` for their constructor). A checkpoint is saved and evaluated
    (mean return of `eval_episodes` episodes) every `train_steps / num_checkpoints` steps and at the end,
    and every training episode is recorded with its raw observations. The checkpoints act deterministically or not
    as `deterministic` says, in evaluation and collection alike. Then:

    - `random`: a uniformly random policy;
    - `expert`: the best checkpoint;
    - `medium`: the first checkpoint whose evaluation return reaches a third of the way from the random policy's
      return to the best one (a third of the best when random returns are 0, as in D4RL's normalized score);
    - `medium-replay`: every training episode that ended before the medium checkpoint was saved;
    - `medium-expert`: the medium episodes followed by the expert ones;
    - `mixed`: the random, medium and expert episodes together, a dataset whose returns span the range from a random
      policy to the best checkpoint (what a Decision Transformer needs to show that it follows the return it is
      asked for).

    random, medium and expert hold `steps_per_dataset` steps each (see `collect`). Each dataset is saved into
    `<output_dir>/<env-name-lower>-<kind>/` with a `README.md` card; checkpoints go to `<output_dir>/checkpoints/`
    (with their `VecNormalize` statistics when normalized) and a summary to `<output_dir>/meta.json`; `license` goes
    in the cards. Returns the datasets by kind.
    """
    with gym.make(env_id, **(env_kwargs or {})) as env:
        kind = action_kind(env.action_space)
    algo = (algo or ("DQN" if kind == "discrete" else "PPO")).upper()
    if algo_kwargs is None:
        algo_kwargs = TUNED_HYPERPARAMETERS.get((algo, env_id))
    output_dir = Path(output_dir)
    checkpoint_dir = output_dir / "checkpoints"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    checkpoints, episodes = _train_with_checkpoints(
        env_id,
        checkpoint_dir,
        train_steps=train_steps,
        num_checkpoints=num_checkpoints,
        num_envs=num_envs,
        seed=seed,
        eval_episodes=eval_episodes,
        algo=algo,
        deterministic=deterministic,
        algo_kwargs=algo_kwargs,
        env_kwargs=env_kwargs,
    )

    def collect_steps(policy: str | Agent, seed: int) -> Dataset:
        return collect(
            env_id, policy, num_steps=steps_per_dataset, num_envs=num_envs, seed=seed, env_kwargs=env_kwargs
        )

    datasets = {"random": collect_steps("random", seed)}
    random_return = _mean_return(datasets["random"])
    eval_returns = np.array([c["eval_return"] for c in checkpoints])
    best = checkpoints[int(np.argmax(eval_returns))]
    threshold = min(random_return + (best["eval_return"] - random_return) / 3, best["eval_return"])
    medium = checkpoints[int(np.flatnonzero(eval_returns >= threshold)[0])]
    replay = episodes[: medium["training_episodes"]]
    if not replay:
        raise RuntimeError(f"no training episode ended before the medium checkpoint ({medium}); raise train_steps")

    def checkpoint_policy(entry: dict[str, Any], offset: int) -> SB3Policy:
        return SB3Policy(
            entry["path"],
            algo=algo,
            deterministic=deterministic,
            seed=seed + offset,
            vecnormalize_path=entry["vecnormalize_path"],
        )

    datasets["medium"] = collect_steps(checkpoint_policy(medium, 1), seed + 1)
    datasets["medium-replay"] = episodes_to_dataset(replay, action_space=kind)
    datasets["expert"] = collect_steps(checkpoint_policy(best, 2), seed + 2)
    datasets["medium-expert"] = concatenate_datasets([datasets["medium"], datasets["expert"]])
    datasets["mixed"] = concatenate_datasets([datasets["random"], datasets["medium"], datasets["expert"]])

    sb3_name = f"sb3-{algo.lower()}"
    policy_names = {
        "random": "random",
        "medium": f"{sb3_name} checkpoint at {medium['timesteps']} steps",
        "medium-replay": f"{sb3_name} training episodes up to {medium['timesteps']} steps",
        "expert": f"{sb3_name} checkpoint at {best['timesteps']} steps",
        "medium-expert": f"{sb3_name} checkpoints at {medium['timesteps']} and {best['timesteps']} steps",
        "mixed": f"random, and {sb3_name} checkpoints at {medium['timesteps']} and {best['timesteps']} steps",
    }
    family = {"Dataset family": ", ".join(family_folder_name(env_id, k) for k in FAMILY_KINDS)}
    family["Checkpoint eval returns"] = ", ".join(f"{c['timesteps']}: {c['eval_return']:.2f}" for c in checkpoints)
    for kind_name, dataset in datasets.items():
        folder = output_dir / family_folder_name(env_id, kind_name)
        card = dataset_card(
            dataset,
            env_id=env_id,
            policy_name=policy_names[kind_name],
            seed=seed,
            extra=family,
            license=license,
            source=str(folder),
        )
        save_collected(dataset, folder, card)
    meta = dict(
        env_id=env_id,
        algo=algo,
        train_steps=train_steps,
        steps_per_dataset=steps_per_dataset,
        seed=seed,
        random_return=random_return,
        medium_threshold=threshold,
        medium_checkpoint=medium["path"],
        expert_checkpoint=best["path"],
        checkpoints=checkpoints,
        datasets={k: family_folder_name(env_id, k) for k in FAMILY_KINDS},
    )
    (output_dir / "meta.json").write_text(json.dumps(meta, indent=2))
    return datasets
