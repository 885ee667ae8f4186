"""Evaluation speed: batch-1 action latency of the standard DT config, batched vs sequential rollouts, and the eager
torch agent against the onnxruntime agent.

- Latency: `DecisionTransformerAgent.act` on one Hopper-sized observation (standard config: 3 layers, hidden 128,
  1 head, K = 20, full context), median over repeats. Target ≤ 1.0 ms.
- Throughput: env steps per second of `rollout` on CartPole-v1 with 10 environments stepped together (one forward
  per step for all of them) vs 1 environment, same agent, same episodes. Target ≥ 5×.
- ONNX (`--sections onnx`): the DT of scripts/configs/decision_transformer/hopper-v5.yaml exported with
  `hf_decision.export.export_onnx`, `DecisionTransformerAgent` vs `OnnxDecisionTransformerAgent` in the same run,
  alternated round by round: batch-1 `act` latency (full K = 20 context), 10-env `act` + `observe` throughput on
  Hopper-sized observations, and 10-env `rollout` env steps/s in Hopper-v5 (when MuJoCo is installed). Writes
  `eval_throughput_onnx.{json,md}` (`eval_throughput_onnx_threads<N>.*` with `--threads N`).

    python benchmarks/eval_throughput.py [--sections speed onnx] [--repeats 300] [--episodes 20] [--device cpu]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
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
    parser.add_argument(
        "--sections", nargs="+", default=["speed", "onnx"], choices=["speed", "onnx"], help="What to measure."
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="Threads of torch and onnxruntime in the onnx section (0: defaults)."
    )
    parser.add_argument(
        "--no_ort_spinning", action="store_true", help="onnxruntime workers sleep between runs (onnx section)."
    )
    args = parser.parse_args()
    if "onnx" in args.sections:
        onnx_comparison(args)
    if "speed" not in args.sections:
        return {}

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


STANDARD_CONFIG = (
    Path(__file__).resolve().parents[1] / "scripts" / "configs" / "decision_transformer" / "hopper-v5.yaml"
)
MODEL_KEYS = ("context_length", "return_scale", "hidden_size", "n_layer", "n_head", "activation_function", "env_id")


def standard_model() -> DecisionTransformerModel:
    """A randomly initialized DT of the results table's shape (the Hopper YAML), in eval mode."""
    values = yaml.safe_load(STANDARD_CONFIG.read_text())
    torch.manual_seed(0)
    config = DecisionTransformerConfig(
        state_dim=11, act_dim=3, target_returns=values["target_returns"], **{k: values[k] for k in MODEL_KEYS}
    )
    return DecisionTransformerModel(config).eval()


