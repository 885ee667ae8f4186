"""Collation time of a DT batch as a fraction of one DT training step (target: ≤ 3%).

Batch: B=64 windows of K=20 steps from a Hopper-sized dataset (the medium-replay parquet of `../shared/data` when
present, else synthetic episodes of the same size). Train step: the standard config (3 layers, hidden 128, 1 head,
dropout 0.1, AdamW lr 1e-4, grad-norm clip 0.25), forward + backward + step. Both are timed in the same run and
alternated; medians are reported.

    python benchmarks/collation.py [--data PATH] [--repeats 50] [--device cpu] [--output_dir benchmarks/results]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from reporting import write_results  # benchmarks/ is on sys.path when a script runs

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.data import DecisionCollator, DecisionWindows, TrajectoryStore, dataset_from_flat, load_trajectories

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hopper-v5" / "hopper-medium-replay.parquet"
)


def hopper_sized_dataset(num_steps: int = 250_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 1000, size=num_steps // 500)
    n = int(lengths.sum())
    return dataset_from_flat(
        rng.standard_normal((n, 11)),
        rng.uniform(-1, 1, (n, 3)),
        rng.standard_normal(n),
        np.zeros(n, bool),
        np.zeros(n, bool),
        lengths,
    )


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="Trajectory source; synthetic if it is missing.")
    parser.add_argument("--repeats", type=int, default=50, help="Timed repetitions of each side.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds of (collate, train step).")
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where to write JSON and markdown.")
    args = parser.parse_args()

    torch.manual_seed(0)
    source = "synthetic Hopper-sized"
    dataset = hopper_sized_dataset()
    if Path(args.data).exists():
        dataset, source = load_trajectories(args.data), args.data
    store = TrajectoryStore.from_dataset(dataset)
    stats = store.statistics()
    windows = DecisionWindows(store, context_length=20)
    collator = DecisionCollator(store, 20, 1000.0, stats["state_mean"], stats["state_std"])
    generator = torch.Generator().manual_seed(0)

    config = DecisionTransformerConfig(state_dim=store.state_dim, act_dim=store.act_dim, context_length=20)
    model = DecisionTransformerModel(config).to(args.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    batch = {k: v.to(args.device) for k, v in collator(windows.sample(64, generator)).items()}

    def collate():
        out = collator(windows.sample(64, generator))
        if args.device != "cpu":
            out = {k: v.to(args.device, non_blocking=True) for k, v in out.items()}
            torch.cuda.synchronize()

    def train_step():
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        if args.device != "cpu":
            torch.cuda.synchronize()

    for _ in range(5):
        collate(), train_step()
    collate_times, step_times = [], []
    for _ in range(args.rounds):
        collate_times.append(median_seconds(collate, args.repeats))
        step_times.append(median_seconds(train_step, max(args.repeats // 5, 5)))
    collate_s, step_s = statistics.median(collate_times), statistics.median(step_times)
    result = {
        "data": source,
        "device": args.device,
        "batch_size": 64,
        "context_length": 20,
        "collate_ms_median": collate_s * 1e3,
        "train_step_ms_median": step_s * 1e3,
        "collate_fraction_of_step": collate_s / step_s,
        "target_fraction": 0.03,
    }
    table = (
        "| collate (ms) | DT train step (ms) | collate / step | target |\n| ---: | ---: | ---: | ---: |\n"
        f"| {result['collate_ms_median']:.3f} | {result['train_step_ms_median']:.1f} | "
        f"{100 * result['collate_fraction_of_step']:.2f}% | ≤ 3% |\n"
    )
    write_results(args.output_dir, "collation", result, table)
    return result


if __name__ == "__main__":
    main()
