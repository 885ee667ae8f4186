"""One d3rlpy run for `results_table.py`, inside d3rlpy's own virtual environment (see `d3rlpy_peers.py`).

It imports neither hf_decision nor transformers: only d3rlpy 2.8.0, torch, numpy, pyarrow and gymnasium. It reads the
episode-schema parquet files the table trains on (one row per episode: `observations`, `actions`, `rewards`,
`terminals`, `timeouts`), trains d3rlpy's Decision Transformer or CQL for the same number of gradient steps as the
hf_decision rows, and every `eval_every` steps plays `eval_episodes` episodes of the same environment, episode j
reset with seed `seed + j` (as `hf_decision.evaluation.rollout` does). The raw returns go to a JSON file; the caller
turns them into D4RL normalized scores. With `export` in the spec, the trained DT's weights, scaler statistics and a
check set of its predictions also go to that `.npz` path (see `export`; `d3rlpy_transplant.py` reads it).

    <d3rlpy venv>/bin/python benchmarks/d3rlpy_worker.py --spec spec.json --output result.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import d3rlpy
import gymnasium as gym
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch


def flat(column, dim: int | None) -> np.ndarray:
    """Per-step values of an episode list column, concatenated over episodes (`[N]` or `[N, dim]`)."""
    values = pc.list_flatten(column)
    if dim is None:
        return values.to_numpy(zero_copy_only=False)
    return pc.list_flatten(values).to_numpy(zero_copy_only=False).reshape(-1, dim)


def load_dataset(files: list[str]) -> d3rlpy.dataset.MDPDataset:
    """An `MDPDataset` of the episodes in `files`, in order; an episode that ends with neither a terminal nor a
    timeout flag is closed with a timeout so that d3rlpy cuts episodes where the files do."""
    columns = ["observations", "actions", "rewards", "terminals", "timeouts"]
    tables = [pq.read_table(f, columns=columns) for f in files]
    lengths = np.concatenate([pc.list_value_length(t["rewards"]).to_numpy() for t in tables])
    state_dim = len(tables[0]["observations"][0][0])
    act_dim = len(tables[0]["actions"][0][0])
    observations = np.concatenate([flat(t["observations"], state_dim) for t in tables]).astype(np.float32)
    actions = np.concatenate([flat(t["actions"], act_dim) for t in tables]).astype(np.float32)
    rewards = np.concatenate([flat(t["rewards"], None) for t in tables]).astype(np.float32)
    terminals = np.concatenate([flat(t["terminals"], None) for t in tables]).astype(np.float32)
    timeouts = np.concatenate([flat(t["timeouts"], None) for t in tables]).astype(np.float32)
    ends = np.cumsum(lengths) - 1
    open_ends = ends[(terminals[ends] == 0) & (timeouts[ends] == 0)]
    timeouts[open_ends] = 1.0
    terminals[timeouts == 1.0] = 0.0
    return d3rlpy.dataset.MDPDataset(
        observations=observations,
        actions=actions,
        rewards=rewards[:, None],
        terminals=terminals,
        timeouts=timeouts,
        action_space=d3rlpy.ActionSpace.CONTINUOUS,
    )


def decision_transformer(spec: dict, max_timestep: int):
    h = spec["dt"]
    return d3rlpy.algos.DecisionTransformerConfig(
        batch_size=h["batch_size"],
        learning_rate=h["learning_rate"],
        optim_factory=d3rlpy.optimizers.AdamWFactory(
            weight_decay=h["weight_decay"],
            clip_grad_norm=h["max_grad_norm"],
            lr_scheduler_factory=d3rlpy.optimizers.WarmupSchedulerFactory(warmup_steps=max(h["warmup_steps"], 1)),
        ),
        encoder_factory=d3rlpy.models.VectorEncoderFactory([h["hidden_size"]], exclude_last_activation=True),
        observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
        reward_scaler=d3rlpy.preprocessing.MultiplyRewardScaler(1.0 / h["return_scale"]),
        position_encoding_type=d3rlpy.PositionEncodingType.SIMPLE,
        context_size=h["context_length"],
        num_heads=h["n_head"],
        num_layers=h["n_layer"],
        attn_dropout=h["dropout"],
        resid_dropout=h["dropout"],
        embed_dropout=h["dropout"],
        activation_type=h["activation_function"],
        max_timestep=max_timestep,
    ).create(device=spec["device"])


def cql(spec: dict):
    """d3rlpy's CQL with the hyperparameters of its D4RL reproduction script (reproductions/offline/cql.py)."""
    h = spec["cql"]
    encoder = d3rlpy.models.VectorEncoderFactory(h["hidden_sizes"])
    return d3rlpy.algos.CQLConfig(
        actor_learning_rate=h["actor_learning_rate"],
        critic_learning_rate=h["critic_learning_rate"],
        temp_learning_rate=h["temp_learning_rate"],
        alpha_learning_rate=h["alpha_learning_rate"],
        initial_alpha=h["initial_alpha"],
        actor_encoder_factory=encoder,
        critic_encoder_factory=encoder,
        batch_size=h["batch_size"],
        n_action_samples=h["n_action_samples"],
        alpha_threshold=h["alpha_threshold"],
        conservative_weight=h["conservative_weight"],
    ).create(device=spec["device"])


