"""E3's transplant of a d3rlpy Decision Transformer into ours, against d3rlpy's forward written out by hand, and its
report from synthetic seeds. d3rlpy itself is not needed: its module's math is reproduced here from its source."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import d3rlpy_transplant  # noqa: E402

HIDDEN, LAYERS, STATE, ACT, K, MAX_TIMESTEP = 8, 2, 3, 2, 4, 12
EPS = 1e-3  # d3rlpy's StandardObservationScaler eps
META = {
    "observation_eps": EPS,
    "reward_multiplier": 0.01,
    "max_timestep": MAX_TIMESTEP,
    "context_size": K,
    "activation": "relu",
}


def d3rlpy_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """A random `ContinuousDecisionTransformer` state dict with d3rlpy's names and shapes (`nn.Linear` weights are
    `[out, in]`), the causal-mask buffers included, plus the scaler statistics."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return rng.normal(0.0, 0.5, shape).astype(np.float32)

    arrays = {
        "_position_encoding._embed.weight": w(MAX_TIMESTEP, HIDDEN),
        "_embed_ln.weight": 1 + w(HIDDEN),
        "_embed_ln.bias": w(HIDDEN),
        "_encoder._layers.0.weight": w(HIDDEN, STATE),
        "_encoder._layers.0.bias": w(HIDDEN),
        "_rtg_embed.weight": w(HIDDEN, 1),
        "_rtg_embed.bias": w(HIDDEN),
        "_action_embed.weight": w(HIDDEN, ACT),
        "_action_embed.bias": w(HIDDEN),
        "_output.weight": w(ACT, HIDDEN),
        "_output.bias": w(ACT),
        "_gpt2._layer_norm.weight": 1 + w(HIDDEN),
        "_gpt2._layer_norm.bias": w(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"_gpt2._transformer.{i}"
        for name in ("_k", "_q", "_v", "_proj"):
            arrays[f"{p}._attention.{name}.weight"] = w(HIDDEN, HIDDEN)
            arrays[f"{p}._attention.{name}.bias"] = w(HIDDEN)
        arrays[f"{p}._attention._mask"] = np.tril(np.ones((3 * K, 3 * K), np.float32))
        arrays[f"{p}._mlp._l1.weight"], arrays[f"{p}._mlp._l1.bias"] = w(4 * HIDDEN, HIDDEN), w(4 * HIDDEN)
        arrays[f"{p}._mlp._l2.weight"], arrays[f"{p}._mlp._l2.bias"] = w(HIDDEN, 4 * HIDDEN), w(HIDDEN)
        for norm in ("_layer_norm1", "_layer_norm2"):
            arrays[f"{p}.{norm}.weight"], arrays[f"{p}.{norm}.bias"] = 1 + w(HIDDEN), w(HIDDEN)
    return {f"weight/{k}": v for k, v in arrays.items()} | {
        "observation_mean": rng.normal(size=STATE),
        "observation_std": rng.uniform(0.5, 2.0, size=STATE),
    }


def d3rlpy_forward(arrays, observations, actions, returns_to_go, timesteps, masks) -> torch.Tensor:
    """d3rlpy 2.8.0's `ContinuousDecisionTransformer` in eval mode after its `TorchTransformerInput` scaling: raw
    observations through `(x − mean) / (std + eps)`, returns-to-go times the reward multiplier, timesteps from 1,
    `masks` 1 for real steps; padded keys get −10000 added. Returns the newest step's action `[B, A]`."""
    p = {k.removeprefix("weight/"): torch.from_numpy(v).double() for k, v in arrays.items() if k.startswith("weight/")}
    mean, std = (torch.from_numpy(arrays[k]).double() for k in ("observation_mean", "observation_std"))
    x = (observations.double() - mean) / (std + EPS)
    rtg = returns_to_go.double()[..., None] * META["reward_multiplier"]

    def lin(h, name):
        return h @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    def norm(h, name, eps):
        return F.layer_norm(h, h.shape[-1:], p[f"{name}.weight"], p[f"{name}.bias"], eps)

    batch, steps = timesteps.shape
    position = p["_position_encoding._embed.weight"][timesteps]
    tokens = torch.stack(
        [lin(rtg, "_rtg_embed") + position, lin(x, "_encoder._layers.0") + position,
         lin(actions.double(), "_action_embed") + position],
        dim=1,
    ).transpose(1, 2).reshape(batch, 3 * steps, HIDDEN)[:, :-1]  # fmt: skip
    key_padding = (1 - masks.double()).repeat_interleave(3, dim=1)[:, :-1]
    h = norm(tokens, "_embed_ln", 1e-5)
    n = h.shape[1]
    causal = torch.tril(torch.ones(n, n))
    for i in range(LAYERS):
        b = f"_gpt2._transformer.{i}"
        a = norm(h, f"{b}._layer_norm1", 0.003)
        q, k, v = (lin(a, f"{b}._attention._{c}") for c in "qkv")
        scores = (q @ k.transpose(1, 2) / math.sqrt(HIDDEN)).masked_fill(causal == 0, -10000)
        scores = scores + key_padding[:, None, :] * -10000
        h = h + lin(torch.softmax(scores, dim=-1) @ v, f"{b}._attention._proj")
        m = norm(h, f"{b}._layer_norm2", 0.003)
        h = h + lin(torch.relu(lin(m, f"{b}._mlp._l1")), f"{b}._mlp._l2")
    h = norm(h, "_gpt2._layer_norm", 0.003)
    return torch.tanh(lin(h[:, 1::3], "_output"))[:, -1]


def check_set(arrays, seed: int = 1) -> dict[str, np.ndarray]:
    """Six left-padded histories (lengths 1, 2, 3, 4, 4, 4) ending at various timesteps, and d3rlpy's actions."""
    rng = np.random.default_rng(seed)
    lengths = np.array([1, 2, 3, K, K, K])
    ends = np.array([1, 2, 3, 5, 9, MAX_TIMESTEP - 1])  # d3rlpy timesteps of the newest step, up to its last row
    masks = (np.arange(K)[None] >= K - lengths[:, None]).astype(np.float32)
    timesteps = np.clip(ends[:, None] - (K - 1) + np.arange(K)[None], 0, None) * masks
    observations = rng.normal(size=(6, K, STATE)).astype(np.float32) * masks[..., None]
    actions = rng.uniform(-1, 1, size=(6, K, ACT)).astype(np.float32) * masks[..., None]
    returns_to_go = rng.uniform(0, 300, size=(6, K)).astype(np.float32) * masks
    predicted = d3rlpy_forward(
        arrays, *(torch.from_numpy(a) for a in (observations, actions, returns_to_go)),
        torch.from_numpy(timesteps.astype(np.int64)), torch.from_numpy(masks),
    )  # fmt: skip
    return {
        "check/observations": observations,
        "check/actions": actions,
        "check/returns_to_go": returns_to_go,
        "check/timesteps": timesteps.astype(np.int64),
        "check/lengths": lengths,
        "check/predicted": predicted.float().numpy(),
    }


def test_transplanted_model_computes_d3rlpys_forward_on_padded_histories():
    arrays = d3rlpy_weights()
    arrays |= check_set(arrays)
    model = d3rlpy_transplant.transplant(arrays, META, n_head=1, target_returns=[300.0])
    config = model.config
    assert config.max_ep_len == MAX_TIMESTEP - 1 and config.return_scale == pytest.approx(100.0)
    assert config.state_std == pytest.approx((arrays["observation_std"] + EPS).tolist())
    # our timestep t is d3rlpy's t + 1; GPT-2's positions add nothing
    assert torch.equal(
        model.embed_timestep.weight[0], torch.from_numpy(arrays["weight/_position_encoding._embed.weight"][1])
    )
    assert model.transformer.wpe.weight.abs().max() == 0
    check = d3rlpy_transplant.check_actions(model, arrays)
    assert check["windows"] == 6 and check["short_windows"] == 3
    assert check["max_abs_diff"] < 1e-5  # float32 against the float64 reference
    # the check is sharp: a wrong mapping (q and k swapped in the first block) moves the actions
    bad = dict(arrays)
    bad["weight/_gpt2._transformer.0._attention._q.weight"] = arrays[
        "weight/_gpt2._transformer.0._attention._k.weight"
    ]
    wrong = d3rlpy_transplant.check_actions(d3rlpy_transplant.transplant(bad, META, 1, [300.0]), arrays)
    assert wrong["max_abs_diff"] > 1e-3


def test_transplant_refuses_weights_it_does_not_place():
    arrays = d3rlpy_weights() | {"weight/_extra_head.weight": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match="_extra_head.weight"):
        d3rlpy_transplant.transplant(arrays, META, n_head=1, target_returns=[300.0])


def test_report_by_hand():
    pytest.importorskip("rliable", reason="the `stats` extra (rliable) is not installed")
    from hf_decision.evaluation import normalized_score, reference_returns

    def returns(score: float) -> list[float]:  # two episodes whose mean normalizes to `score`
        random_return, expert_return = reference_returns("Hopper-v5")
        base = random_return + score / 100 * (expert_return - random_return)
        return [base - 10.0, base + 10.0]

    runs = [
        {
            "seed": s,
            "d3rlpy": {"returns": returns(40.0 + s), "lengths": [100, 200]},
            "ours": {"returns": [r + 5.0 for r in returns(40.0 + s)], "lengths": [100, 201]},
            "check": {"windows": 64, "short_windows": 10, "max_abs_diff": 1e-6 * (s + 1)},
        }
        for s in range(3)
    ]
    summary, table = d3rlpy_transplant.render("Hopper-v5", runs, "header")
    assert summary["scores"]["d3rlpy"] == pytest.approx([40.0, 41.0, 42.0])
    expected_ours = [
        float(np.mean(normalized_score("Hopper-v5", np.array(returns(40.0 + s)) + 5.0))) for s in range(3)
    ]
    assert summary["scores"]["ours"] == pytest.approx(expected_ours)
    assert summary["estimates"]["d3rlpy"]["mean"]["value"] == pytest.approx(41.0)
    assert summary["improvement"]["value"] == pytest.approx(6 / 9)  # 40.15 beats 1 of 40/41/42, 41.15 2, 42.15 3
    assert summary["median_abs_return_difference"] == pytest.approx(5.0)
    assert summary["max_abs_action_difference"] == pytest.approx(3e-6)
    assert "3 of 6 episodes of the same length" in table
    assert "(30 of them shorter than K" in table
