"""The agent protocol: what every object that acts in an environment provides, checked when a subclass is defined.

An `Agent` acts in `num_envs` environments at once:

- `name: str`, recorded in dataset cards and logs;
- `act(observations) -> actions`: raw observations `[num_envs, ...]` in, actions as the env takes them out;
  an agent with a model passes them through `check_observations` (shape, dtype, batch size, finiteness) first;
- `observe(rewards, dones)`: called after every environment step, with `dones = terminated | truncated` per env;
  an agent that keeps per-env context (a history, a return-to-go) resets the context of every env that is done;
- `reset(env_indices=None)`: forget the context of the given envs (all by default);
- `from_pretrained(repo_id_or_dir, num_envs=1, device=None, ...)`: load a checkpoint of `model_class` and wrap it.

An agent that acts with an hf_decision model sets `model_class`, and that model class names it back in its
`agent_class` attribute; the pair is checked when the agent class is defined, and `agent_for(model)` is the one place
that picks an agent by the model's type. Agents without a model (a random policy, a Stable-Baselines3 policy) leave
`model_class` unset.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import PreTrainedModel

REQUIRED_METHODS = ("act", "observe", "reset")
# agent class name → agent class, filled as agent classes are defined (see `Agent.__init_subclass__`).
AGENT_CLASSES: dict[str, type[Agent]] = {}


class Agent:
    """Base of every agent (see the module docstring). A subclass that misses `act`, `observe` or `reset`, or whose
    `model_class` does not name it back as its `agent_class`, raises `TypeError` when it is defined."""

    name: str
    num_envs: int = 1
    model_class: ClassVar[type[PreTrainedModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [method for method in REQUIRED_METHODS if getattr(cls, method) is getattr(Agent, method)]
        if missing:
            raise TypeError(f"{cls.__name__} must define {missing} to be an Agent")
        if cls.model_class is None or "model_class" not in cls.__dict__:
            return
        named = getattr(cls.model_class, "agent_class", None)
        if named != cls.__name__:
            raise TypeError(
                f"{cls.__name__}.model_class is {cls.model_class.__name__}, whose agent_class is {named!r}: set "
                f"{cls.model_class.__name__}.agent_class = {cls.__name__!r}"
            )
        AGENT_CLASSES[cls.__name__] = cls

    def act(self, observations: np.ndarray | torch.Tensor) -> np.ndarray:
        """Actions for the current observations of every environment."""
        raise NotImplementedError

    def observe(self, rewards: np.ndarray | Sequence[float], dones: np.ndarray | Sequence[bool] | None = None) -> None:
        """Account for the rewards of the last actions; environments flagged done start a new episode next."""
        raise NotImplementedError

    def reset(self, env_indices: Sequence[int] | np.ndarray | torch.Tensor | None = None) -> None:
        """Forget the context of the given environments (all by default)."""
        raise NotImplementedError

    def check_observations(self, observations: Any, state_dim: int) -> tuple[np.ndarray, bool]:
        """The one input check of every agent: `observations` as float32 `[num_envs, state_dim]`, and whether they
        came as one unbatched `[state_dim]` observation (allowed with `num_envs=1`).

        Raises:
            ValueError: naming what is wrong, for observations that are not numbers, of another shape (a
                `[2, 2]` for state_dim 4 is not reshaped), of another batch size than `num_envs`, or NaN/inf.
        """
        if isinstance(observations, torch.Tensor):
            observations = observations.detach().cpu().numpy()
        obs = np.asarray(observations)
        if obs.dtype.kind not in "biuf":
            raise ValueError(f"observations must be numbers, got dtype {obs.dtype}")
        unbatched = obs.ndim == 1 and self.num_envs == 1
        expected = (state_dim,) if unbatched else (self.num_envs, state_dim)
        if obs.shape != expected:
            single = " (or [state_dim] with one environment)" if self.num_envs == 1 else ""
            raise ValueError(
                f"observations must be [num_envs={self.num_envs}, state_dim={state_dim}]{single}, got "
                f"{list(obs.shape)}"
            )
        obs = obs.astype(np.float32).reshape(self.num_envs, state_dim)
        finite = np.isfinite(obs).all(axis=1)
        if not finite.all():
            env = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f"observations hold a non-finite value (NaN/inf) for environment {env}: {obs[env].tolist()}"
            )
        return obs, unbatched

    @classmethod
    def evaluation_targets(cls, model: PreTrainedModel, target_return: Any = None) -> list[float] | None:
        """The target returns an evaluation of `model` sweeps (each passed as `target_return=`), or None for an agent
        that takes no target: it is evaluated once."""
        return None

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_dir: str | PathLike,
        num_envs: int = 1,
        device: str | torch.device | None = None,
        agent_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Agent:
        """Load a checkpoint (Hub id or folder) of `model_class` and wrap it; `agent_kwargs` (e.g. `epsilon`) go to
        the agent, `kwargs` to the model's `from_pretrained`."""
        if cls.model_class is None:
            raise TypeError(f"{cls.__name__} acts without a model: it has nothing to load")
        model = cls.model_class.from_pretrained(repo_id_or_dir, **kwargs)
        return cls(model, num_envs=num_envs, device=device, **(agent_kwargs or {}))


def agent_class_for(model: PreTrainedModel) -> type[Agent]:
    """The agent class that acts with `model`: the one its class names in `agent_class`."""
    name = getattr(model, "agent_class", None)
    if name not in AGENT_CLASSES:
        known = ", ".join(sorted(AGENT_CLASSES))
        raise TypeError(f"no agent for a {type(model).__name__} (agent_class={name!r}); agents: {known}")
    return AGENT_CLASSES[name]


def agent_for(model: PreTrainedModel, num_envs: int = 1, **options: Any) -> Agent:
    """The agent acting with `model` in `num_envs` environments; `options` (e.g. `target_return`, `epsilon`) go to
    the agent class. The one place where behaviour is picked by the model's type."""
    return agent_class_for(model)(model, num_envs=num_envs, **options)