def play(act, reset, env_id: str, episodes: int, seed: int) -> dict:
    """Returns and lengths of `episodes` episodes, episode j reset with seed `seed + j`."""
    env = gym.make(env_id)
    returns, lengths = [], []
    try:
        for j in range(episodes):
            observation, _ = env.reset(seed=seed + j)
            reset()
            reward, total, steps, done = 0.0, 0.0, 0, False
            while not done:
                action = act(np.asarray(observation, dtype=np.float32), reward)
                observation, reward, terminated, truncated, _ = env.step(action)
                reward = float(reward)
                total, steps, done = total + reward, steps + 1, terminated or truncated
            returns.append(total)
            lengths.append(steps)
    finally:
        env.close()
    return {"returns": returns, "lengths": lengths}


def probe(algo, dataset, context: int, seed: int, windows: int = 512) -> dict:
    """The sensitivity probe of `results_runs.conditioning_probe`, through d3rlpy's own `predict` (its scalers, its
    timesteps from 1): the mean absolute change of the newest action over `windows` random complete K-step windows
    of the data when every return-to-go is multiplied by 1.5, or every timestep moved 100 steps later."""
    rng = np.random.default_rng(seed)
    candidates = [(e, end) for e, ep in enumerate(dataset.episodes) for end in range(context - 1, len(ep.rewards))]
    picks = rng.choice(len(candidates), size=min(windows, len(candidates)), replace=False)
    limit = algo.config.max_timestep - 1
    base_actions, rtg_change, time_change = [], [], []
    for index in picks:
        e, end = candidates[index]
        episode = dataset.episodes[e]
        start = end - context + 1
        rewards = episode.rewards[:, 0].astype(np.float64)
        rtg = np.cumsum(rewards[::-1])[::-1][start : end + 1].reshape(-1, 1).astype(np.float32)

        def act(returns_to_go, timesteps, episode=episode, start=start, end=end):
            inpt = d3rlpy.algos.TransformerInput(
                observations=episode.observations[start : end + 1],
                actions=episode.actions[start : end + 1],
                rewards=episode.rewards[start : end + 1],
                returns_to_go=returns_to_go,
                timesteps=timesteps,
            )
            return np.asarray(algo.predict(inpt), dtype=np.float64)

        timesteps = np.arange(start, end + 1) + 1
        base = act(rtg, timesteps)
        base_actions.append(np.abs(base).mean())
        rtg_change.append(np.abs(act(rtg * 1.5, timesteps) - base).mean())
        time_change.append(np.abs(act(rtg, np.minimum(timesteps + 100, limit)) - base).mean())
    return {
        "windows": len(picks),
        "mean_abs_action": float(np.mean(base_actions)),
        "rtg_x1.5": float(np.mean(rtg_change)),
        "timestep_plus_100": float(np.mean(time_change)),
    }


