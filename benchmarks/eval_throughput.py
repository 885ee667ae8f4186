"""Evaluation speed: batch-1 action latency of the standard DT config, and batched vs sequential rollouts.

- Latency: `DecisionTransformerAgent.act` on one Hopper-sized observation (standard config: 3 layers, hidden 128,
  1 head, K = 20, full context), median over repeats. Target ≤ 1.0 ms.
- Throughput: env steps per second of `rollout` on CartPole-v1 with 10 environments stepped together (one forward
  per step for all of them) vs 1 environment, same agent, same episodes. Target ≥ 5×.

    python benchmarks/eval_throughput.py [--repeats 300] [--episodes 20] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from reporting import write_results  # benchmarks/ is on sys.path when a script runs

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.agents import DecisionTransformerAgent
from hf_decision.evaluation import rollout


def action_latency_ms(device: str, repeats: int) -> float:
    torch.manual_seed(0)
    config = DecisionTransformerConfig(state_dim=11, act_dim=3, context_length=20, target_returns=[3600.0])
    agent = DecisionTransformerAgent(DecisionTransformerModel(config), num_envs=1, device=device)
    observation = np.zeros(11, np.float32)
    for _ in range(25):  # fill the context to K steps
        agent.act(observation)
        agent.observe([1.0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        agent.act(observation)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        agent.observe([1.0])
    return 1e3 * statistics.median(times)


def rollout_steps_per_second(model, num_envs: int, episodes: int) -> float:
    start = time.perf_counter()
    result = rollout(
        lambda n: DecisionTransformerAgent(model, target_return=500.0, num_envs=n),
        "CartPole-v1",
        n_episodes=episodes,
        num_envs=num_envs,
        seed=0,
    )
    return int(np.sum(result["lengths"])) / (time.perf_counter() - start)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=300, help="Timed actions for the latency.")
    parser.add_argument("--episodes", type=int, default=20, help="CartPole episodes per rollout.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds of batched / sequential rollouts.")
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where to write JSON and markdown.")
    args = parser.parse_args()

    latency = action_latency_ms(args.device, args.repeats)
    torch.manual_seed(0)
    config = DecisionTransformerConfig(
        state_dim=4, act_dim=2, action_space="discrete", max_ep_len=500, context_length=20, return_scale=100.0
    )
    model = DecisionTransformerModel(config).to(args.device).eval()
    batched, sequential = [], []
    for _ in range(args.rounds):
        batched.append(rollout_steps_per_second(model, 10, args.episodes))
        sequential.append(rollout_steps_per_second(model, 1, args.episodes))
    result = {
        "device": args.device,
        "action_latency_ms_median": latency,
        "latency_target_ms": 1.0,
        "batched_env_steps_per_s_median": statistics.median(batched),
        "sequential_env_steps_per_s_median": statistics.median(sequential),
        "batched_over_sequential": statistics.median(batched) / statistics.median(sequential),
        "speedup_target": 5.0,
    }
    table = (
        "| batch-1 action latency | 10 envs batched | 1 env | batched / sequential |\n| ---: | ---: | ---: | ---: |\n"
        f"| {latency:.2f} ms (target ≤ 1.0) | {result['batched_env_steps_per_s_median']:.0f} steps/s | "
        f"{result['sequential_env_steps_per_s_median']:.0f} steps/s | {result['batched_over_sequential']:.1f}× "
        "(target ≥ 5×) |\n"
    )
    write_results(args.output_dir, "eval_throughput", result, table)
    return result


if __name__ == "__main__":
    main()
