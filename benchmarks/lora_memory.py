"""Memory and speed of fine-tuning a GPT-2-medium-shaped Decision Transformer: full fine-tuning vs LoRA vs LoRA with
gradient checkpointing (target: LoRA + checkpointing ≤ 0.5× the peak RSS of full fine-tuning).

- Model: GPT-2 medium's shape (24 layers × 1024, 16 heads, vocabulary 50257, 1024 positions; 355M parameters in the
  backbone), randomly initialized: no pretrained weights are reachable here. Its config comes from
  `DecisionTransformerConfig.from_backbone_config`, the code path of `from_pretrained_backbone("gpt2-medium")`, with
  `GPT2Config(n_embd=1024, n_layer=24, n_head=16)` in place of the checkpoint's config. Hopper's dimensions (state 11,
  action 3), K = 20, dropout 0.1.
- Training: `DecisionTransformerTrainer` with its defaults (AdamW, float32, the state-token fast path), batch 16, on
  synthetic Hopper-shaped episodes; LoRA through the trainer's `lora_r` (rank `--lora_r`, alpha 2r, GPT-2's attention
  and MLP projections); checkpointing through transformers' `activation_checkpointing` (every GPT-2 block).
- Each variant runs in a fresh subprocess, so its peak RSS (VmHWM at the end, model construction included) is its
  own: `--warmup` steps, then `--steps` timed steps (seconds per step: their median).
- Each variant runs under two settings of glibc's malloc: its default, whose mmap threshold grows as large blocks
  are freed, so that memory freed during training (the activations a checkpointed block recomputes) mostly stays
  resident; and `MALLOC_MMAP_THRESHOLD_=131072`, which keeps every block of 128 KiB or more mmapped and returns it
  to the system when freed, so that RSS follows the memory actually in use.

    python benchmarks/lora_memory.py [--steps 5] [--warmup 1] [--lora_r 16] [--threads 1] [--allocators ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from memory import rss_mib  # benchmarks/ is on sys.path when a script runs
from reporting import write_results
from transformers import GPT2Config, TrainerCallback

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.data import dataset_from_flat
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig

VARIANTS = {  # name → (LoRA, gradient checkpointing)
    "full": (False, False),
    "lora": (True, False),
    "lora_checkpointing": (True, True),
}
TARGET = 0.5
# glibc's malloc raises its mmap threshold (up to 32 MiB) each time a large mmapped block is freed, after which
# such blocks come from its heap, which it rarely returns to the system: the activations a checkpointed block frees
# and recomputes then stay resident. A fixed threshold (MALLOC_MMAP_THRESHOLD_) keeps large blocks mmapped.
ALLOCATORS = ("glibc_default", "fixed_mmap_threshold")
MMAP_THRESHOLD = 128 * 1024
GPT2_MEDIUM = dict(n_embd=1024, n_layer=24, n_head=16, n_positions=1024, vocab_size=50257)


def gpt2_medium_dt() -> DecisionTransformerModel:
    config = DecisionTransformerConfig.from_backbone_config(
        GPT2Config(**GPT2_MEDIUM), source_name="gpt2-medium", state_dim=11, act_dim=3, context_length=20
    )
    return DecisionTransformerModel(config).train()


def hopper_shaped_episodes(n_episodes: int = 50, length: int = 200):
    rng = np.random.default_rng(0)
    n = n_episodes * length
    terminals = np.zeros(n, bool)
    terminals[length - 1 :: length] = True
    return dataset_from_flat(
        rng.standard_normal((n, 11)), rng.uniform(-1, 1, (n, 3)), rng.standard_normal(n), terminals,
        np.zeros(n, bool), [length] * n_episodes,
    )  # fmt: skip


class StepTimer(TrainerCallback):
    def __init__(self):
        self.seconds: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.start)


def run_variant(name: str, steps: int, warmup: int, lora_r: int, device: str, output_dir: str) -> dict:
    """Train one variant in this process and return its measurements."""
    lora, checkpointing = VARIANTS[name]
    torch.manual_seed(0)
    model = gpt2_medium_dt()
    rss_model = rss_mib()[0]
    # transformers renamed `gradient_checkpointing` to `activation_checkpointing` within 5.x
    field = (
        "activation_checkpointing"
        if hasattr(DecisionTransformerTrainingConfig, "activation_checkpointing")
        else ("gradient_checkpointing")
    )
    args = DecisionTransformerTrainingConfig(
        output_dir=output_dir, max_steps=warmup + steps, per_device_train_batch_size=16, warmup_steps=0,
        save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=device == "cpu",
        seed=0, lora_r=lora_r if lora else 0, lora_alpha=2.0 * lora_r, **{field: checkpointing},
    )  # fmt: skip
    timer = StepTimer()
    trainer = DecisionTransformerTrainer(model, args, hopper_shaped_episodes(), callbacks=[timer])
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    total = trainer.trainable_parameters[1] if lora else sum(p.numel() for p in trainer.model.parameters())
    trainer.train()
    return {
        "variant": name,
        "lora_r": lora_r if lora else 0,
        "gradient_checkpointing": checkpointing,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_fraction": trainable / total,
        "rss_after_model_mib": rss_model,
        "peak_rss_mib": rss_mib()[1],
        "step_seconds": timer.seconds,
        "seconds_per_step": statistics.median(timer.seconds[warmup:]),
        "threads": torch.get_num_threads(),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="Timed training steps per variant.")
    parser.add_argument("--warmup", type=int, default=1, help="Untimed steps before them.")
    parser.add_argument("--lora_r", type=int, default=16, help="LoRA rank (alpha = 2r).")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per variant (0: torch's default).")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (RSS is host memory either way).")
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where to write JSON and markdown.")
    parser.add_argument(
        "--allocators",
        nargs="+",
        default=list(ALLOCATORS),
        choices=list(ALLOCATORS),
        help="glibc malloc settings to run every variant under (see the module docstring).",
    )
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)  # in the subprocess
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.variant:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_variant(args.variant, args.steps, args.warmup, args.lora_r, args.device, tmp)
        print("RESULT " + json.dumps(result))
        return result

    runs: dict[str, dict] = {}
    for allocator in args.allocators:
        env = {key: value for key, value in os.environ.items() if key != "MALLOC_MMAP_THRESHOLD_"}
        if allocator == "fixed_mmap_threshold":
            env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
        runs[allocator] = {}
        for name in args.variants:
            command = [sys.executable, __file__, "--variant", name]
            for option in ("steps", "warmup", "lora_r", "threads", "device"):
                command += [f"--{option}", str(getattr(args, option))]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"variant {name} failed:\n{done.stderr[-3000:]}")
            line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
            run = {**json.loads(line.removeprefix("RESULT ")), "wall_seconds": time.perf_counter() - start}
            runs[allocator][name] = run
            print(f"{allocator} {name}: peak RSS {run['peak_rss_mib']:.0f} MiB, {run['seconds_per_step']:.2f} s/step")
        full = runs[allocator].get("full")
        for run in runs[allocator].values():
            run["peak_rss_vs_full"] = run["peak_rss_mib"] / full["peak_rss_mib"] if full else None
    result = {
        "backbone": {**GPT2_MEDIUM, "init": "random"},
        "state_dim": 11, "act_dim": 3, "context_length": 20, "batch_size": 16, "dropout": 0.1,
        "steps": args.steps, "warmup": args.warmup, "device": args.device, "threads": args.threads,
        "mmap_threshold": MMAP_THRESHOLD, "load_average": os.getloadavg(), "target_peak_rss_vs_full": TARGET,
        "runs": runs,
    }  # fmt: skip
    table = (
        "| allocator | variant | trainable parameters | peak RSS | vs full | s/step |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |\n"
    )
    verdicts = []
    for allocator, allocator_runs in runs.items():
        for name, run in allocator_runs.items():
            ratio = run["peak_rss_vs_full"]
            table += (
                f"| {allocator} | {name} | {run['trainable_parameters']:,} of {run['total_parameters']:,} "
                f"({100 * run['trainable_fraction']:.2f}%) | {run['peak_rss_mib']:.0f} MiB | "
                f"{'' if ratio is None else f'{ratio:.2f}×'} | {run['seconds_per_step']:.2f} |\n"
            )
        checkpointed = allocator_runs.get("lora_checkpointing")
        if checkpointed and checkpointed["peak_rss_vs_full"] is not None:
            met = checkpointed["peak_rss_vs_full"] <= TARGET
            verdicts.append(f"{allocator}: {checkpointed['peak_rss_vs_full']:.2f}× ({'met' if met else 'not met'})")
    if verdicts:
        table += f"\nLoRA + checkpointing peak RSS ≤ {TARGET}× full fine-tuning: " + "; ".join(verdicts) + ".\n"
    write_results(args.output_dir, "lora_memory", result, table)
    return result


if __name__ == "__main__":
    main()
