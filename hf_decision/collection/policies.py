"""Behaviour policies that act on a gymnasium *vector* env, for collecting offline datasets.

A behaviour policy is an `hf_decision.agents.Agent` (`name`, batched `act`, `observe(rewards, dones)` after every
vector step, `reset`): a random policy, a Stable-Baselines3 model, or a trained hf_decision agent. `make_policy`
turns a spec string (`"random"`, `"sb3:PATH"`, `"dt:PATH"`, ...) into one.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space
from transformers import AutoModel

from hf_decision.agents import Agent, agent_for

SB3_ALGOS = ("PPO", "A2C", "DQN", "SAC", "TD3")
VECNORMALIZE_FILE = "vecnormalize.pkl"
POLICY_SPECS = (
    '"random", "sb3:PATH" (or a PATH ending in .zip), "dt:PATH" or "dt:PATH@TARGET_RETURN" (an hf_decision Decision '
    'Transformer checkpoint, folder or Hub id), "dqn:PATH" (a Q-network, greedy), "reinforce:PATH" (a REINFORCE '
    "policy, sampling), or an object with `act` and `observe`"
)

# spec prefix → the agent class acting with the checkpoint it names
AGENT_SPECS = {
    "dt": "DecisionTransformerAgent",
    "dqn": "QNetworkAgent",
    "reinforce": "PolicyAgent",
    "pg": "PolicyAgent",  # the former name of reinforce:
}


class RandomPolicy(Agent):
    """Uniformly random actions from `action_space` (the space of a single env), seeded, batched over envs."""

    name = "random"

    def __init__(self, action_space: gym.Space, seed: int | None = None):
        self.action_space = action_space
        self.seed = seed
        self._batched: dict[int, gym.Space] = {}

    def act(self, observations: np.ndarray) -> np.ndarray:
        num_envs = len(observations)
        if num_envs not in self._batched:
            space = batch_space(self.action_space, num_envs)
            space.seed(self.seed)
            self._batched[num_envs] = space
        return np.asarray(self._batched[num_envs].sample())

    def observe(self, rewards: np.ndarray, dones: np.ndarray | None = None) -> None:
        """A random policy keeps no context."""

    def reset(self, env_indices=None) -> None:
        """A random policy keeps no context."""


def import_sb3() -> Any:
    """`stable_baselines3`, or an ImportError that says how to install it."""
    try:
        import stable_baselines3
    except ImportError as error:
        raise ImportError(
            "SB3 policies need stable-baselines3: `pip install hf_decision[sb3]` (or `pip install stable-baselines3`)"
        ) from error
    return stable_baselines3


def detect_sb3_algo(path: str | Path) -> str:
    """The SB3 algorithm (one of `SB3_ALGOS`) that saved the model zip at `path`, read from the zip's metadata.

    The policy class's module tells DQN, SAC and TD3 apart (DDPG, a TD3 subclass, is read as TD3); PPO and A2C share
    their policy class and are told apart by PPO's `clip_range` hyperparameter.
    """
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    module = data.get("policy_class", {}).get("__module__", "")
    for algo in ("dqn", "sac", "td3"):
        if module.startswith(f"stable_baselines3.{algo}."):
            return algo.upper()
    if module == "stable_baselines3.common.policies":
        return "PPO" if "clip_range" in data else "A2C"
    raise ValueError(f"cannot tell which SB3 algorithm saved {path} (policy module {module!r}); pass `algo`")


class SB3Policy(Agent):
    """A Stable-Baselines3 model (PPO, A2C, DQN, SAC or TD3) loaded from its zip.

    Args:
        path: the model zip written by `model.save(...)`.
        algo: the algorithm's name; read from the zip's metadata when None.
        deterministic: whether `predict` takes the mode of the action distribution (the greedy action for DQN)
            instead of sampling from it (epsilon-greedy at the saved exploration rate for DQN).
        seed: seeds SB3's sampling. SB3 samples from the *global* `random`/numpy/torch generators, so this seeds
            them (as `model.set_random_seed` does).
        vecnormalize_path: a pickled SB3 `VecNormalize`, whose observation statistics are applied to observations
            before `predict`. Defaults to `vecnormalize.pkl` next to the zip when that file exists. Unpickling runs
            code: load only files you trust (SB3 unpickles parts of the model zip too).
    """

    def __init__(
        self,
        path: str | Path,
        algo: str | None = None,
        deterministic: bool = False,
        seed: int | None = None,
        vecnormalize_path: str | Path | None = None,
    ):
        sb3 = import_sb3()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no SB3 model zip at {path}")
        algo = (algo or detect_sb3_algo(path)).upper()
        if algo not in SB3_ALGOS:
            raise ValueError(f"unsupported SB3 algorithm {algo!r}; expected one of {SB3_ALGOS}")
        self.model = getattr(sb3, algo).load(path, device="cpu")
        self.algo = algo
        self.deterministic = deterministic
        self.name = f"sb3-{algo.lower()}:{path.name}"
        if seed is not None:
            self.model.set_random_seed(seed)
        if vecnormalize_path is None and (path.parent / VECNORMALIZE_FILE).is_file():
            vecnormalize_path = path.parent / VECNORMALIZE_FILE
        self.obs_normalizer = None
        if vecnormalize_path is not None:
            with open(vecnormalize_path, "rb") as handle:
                self.obs_normalizer = pickle.load(handle)
            self.obs_normalizer.training = False

    def act(self, observations: np.ndarray) -> np.ndarray:
        if self.obs_normalizer is not None:
            observations = self.obs_normalizer.normalize_obs(observations)
        actions, _ = self.model.predict(observations, deterministic=self.deterministic)
        return actions

    def observe(self, rewards: np.ndarray, dones: np.ndarray | None = None) -> None:
        """SB3's feed-forward policies keep no context."""

    def reset(self, env_indices=None) -> None:
        """SB3's feed-forward policies keep no context."""