def export(algo, dataset, context: int, path: str, seed: int, windows: int = 64) -> dict:
    """Write the trained DT to `path` (`.npz`) for `d3rlpy_transplant.py`: its module's weights (`weight/<name>`),
    the observation scaler's `mean` and `std`, and a check set of `windows` random histories of the data (ending at a
    uniform step of a uniform episode, so short, left-padded ones near an episode's start are among them) with the
    action d3rlpy's `predict` returns for each. Returns what the arrays need beside them (scaler eps, reward
    multiplier, max_timestep, context size)."""
    rng = np.random.default_rng(seed)
    module = algo.impl.modules.transformer
    arrays = {f"weight/{name}": value.detach().cpu().numpy() for name, value in module.state_dict().items()}
    scaler, rewards = algo.config.observation_scaler, algo.config.reward_scaler
    arrays |= {"observation_mean": np.asarray(scaler.mean), "observation_std": np.asarray(scaler.std)}
    state_dim, act_dim = dataset.episodes[0].observations.shape[1], dataset.episodes[0].actions.shape[1]
    observations = np.zeros((windows, context, state_dim), np.float32)
    actions = np.zeros((windows, context, act_dim), np.float32)
    returns_to_go = np.zeros((windows, context), np.float32)
    timesteps = np.zeros((windows, context), np.int64)
    lengths, predicted = np.zeros(windows, np.int64), np.zeros((windows, act_dim), np.float32)
    for i in range(windows):
        episode = dataset.episodes[rng.integers(len(dataset.episodes))]
        end = int(rng.integers(len(episode.rewards)))
        start = max(end - context + 1, 0)
        length = end - start + 1
        rtg = np.cumsum(episode.rewards[::-1, 0].astype(np.float64))[::-1][start : end + 1].astype(np.float32)
        steps = np.arange(start, end + 1) + 1  # d3rlpy counts timesteps from 1
        inpt = d3rlpy.algos.TransformerInput(
            observations=episode.observations[start : end + 1],
            actions=episode.actions[start : end + 1],
            rewards=episode.rewards[start : end + 1],
            returns_to_go=rtg.reshape(-1, 1),
            timesteps=steps,
        )
        predicted[i] = algo.predict(inpt)
        observations[i, -length:] = episode.observations[start : end + 1]
        actions[i, -length:] = episode.actions[start : end + 1]
        returns_to_go[i, -length:], timesteps[i, -length:], lengths[i] = rtg, steps, length
    arrays |= {
        "check/observations": observations,
        "check/actions": actions,
        "check/returns_to_go": returns_to_go,
        "check/timesteps": timesteps,
        "check/lengths": lengths,
        "check/predicted": predicted,
    }
    np.savez(path, **arrays)
    return {
        "observation_eps": float(scaler.eps),
        "reward_multiplier": float(rewards.multiplier),
        "max_timestep": int(algo.config.max_timestep),
        "context_size": int(algo.config.context_size),
        "activation": algo.config.activation_type,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, help="JSON file: algo, files, env_id, seed, steps, eval_every, ...")
    parser.add_argument("--output", required=True, help="Where the JSON result is written.")
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    start = time.perf_counter()
    d3rlpy.seed(spec["seed"])
    dataset = load_dataset(spec["files"])
    steps, every = spec["steps"], spec["eval_every"]
    if steps % every:
        raise ValueError(f"steps={steps} must be a multiple of eval_every={every}")
    curve: list[dict] = []
    quiet = dict(logger_adapter=d3rlpy.logging.NoopAdapterFactory(), show_progress=False, save_interval=10**9)

    def evaluate(algo, step: int) -> None:
        if spec["algo"] == "dt":
            wrapper = algo.as_stateful_wrapper(target_return=spec["target_return"])
            act, reset = wrapper.predict, wrapper.reset
        else:
            act, reset = (lambda o, r: algo.predict(o[None])[0]), (lambda: None)
        curve.append({"step": step, **play(act, reset, spec["env_id"], spec["eval_episodes"], spec["seed"])})

    if spec["algo"] == "dt":
        longest = int(max(len(e.rewards) for e in dataset.episodes))
        algo = decision_transformer(spec, max_timestep=max(longest, 1000) + 1)

        def callback(algo, epoch: int, total_step: int) -> None:
            if total_step % every == 0:
                evaluate(algo, total_step)

        algo.fit(dataset, n_steps=steps, n_steps_per_epoch=every, callback=callback, **quiet)
        context = spec["dt"]["context_length"]
        probed = probe(algo, dataset, context, spec["seed"])
        exported = export(algo, dataset, context, spec["export"], spec["seed"]) if spec.get("export") else None
    elif spec["algo"] == "cql":
        probed = exported = None
        algo = cql(spec)
        for epoch, _ in algo.fitter(dataset, n_steps=steps, n_steps_per_epoch=every, **quiet):
            evaluate(algo, epoch * every)
    else:
        raise ValueError(f"unknown algo {spec['algo']!r}: 'dt' or 'cql'")
    result = {
        "curve": curve,
        "seconds": time.perf_counter() - start,
        "versions": {"d3rlpy": d3rlpy.__version__, "torch": torch.__version__, "gymnasium": gym.__version__},
    }
    if probed is not None:
        result["probe"] = probed
    if exported is not None:
        result["export"] = exported
    Path(args.output).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
