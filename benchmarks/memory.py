"""Memory: the process's RSS stays flat over a long training run and over many evaluation episodes (target: growth
< 5%).

- Training: the standard config (3 layers, hidden 128, 1 head, K = 20, dropout 0.1, batch 64) trained with
  `DecisionTransformerTrainer` for `--steps` optimizer steps (default 10k) on Hopper medium (the parquet of
  `../shared/data/hopper-v5` when present, else synthetic episodes of the same size). RSS is sampled every
  `--sample_every` steps once `--warmup_steps` are done.
- Evaluation: `hf_decision.evaluate` on CartPole-v1 (a discrete DT of the standard size) for `--episodes` episodes
  (default 100), in rounds of `--episodes_per_round`, each round a fresh vector env; RSS sampled after each round,
  the first round being the warmup.

Growth = (last − first after warmup) / first after warmup, for the current RSS (VmRSS) and for the peak RSS
(VmHWM, which only grows; reset at the start of each phase where Linux allows); the target applies to both.

    python benchmarks/memory.py [--steps 10000] [--episodes 100] [--device cpu] [--output_dir benchmarks/results]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import torch
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from transformers import TrainerCallback

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel, evaluate
from hf_decision.data import dataset_from_flat, load_trajectories
from hf_decision.resources import shared_path
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig

GROWTH_TARGET = 0.05


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MiB: VmRSS and VmHWM from /proc, else psutil."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
    import psutil

    info = psutil.Process().memory_info()
    return info.rss / 2**20, getattr(info, "peak_wset", info.rss) / 2**20


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0), so that each phase reports its own peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def growth(samples: list[dict], key: str) -> float:
    first, last = samples[0][key], samples[-1][key]
    return (last - first) / first


def hopper_medium():
    """Hopper medium from the shared data folder, or synthetic episodes of the same size (~1M steps, 11/3 dims)."""
    path = shared_path("hopper-v5", "hopper-medium.parquet")
    if path is not None:
        return load_trajectories(path), str(path)
    rng = np.random.default_rng(0)
    lengths = rng.integers(100, 1000, size=1800)
    n = int(lengths.sum())
    dataset = dataset_from_flat(
        rng.standard_normal((n, 11)), rng.uniform(-1, 1, (n, 3)), rng.standard_normal(n),
        np.zeros(n, bool), np.zeros(n, bool), lengths,
    )  # fmt: skip
    return dataset, f"synthetic ({n} steps)"


class RSSSampler(TrainerCallback):
    def __init__(self, warmup_steps: int, every: int):
        self.warmup_steps, self.every = warmup_steps, every
        self.samples: list[dict] = []

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        if step >= self.warmup_steps and ((step - self.warmup_steps) % self.every == 0 or step == state.max_steps):
            rss, peak = rss_mib()
            self.samples.append({"step": step, "rss_mib": rss, "peak_mib": peak})


def training_memory(steps: int, warmup_steps: int, every: int, device: str, output_dir: str) -> dict:
    dataset, source = hopper_medium()
    torch.manual_seed(0)
    model = DecisionTransformerModel(DecisionTransformerConfig(state_dim=11, act_dim=3, context_length=20))
    args = DecisionTransformerTrainingConfig(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=64,
        save_strategy="no",
        logging_steps=max(steps // 10, 1),
        report_to="none",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        seed=0,
    )
    sampler = RSSSampler(warmup_steps, every)
    trainer = DecisionTransformerTrainer(model, args, dataset, callbacks=[sampler])
    reset_peak()
    start = time.perf_counter()
    trainer.train()
    return {
        "data": source,
        "steps": steps,
        "warmup_steps": warmup_steps,
        "seconds": time.perf_counter() - start,
        "samples": sampler.samples,
        "rss_growth": growth(sampler.samples, "rss_mib"),
        "peak_growth": growth(sampler.samples, "peak_mib"),
    }


def evaluation_memory(episodes: int, per_round: int, device: str) -> dict:
    torch.manual_seed(0)
    config = DecisionTransformerConfig(
        state_dim=4, act_dim=2, action_space="discrete", max_ep_len=500, context_length=20, return_scale=100.0
    )
    model = DecisionTransformerModel(config).to(device).eval()
    samples, lengths = [], []
    reset_peak()
    for start in range(0, episodes, per_round):
        result = evaluate(model, "CartPole-v1", target_return=500.0, n_episodes=per_round, num_envs=10, seed=start)
        lengths.extend(np.asarray(result["lengths"]).tolist())
        rss, peak = rss_mib()
        samples.append({"episodes": start + per_round, "rss_mib": rss, "peak_mib": peak})
    samples = samples[1:]  # the first round is the warmup
    return {
        "episodes": len(lengths),
        "env_steps": int(np.sum(lengths)),
        "samples": samples,
        "rss_growth": growth(samples, "rss_mib"),
        "peak_growth": growth(samples, "peak_mib"),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000, help="Training steps.")
    parser.add_argument("--warmup_steps", type=int, default=None, help="Steps before the first sample (default 5%%).")
    parser.add_argument("--sample_every", type=int, default=None, help="Steps between samples (default 5%%).")
    parser.add_argument("--episodes", type=int, default=100, help="Evaluation episodes.")
    parser.add_argument("--episodes_per_round", type=int, default=10, help="Episodes per evaluate call.")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (RSS is host memory either way).")
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where to write JSON and markdown.")
    args = parser.parse_args()
    if args.episodes < 2 * args.episodes_per_round:
        parser.error("--episodes must cover at least two rounds: the warmup and one sample")
    warmup = args.warmup_steps if args.warmup_steps is not None else max(args.steps // 20, 1)
    every = args.sample_every or max(args.steps // 20, 1)

    training = training_memory(args.steps, warmup, every, args.device, str(Path(args.output_dir) / "memory_run"))
    evaluation = evaluation_memory(args.episodes, args.episodes_per_round, args.device)
    result = {"device": args.device, "growth_target": GROWTH_TARGET, "training": training, "evaluation": evaluation}
    rows = [
        ("training", f"{args.steps} steps ({training['data']})", training),
        ("evaluation", f"{evaluation['episodes']} CartPole episodes", evaluation),
    ]
    table = (
        "| phase | run | RSS after warmup → end | RSS growth | peak RSS growth |\n| --- | --- | ---: | ---: | ---: |\n"
    )
    for phase, run, r in rows:
        first, last = r["samples"][0], r["samples"][-1]
        table += (
            f"| {phase} | {run} | {first['rss_mib']:.0f} → {last['rss_mib']:.0f} MiB | {100 * r['rss_growth']:+.1f}% "
            f"| {100 * r['peak_growth']:+.1f}% (target < {100 * GROWTH_TARGET:.0f}%) |\n"
        )
    write_results(args.output_dir, "memory", result, table)
    return result


if __name__ == "__main__":
    main()