def make_policy(
    spec: str | Agent, env: gym.Env | gym.vector.VectorEnv, seed: int | None = None, num_envs: int | None = None
) -> Agent:
    """Build a behaviour policy for `env` from `spec`.

    Args:
        spec: `"random"`; `"sb3:PATH"` or a PATH ending in `.zip` (an SB3 model, algorithm detected);
            `"dt:PATH"` / `"dt:PATH@TARGET"` (a Decision Transformer checkpoint conditioned on TARGET, default the
            first target return of its config); `"dqn:PATH"` (an hf_decision Q-network, acting greedily);
            `"reinforce:PATH"` (or `"pg:PATH"`: an hf_decision REINFORCE policy, sampling its actions); or an object
            that already has `act`, returned as is.
        env: the (vector) env the policy acts on; its single-env action space is used by `"random"`.
        seed: seeds the policy's sampling.
        num_envs: environments acted in at once (default: `env.num_envs`, or 1); a DT keeps one context each.

    Raises:
        ValueError: for a spec of none of the accepted forms.
    """
    if not isinstance(spec, str):
        if hasattr(spec, "act"):
            return spec
        raise ValueError(f"unknown policy {spec!r}; expected {POLICY_SPECS}")
    if spec == "random":
        return RandomPolicy(getattr(env, "single_action_space", env.action_space), seed=seed)
    if spec.startswith("sb3:"):
        return SB3Policy(spec[len("sb3:") :], seed=seed)
    if spec.endswith(".zip"):
        return SB3Policy(spec, seed=seed)
    prefix, _, path = spec.partition(":")
    if prefix in AGENT_SPECS:
        options: dict[str, Any] = {}
        if prefix == "dt":
            path, _, target = path.partition("@")
            options["target_return"] = float(target) if target else None
        elif AGENT_SPECS[prefix] == "PolicyAgent":
            options.update(deterministic=False, seed=seed or 0)
        model = AutoModel.from_pretrained(path)
        if getattr(model, "agent_class", None) != AGENT_SPECS[prefix]:
            raise ValueError(f"{spec!r} names a {type(model).__name__}; {prefix}: takes a {AGENT_SPECS[prefix]} model")
        return agent_for(model, num_envs=num_envs or getattr(env, "num_envs", 1), **options)
    raise ValueError(f"unknown policy {spec!r}; expected {POLICY_SPECS}")
