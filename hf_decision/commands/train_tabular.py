"""Tabular baselines on a toy-text env, checked against exact dynamic programming on the env's own model.

    python scripts/train_tabular.py --config scripts/configs/tabular/frozenlake-v1.yaml --method model_based

Collects a dataset with a uniformly random behaviour policy (or loads one with `load_trajectories`), estimates Q with
fitted Q iteration (`fqi`), value iteration on the count-based model (`model_based`) or Monte Carlo returns
(`monte_carlo`, which estimates the behaviour policy's Q^μ, not Q*), and compares it with Q* from value iteration on
`env.unwrapped.P`: max |Q − Q*| over the pairs the data holds, the value gap of the greedy policy (exact policy
evaluation on the true model), and the greedy policy's mean return in the env next to the optimal policy's. Prints a
summary and writes `results.json` into `output_dir`. Every flag can also come from `--config file.yaml`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Discrete
from transformers import HfArgumentParser

from hf_decision.collection import collect
from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.data import load_trajectories
from hf_decision.tabular import (
    as_episodes,
    certainty_equivalence,
    fitted_q_iteration,
    greedy_policy,
    monte_carlo_returns,
    policy_evaluation,
    tabular_model,
    value_iteration,
)

METHODS = ("fqi", "model_based", "monte_carlo")
DEFAULT_TIME_LIMIT = 1000  # for envs registered without one (CliffWalking): a looping greedy policy must stop


@dataclass
class TabularArguments:
    env_id: str = field(
        default="FrozenLake-v1",
        metadata={"help": "Gymnasium toy-text env id: Discrete states and actions, with `env.unwrapped.P`."},
    )
    env_kwargs: str = field(
        default="{}",
        metadata={"help": "Env constructor arguments as JSON (e.g. '{\"is_slippery\": false}'); a mapping in YAML."},
    )
    max_episode_steps: int | None = field(
        default=None,
        metadata={
            "help": f"Time limit of collection and evaluation; default the env's own, else {DEFAULT_TIME_LIMIT}."
        },
    )
    method: str = field(
        default="fqi",
        metadata={
            "help": "fqi (fitted Q iteration), model_based (value iteration on the count-based model) or "
            "monte_carlo (mean discounted return per (s, a))."
        },
    )
    gamma: float = field(default=0.9, metadata={"help": "Discount γ ∈ [0, 1) of every estimate and of Q*."})
    dataset_name_or_path: str = field(
        default="",
        metadata={"help": "Trajectories for `load_trajectories` (observations: state indices); empty: collect them."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub configuration of the dataset."})
    dataset_split: str = field(default="train", metadata={"help": "Split of the dataset."})
    num_steps: int = field(default=50_000, metadata={"help": "Steps to collect with the uniformly random policy."})
    num_envs: int = field(default=8, metadata={"help": "Envs stepped together while collecting."})
    n_iters: int = field(default=500, metadata={"help": "fqi: sweeps of Q(s, a) ← mean of r + γ V(s')."})
    tol: float = field(default=1e-10, metadata={"help": "Value iteration stops once max |Q_{k+1} − Q_k| ≤ tol."})
    first_visit: bool = field(default=True, metadata={"help": "monte_carlo: average first visits only."})
    optimality_tol: float = field(
        default=1e-6, metadata={"help": "The greedy policy counts as optimal when V*(s) − V^π(s) ≤ this."}
    )
    eval_episodes: int = field(default=100, metadata={"help": "Episodes run in the env with each greedy policy."})
    seed: int = field(default=0, metadata={"help": "Seeds the collection; evaluation episode j uses seed + j."})
    output_dir: str = field(default="runs/tabular", metadata={"help": "Where to write results.json."})


def env_arguments(args: TabularArguments) -> dict:
    """Constructor arguments of the env: `env_kwargs` (JSON text or a mapping) and the time limit."""
    kwargs = json.loads(args.env_kwargs) if isinstance(args.env_kwargs, str) else dict(args.env_kwargs)
    if not isinstance(kwargs, dict):
        raise ValueError(f"env_kwargs must be a JSON object, got {args.env_kwargs!r}")
    if args.max_episode_steps is not None:
        return {**kwargs, "max_episode_steps": args.max_episode_steps}
    if gym.spec(args.env_id).max_episode_steps is None:
        return {**kwargs, "max_episode_steps": DEFAULT_TIME_LIMIT}
    return kwargs


def estimate_q(args: TabularArguments, data, n_states: int, n_actions: int) -> np.ndarray:
    """Q from the data with the chosen method (−inf on the pairs the data does not hold)."""
    if args.method == "fqi":
        return fitted_q_iteration(data, n_states, n_actions, args.gamma, args.n_iters)[0]
    if args.method == "model_based":
        return certainty_equivalence(data, n_states, n_actions, args.gamma, tol=args.tol)[0]
    return monte_carlo_returns(data, n_states, n_actions, args.gamma, first_visit=args.first_visit)


def rollout_returns(env_id: str, env_kwargs: dict, policy: np.ndarray, n_episodes: int, seed: int) -> np.ndarray:
    """Undiscounted returns of the deterministic tabular `policy` ([S] actions) over `n_episodes` env episodes."""
    env = gym.make(env_id, **env_kwargs)
    returns = np.zeros(n_episodes)
    try:
        for episode in range(n_episodes):
            state, _ = env.reset(seed=seed + episode)
            done = False
            while not done:
                state, reward, terminated, truncated, _ = env.step(int(policy[int(state)]))
                returns[episode] += float(reward)
                done = terminated or truncated
    finally:
        env.close()
    return returns


def main(args: TabularArguments) -> dict:
    if args.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {args.method!r}")
    if not 0.0 <= args.gamma < 1.0:
        raise ValueError(f"gamma must lie in [0, 1) (the greedy policy is evaluated exactly), got {args.gamma}")
    env_kwargs = env_arguments(args)
    env = gym.make(args.env_id, **env_kwargs)
    spaces, unwrapped = (env.observation_space, env.action_space), env.unwrapped
    env.close()
    if not all(isinstance(space, Discrete) for space in spaces) or not hasattr(unwrapped, "P"):
        raise ValueError(f"{args.env_id} is not a tabular env: it needs Discrete states and actions and `unwrapped.P`")
    n_states, n_actions = int(spaces[0].n), int(spaces[1].n)

    if args.dataset_name_or_path:
        dataset = load_trajectories(args.dataset_name_or_path, config=args.dataset_config, split=args.dataset_split)
    else:
        dataset = collect(
            args.env_id,
            "random",
            num_steps=args.num_steps,
            num_envs=args.num_envs,
            seed=args.seed,
            env_kwargs=env_kwargs,
        )
    episodes = as_episodes(dataset, n_states, n_actions)
    Q = estimate_q(args, episodes, n_states, n_actions)
    visited = np.isfinite(Q)

    model = tabular_model(unwrapped.P)
    Q_star, V_star = value_iteration(model, args.gamma, tol=args.tol)
    Q_mu, _ = policy_evaluation(model, np.full((n_states, n_actions), 1.0 / n_actions), args.gamma)
    policy = greedy_policy(Q)
    _, V_pi = policy_evaluation(model, policy, args.gamma)
    data_states = visited.any(axis=1)
    gap = V_star - V_pi
    start = getattr(unwrapped, "initial_state_distrib", None)
    returns = rollout_returns(args.env_id, env_kwargs, policy, args.eval_episodes, args.seed)
    optimal_returns = rollout_returns(args.env_id, env_kwargs, greedy_policy(Q_star), args.eval_episodes, args.seed)

    results = {
        "arguments": asdict(args),
        "dataset": {
            "num_episodes": len(episodes.episode_lengths),
            "num_steps": len(episodes.states),
            "num_transitions": len(episodes.transitions().states),
            "visited_pairs": int(visited.sum()),
            "num_pairs": n_states * n_actions,
            "visited_states": int(data_states.sum()),
        },
        "max_abs_q_error": float(np.abs(Q - Q_star)[visited].max(initial=0.0)),
        "max_abs_q_error_uniform_policy": float(np.abs(Q - Q_mu)[visited].max(initial=0.0)),
        "greedy_policy": {
            "max_value_gap": float(gap[data_states].max(initial=0.0)),
            "start_value_gap": None if start is None else float(np.dot(start, gap)),
            "optimal": bool(gap[data_states].max(initial=0.0) <= args.optimality_tol),
        },
        "evaluation": {
            "episodes": args.eval_episodes,
            "mean_return": float(returns.mean()) if len(returns) else None,
            "std_return": float(returns.std()) if len(returns) else None,
            "optimal_mean_return": float(optimal_returns.mean()) if len(returns) else None,
        },
    }
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2))
    data = results["dataset"]
    print(
        f"{args.env_id} {args.method}: {data['num_transitions']} transitions, {data['visited_pairs']}/"
        f"{data['num_pairs']} (s, a) pairs visited"
    )
    print(
        f"max |Q − Q*| over visited pairs {results['max_abs_q_error']:.3g} "
        f"(|Q − Q^uniform| {results['max_abs_q_error_uniform_policy']:.3g})"
    )
    print(
        f"greedy policy: max V* − V^π over visited states {results['greedy_policy']['max_value_gap']:.3g}, "
        f"optimal: {results['greedy_policy']['optimal']}"
    )
    if len(returns):
        print(
            f"return over {len(returns)} episodes: {returns.mean():.3f} ± {returns.std():.3f} "
            f"(optimal policy {optimal_returns.mean():.3f})"
        )
    print(f"Saved the results to {output / 'results.json'}")
    return results


def cli(argv: Sequence[str] | None = None) -> dict:
    (args,) = parse_with_config(HfArgumentParser(TabularArguments), list(sys.argv[1:] if argv is None else argv))
    return main(args)


run = console_script(cli)


if __name__ == "__main__":
    cli()