def agent_latency_ms(agent, repeats: int, state_dim: int) -> list[float]:
    """Seconds → ms of each of `repeats` batch-1 `act` calls on a full context (filled first)."""
    observation = np.random.default_rng(0).normal(size=state_dim).astype(np.float32)
    for _ in range(agent.context.config.context_length + 5):
        agent.act(observation)
        agent.observe([1.0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        agent.act(observation)
        times.append(1e3 * (time.perf_counter() - start))
        agent.observe([1.0])
    return times


def agent_steps_per_second(agent, steps: int, state_dim: int) -> float:
    """Env steps per second of `act` + `observe` alone with `agent.num_envs` environments (random observations)."""
    observations = np.random.default_rng(0).normal(size=(steps, agent.num_envs, state_dim)).astype(np.float32)
    rewards = np.ones(agent.num_envs, np.float32)
    start = time.perf_counter()
    for step, obs in enumerate(observations):
        agent.act(obs)
        agent.observe(rewards, dones=np.full(agent.num_envs, step % 200 == 199))
    return steps * agent.num_envs / (time.perf_counter() - start)


def onnx_comparison(args) -> dict:
    import onnxruntime  # the `onnx` extra: only this section needs it

    from hf_decision.export import OnnxDecisionTransformerAgent, export_onnx, max_abs_difference

    if args.threads:
        torch.set_num_threads(args.threads)
    options = onnxruntime.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    if args.no_ort_spinning:  # idle onnxruntime workers sleep instead of busy-waiting for the next run
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    load_before = os.getloadavg()[0]
    model = standard_model()
    state_dim, env_id = model.config.state_dim, model.config.env_id
    with tempfile.TemporaryDirectory(prefix="hf_decision-onnx-") as tmp:
        path = export_onnx(model, Path(tmp) / "model.onnx")
        difference = max_abs_difference(model, path)

        def make_agent(backend: str, n: int):
            if backend == "torch":
                return DecisionTransformerAgent(model, num_envs=n)
            return OnnxDecisionTransformerAgent(path, num_envs=n, session_options=options)

        latency = {"torch": [], "onnxruntime": []}
        throughput = {"torch": [], "onnxruntime": []}
        rollouts = {"torch": [], "onnxruntime": []}
        has_mujoco = importlib.util.find_spec("mujoco") is not None
        for _ in range(args.rounds):
            for backend in latency:
                latency[backend] += agent_latency_ms(make_agent(backend, 1), args.repeats, state_dim)
                throughput[backend].append(agent_steps_per_second(make_agent(backend, 10), 300, state_dim))
                if has_mujoco:
                    start = time.perf_counter()
                    result = rollout(
                        lambda n, b=backend: make_agent(b, n), env_id, n_episodes=args.episodes, num_envs=10, seed=0
                    )
                    rollouts[backend].append(int(np.sum(result["lengths"])) / (time.perf_counter() - start))
    median = {
        name: {backend: statistics.median(values) for backend, values in measured.items() if values}
        for name, measured in (("latency", latency), ("throughput", throughput), ("rollout", rollouts))
    }
    result = {
        "model": f"{STANDARD_CONFIG.name}: {model.config.n_layer} layers x {model.config.hidden_size}, "
        f"{model.config.n_head} head, K = {model.config.context_length}",
        "device": "cpu",
        "threads": {"torch": torch.get_num_threads(), "onnxruntime": args.threads or "default (physical cores)"},
        "onnxruntime_spinning": not args.no_ort_spinning,
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0], "cpus": os.cpu_count()},
        "max_abs_difference": difference,
        "rounds": args.rounds,
        "batch1_latency_ms_median": median["latency"],
        "batch1_latency_torch_over_onnxruntime": median["latency"]["torch"] / median["latency"]["onnxruntime"],
        "act_10env_steps_per_s_median": median["throughput"],
        "act_10env_onnxruntime_over_torch": median["throughput"]["onnxruntime"] / median["throughput"]["torch"],
        "rollout_10env_steps_per_s_median": median["rollout"] or None,
        "rollout_10env_onnxruntime_over_torch": (
            median["rollout"]["onnxruntime"] / median["rollout"]["torch"] if median["rollout"] else None
        ),
        "rollout_env": env_id if has_mujoco else f"skipped: {env_id} needs MuJoCo",
    }
    rollout_row = (
        f"| 10-env `rollout` in {env_id} (env steps/s) | {median['rollout']['torch']:.0f} | "
        f"{median['rollout']['onnxruntime']:.0f} | {result['rollout_10env_onnxruntime_over_torch']:.2f}× |\n"
        if median["rollout"]
        else ""
    )
    table = (
        "| standard DT (3 × 128, K = 20), CPU | torch (eager) | onnxruntime | onnxruntime speed-up |\n"
        "| --- | ---: | ---: | ---: |\n"
        f"| batch-1 `act` latency, full context (median) | {median['latency']['torch']:.3f} ms | "
        f"{median['latency']['onnxruntime']:.3f} ms | {result['batch1_latency_torch_over_onnxruntime']:.2f}× |\n"
        f"| 10-env `act` + `observe` (env steps/s) | {median['throughput']['torch']:.0f} | "
        f"{median['throughput']['onnxruntime']:.0f} | {result['act_10env_onnxruntime_over_torch']:.2f}× |\n"
        + rollout_row
    )
    name = "eval_throughput_onnx" + (f"_threads{args.threads}" if args.threads else "")
    name += "_no_spinning" if args.no_ort_spinning else ""
    write_results(args.output_dir, name, result, table)
    return result


if __name__ == "__main__":
    main()
