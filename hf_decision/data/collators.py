"""Batch builders: the Decision Transformer's windows (vectorized gathers on the flat store, no per-sample Python
loop) and REINFORCE's whole recorded episodes (`collate_episodes`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hf_decision.data.trajectories import TrajectoryStore


class DecisionCollator:
    """Build a batch of K-step windows from the flat indices of their first steps.

    Conventions (the model and the evaluation loop use the same ones):

    - **Window.** A window starting at step s of an episode of length L holds steps `s … min(s+K, L) − 1`.
    - **Left padding.** A window with n < K real steps is padded at its start: real steps sit at positions
      `K−n … K−1` (`attention_mask = 1`), padded positions hold zeros (states, actions, returns-to-go, timestep 0,
      action index 0 when discrete) and `attention_mask = 0`.
    - **Return-to-go.** `returns_to_go[t] = Σ_{h≥t} r_h / return_scale` over the rest of the episode, including
      `r_t`, so `R̂_{t+1} = R̂_t − r_t / return_scale`: exactly the decrement evaluation applies after each reward.
    - **Timesteps.** The step index within the episode (0 at the episode's first step), not within the window.
    - **States** are normalized, `(s − state_mean) / state_std`, once when the collator is built.

    Returns a dict with `states [B,K,state_dim]`, `actions [B,K,act_dim]` (or `[B,K]` long), `returns_to_go
    [B,K,1]`, `timesteps [B,K]`, `attention_mask [B,K]` and `labels` (the target actions, same as `actions`): the
    keyword arguments of `DecisionTransformerModel.forward`.
    """

    def __init__(
        self,
        store: TrajectoryStore,
        context_length: int,
        return_scale: float = 1000.0,
        state_mean: Sequence[float] | torch.Tensor | None = None,
        state_std: Sequence[float] | torch.Tensor | None = None,
    ):
        if return_scale <= 0:
            raise ValueError(f"return_scale must be > 0, got {return_scale}")
        self.context_length = context_length
        self.return_scale = return_scale
        mean = torch.zeros(store.state_dim) if state_mean is None else torch.as_tensor(state_mean)
        std = torch.ones(store.state_dim) if state_std is None else torch.as_tensor(state_std)
        for name, value in (("state_mean", mean), ("state_std", std)):
            if value.shape != (store.state_dim,):
                raise ValueError(f"{name} has shape {list(value.shape)}, expected [state_dim={store.state_dim}]")
        self.states = ((store.observations - mean.float()) / std.float()).contiguous()
        self.actions = store.actions
        self.returns_to_go = (store.returns_to_go / return_scale).unsqueeze(-1).contiguous()
        self.timesteps = store.timesteps
        self.episode_end = (store.episode_starts + store.episode_lengths)[store.episode_of_step]
        self.positions = torch.arange(context_length)

    def __call__(self, starts: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        starts = torch.as_tensor(starts, dtype=torch.long)
        n_real = (self.episode_end[starts] - starts).clamp(max=self.context_length)
        n_pad = (self.context_length - n_real).unsqueeze(1)  # [B, 1]
        mask = self.positions >= n_pad  # [B, K]
        index = (starts.unsqueeze(1) + self.positions - n_pad).clamp(min=0)
        index = torch.where(mask, index, starts.unsqueeze(1))
        states = self.states[index] * mask.unsqueeze(-1)
        actions = self.actions[index] * (mask.unsqueeze(-1) if self.actions.dim() == 2 else mask)
        return {
            "states": states,
            "actions": actions,
            "returns_to_go": self.returns_to_go[index] * mask.unsqueeze(-1),
            "timesteps": self.timesteps[index] * mask,
            "attention_mask": mask.long(),
            "labels": actions,
        }


def collate_episodes(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate recorded episodes into one flat batch with `episode_index` and `timesteps`."""
    lengths = [len(e["rewards"]) for e in episodes]
    actions = np.concatenate([e["actions"] for e in episodes])
    return {
        "observations": torch.from_numpy(np.concatenate([e["observations"] for e in episodes]).astype(np.float32)),
        "actions": torch.from_numpy(actions.astype(np.int64 if actions.dtype.kind in "iu" else np.float32)),
        "rewards": torch.from_numpy(np.concatenate([e["rewards"] for e in episodes]).astype(np.float32)),
        "episode_index": torch.repeat_interleave(torch.arange(len(episodes)), torch.tensor(lengths)),
        "timesteps": torch.cat([torch.arange(n) for n in lengths]),
        "num_episodes": len(episodes),
    }
