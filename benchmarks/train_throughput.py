"""Training speed: hf_decision's Trainer path vs a reference loop around transformers' Decision Transformer.

Target: ≥ 2.0× the reference's steps/s with the standard config on 2 CPU cores, and ≤ 0.5× its seconds per step
with a GPT-2-small backbone (12 layers, hidden 768, 12 heads) at batch 16.

- Standard config: 3 layers, hidden 128, 1 head, K = 20, batch 64, dropout 0.1, AdamW lr 1e-4 (weight decay 1e-4 on
  linear weights), grad-norm clip 0.25, `max_ep_len` 1000 on both sides. Data: Hopper medium-replay from the shared
  data folder, else synthetic 1000-step episodes (state_dim 11, act_dim 3).
- hf_decision: `DecisionTransformerTrainer` + `DecisionTransformerTrainingConfig` + `DecisionTransformerModel`. Each
  round of each variant is one `train()` of a new Trainer (on the variant's model, kept across rounds) in the main
  thread: `--warmup` untimed steps, then `--steps` timed ones. All variants and the reference alternate in rounds
  in one process, all in the main thread (training in worker threads was slower, and unequally so); steps/s is the
  median over rounds.
- Reference: transformers' `DecisionTransformerModel`, a collator in the style of the HF blog "Train your first
  Decision Transformer" (per sample: episode drawn ∝ length, K-step numpy slice, `np.concatenate` padding,
  normalization, return-to-go by a Python discounted cumulative sum; episodes are numpy arrays up front, which is
  cheaper than the blog's per-sample dataset row access), the blog's masked MSE and a plain loop with torch's AdamW
  (its for-loop implementation on CPU, as the blog's `optim="adamw_torch"`).
- Ablations, each a variant in the same rounds: bf16 autocast (`bf16=True`), `fast_dropout` (which also moves the
  attention-probability dropout to an eager attention function with the same masks), eager attention alone, bf16 +
  `fast_dropout` (the recommended CPU setting), non-fused AdamW (`optim="adamw_torch"`; the default is fused),
  dropout 0 (what dropout costs; not an option), and the reference with `DecisionCollator`.
  The reported ratio is the median over rounds of each round's ratio to the reference of the same round.
- `torch_compile` (alone and on top of the recommended setting) runs in a process of its own, against its own
  reference: accelerate keeps the dynamo setting in its process-wide `AcceleratorState`, so a Trainer created before
  a compiled one compiles its model as well when it starts training (with the compiled variants in its rounds, the
  recommended setting ran at 6.6 steps/s instead of 11.1).
- Numerics: both paths from identical weights (`DecisionTransformerModel.from_transformers_dt`) on the batches the
  hf_decision run drew, replayed in the reference: max relative per-step loss difference (exact with dropout 0), and
  the final loss (eval mode, 8 fixed held-out batches) with dropout 0.1, without and with the speed options.
- Peak RSS of each path, each in its own subprocess.

    python benchmarks/train_throughput.py [--steps 10] [--rounds 5] [--threads 0] [--device cpu] [--quick]
        [--sections throughput,compile,numerics,gpt2,rss] [--numerics_steps 50] [--output_dir benchmarks/results]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import torch
import transformers
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from transformers import PrinterCallback, TrainerCallback

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.data import DecisionCollator, DecisionWindows, TrajectoryStore, dataset_from_flat, load_trajectories
from hf_decision.resources import shared_data_dir
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig, parameter_groups

K, MAX_EP_LEN, RETURN_SCALE = 20, 1000, 1000.0
ARCHS = {
    "standard": {"n_layer": 3, "hidden_size": 128, "n_head": 1, "batch_size": 64},
    "gpt2-small": {"n_layer": 12, "hidden_size": 768, "n_head": 12, "batch_size": 16},
}
RECOMMENDED = {"bf16": True, "fast_dropout": True}  # on a CPU with bf16 instructions
RECOMMENDED_NAME = "hf + bf16 + fast_dropout (recommended)"
HF_VARIANTS = {  # options of each hf_decision variant: trainer arguments, and `dropout`, `attn` of the model config
    "hf_decision": {},
    "hf + bf16": {"bf16": True},
    "hf + fast_dropout": {"fast_dropout": True},
    "hf, eager attention": {"attn": "eager"},
    RECOMMENDED_NAME: RECOMMENDED,
    "hf, optim=adamw_torch": {"optim": "adamw_torch"},
    "hf + torch_compile": {"torch_compile": True},
    "hf + bf16 + fast_dropout + torch_compile": {**RECOMMENDED, "torch_compile": True},
    "hf, dropout 0": {"dropout": 0.0},
}
COMPILED = [name for name, options in HF_VARIANTS.items() if options.get("torch_compile")]


def load_data(path: str | None):
    """Hopper medium-replay (canonical episode dataset) and its source, or synthetic 1000-step episodes."""
    if path and os.path.exists(path):
        return load_trajectories(path), path
    rng = np.random.default_rng(0)
    lengths = np.full(250, 1000)
    n = int(lengths.sum())
    obs, actions = rng.standard_normal((n, 11)), rng.uniform(-1, 1, (n, 3))
    flags = np.zeros(n, bool)
    return dataset_from_flat(obs, actions, rng.standard_normal(n), flags, flags, lengths), "synthetic Hopper-sized"


# --- the reference: transformers' DT, a blog-style collator and loss, a plain loop ---


def discount_cumsum(x: np.ndarray, gamma: float) -> np.ndarray:
    """`out[t] = x[t] + γ·out[t+1]`, one step at a time as in the blog."""
    out = np.zeros_like(x)
    out[-1] = x[-1]
    for t in range(len(x) - 2, -1, -1):
        out[t] = x[t] + gamma * out[t + 1]
    return out


def per_episode(column) -> list[np.ndarray]:
    """One numpy array per episode from an Arrow list column (of scalars or of fixed-size vectors)."""
    column = column.combine_chunks()
    steps = column.flatten()
    if pa.types.is_fixed_size_list(steps.type):
        values = steps.flatten().to_numpy().reshape(len(steps), steps.type.list_size)
    else:
        values = steps.to_numpy(zero_copy_only=False)
    return np.split(values, np.cumsum(column.value_lengths().to_numpy())[:-1])


class BlogStyleCollator:
    """Batches built sample by sample with numpy, as the blog's `DecisionTransformerGymDataCollator` does."""

    def __init__(self, dataset, seed: int = 0):
        table = dataset.with_format("arrow")[:]
        self.obs, self.act, self.rew, self.done = (
            per_episode(table.column(name)) for name in ("observations", "actions", "rewards", "terminals")
        )
        states = np.vstack(self.obs)
        self.state_mean, self.state_std = states.mean(0), states.std(0) + 1e-6
        lengths = np.array([len(r) for r in self.rew])
        self.p_sample = lengths / lengths.sum()
        self.state_dim, self.act_dim = states.shape[1], self.act[0].shape[1]
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch_size: int) -> dict[str, torch.Tensor]:
        s, a, r, d, rtg, timesteps, mask = [], [], [], [], [], [], []
        for i in self.rng.choice(len(self.rew), size=batch_size, p=self.p_sample):
            start = int(self.rng.integers(0, len(self.rew[i])))
            s.append(self.obs[i][start : start + K].reshape(1, -1, self.state_dim))
            a.append(self.act[i][start : start + K].reshape(1, -1, self.act_dim))
            r.append(self.rew[i][start : start + K].reshape(1, -1, 1))
            d.append(self.done[i][start : start + K].reshape(1, -1))
            n = s[-1].shape[1]
            timesteps.append(np.minimum(np.arange(start, start + n), MAX_EP_LEN - 1).reshape(1, -1))
            rtg.append(discount_cumsum(self.rew[i][start:], 1.0)[:n].reshape(1, -1, 1))
            pad = K - n
            s[-1] = (np.concatenate([np.zeros((1, pad, self.state_dim)), s[-1]], 1) - self.state_mean) / self.state_std
            a[-1] = np.concatenate([np.full((1, pad, self.act_dim), -10.0), a[-1]], 1)
            r[-1] = np.concatenate([np.zeros((1, pad, 1)), r[-1]], 1)
            d[-1] = np.concatenate([np.full((1, pad), 2), d[-1]], 1)
            rtg[-1] = np.concatenate([np.zeros((1, pad, 1)), rtg[-1]], 1) / RETURN_SCALE
            timesteps[-1] = np.concatenate([np.zeros((1, pad)), timesteps[-1]], 1)
            mask.append(np.concatenate([np.zeros((1, pad)), np.ones((1, n))], 1))
        return {
            "states": torch.from_numpy(np.concatenate(s)).float(),
            "actions": torch.from_numpy(np.concatenate(a)).float(),
            "rewards": torch.from_numpy(np.concatenate(r)).float(),
            "returns_to_go": torch.from_numpy(np.concatenate(rtg)).float(),
            "timesteps": torch.from_numpy(np.concatenate(timesteps)).long(),
            "attention_mask": torch.from_numpy(np.concatenate(mask)).float(),
        }


def reference_model(arch: dict, dropout: float, seed: int = 0) -> transformers.DecisionTransformerModel:
    torch.manual_seed(seed)
    config = transformers.DecisionTransformerConfig(
        state_dim=11, act_dim=3, max_ep_len=MAX_EP_LEN, hidden_size=arch["hidden_size"], n_layer=arch["n_layer"],
        n_head=arch["n_head"], resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
    )  # fmt: skip
    return transformers.DecisionTransformerModel(config)


def blog_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The blog's `TrainableDT` loss: MSE of the predicted actions over the real (unpadded) steps."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    preds = model(**inputs).action_preds
    act_dim = preds.shape[2]
    real = batch["attention_mask"].reshape(-1) > 0
    return torch.mean((preds.reshape(-1, act_dim)[real] - batch["actions"].reshape(-1, act_dim)[real]) ** 2)


class ReferenceLoop:
    """Collate, forward, masked MSE, backward, clip 0.25, AdamW (the weight-decay groups of hf_decision)."""

    def __init__(self, model, sample, device: str):
        self.model, self.sample, self.device = model.to(device).train(), sample, device
        self.optimizer = torch.optim.AdamW(parameter_groups(model, 1e-4, 1e-4), lr=1e-4)

    def step(self, batch=None) -> torch.Tensor:
        batch = {k: v.to(self.device) for k, v in (batch or self.sample()).items()}
        loss = blog_loss(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 0.25)
        self.optimizer.step()
        return loss.detach()

    def run(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        synchronize(self.device)
        return time.perf_counter() - start


# --- hf_decision's Trainer path ---


def hf_trainer(store, arch: dict, options: dict, device: str, max_steps: int, model=None, seed: int = 0):
    options = dict(options)
    dropout, attn = options.pop("dropout", 0.1), options.pop("attn", "sdpa")
    if model is None:
        torch.manual_seed(seed)
        config = DecisionTransformerConfig(
            state_dim=store.state_dim, act_dim=store.act_dim, context_length=K, max_ep_len=MAX_EP_LEN,
            hidden_size=arch["hidden_size"], n_layer=arch["n_layer"], n_head=arch["n_head"],
            resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, attn_implementation=attn,
        )  # fmt: skip
        model = DecisionTransformerModel(config)
    args = DecisionTransformerTrainingConfig(
        output_dir=os.path.join(tempfile.gettempdir(), "train_throughput"), max_steps=max_steps, seed=seed,
        per_device_train_batch_size=arch["batch_size"], save_strategy="no", report_to=[], disable_tqdm=True,
        use_cpu=device == "cpu", dataloader_pin_memory=False, **options,
    )  # fmt: skip
    trainer = DecisionTransformerTrainer(model, args, train_dataset=store)
    trainer.remove_callback(PrinterCallback)
    return trainer


class StepTimer(TrainerCallback):
    """Seconds from the end of optimizer step `first` to the end of step `last` of one `train()`."""

    def __init__(self, first: int, last: int, device: str):
        self.first, self.last, self.device, self.start, self.seconds = first, last, device, None, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in (self.first, self.last):
            synchronize(self.device)
            now = time.perf_counter()
            if state.global_step == self.first:
                self.start = now
            else:
                self.seconds = now - self.start
        return control


class TrainerRounds:
    """One `train()` of a fresh Trainer per `run(steps)`, in the calling (main) thread as users run it: `warmup`
    untimed steps, then `steps` timed ones. The model (and with it any compiled graph) is kept across rounds.

    Training in a worker thread instead, paused between rounds, made both paths slower here, and not equally: a hand
    loop of the recommended setting took 85.5 ms per step in a thread against 64.5 ms in the main thread, the
    reference 185 ms against 158 ms (glibc malloc tunables did not change that)."""

    def __init__(self, make_trainer, warmup: int, device: str):
        """`make_trainer(max_steps, model)` builds the Trainer (a new model when `model` is None)."""
        self.make_trainer, self.warmup, self.device, self.model = make_trainer, max(1, warmup), device, None

    def run(self, steps: int) -> float:
        trainer = self.make_trainer(self.warmup + steps, self.model)
        timer = StepTimer(self.warmup, self.warmup + steps, self.device)
        trainer.add_callback(timer)
        trainer.train()
        self.model = trainer.model
        return timer.seconds


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def interleaved_steps_per_second(runners: dict, steps: int, rounds: int, warmup: int) -> dict[str, dict]:
    """Every runner does `warmup` steps, then `rounds` rounds of `steps` steps, the runners alternating."""
    for runner in runners.values():
        runner.run(warmup)
    rates = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            rates[name].append(steps / runner.run(steps))
    return {name: {"steps_per_s": statistics.median(r), "rounds": r} for name, r in rates.items()}


def throughput(dataset, store, arch_name: str, variants: list[str], args) -> dict[str, dict]:
    arch = ARCHS[arch_name]
    blog = BlogStyleCollator(dataset)
    stats = store.statistics()
    windows = DecisionWindows(store, K)
    vectorized = DecisionCollator(store, K, RETURN_SCALE, stats["state_mean"], stats["state_std"])
    generator = torch.Generator().manual_seed(0)
    runners = {"reference": ReferenceLoop(reference_model(arch, 0.1), lambda: blog(arch["batch_size"]), args.device)}
    if "reference + DecisionCollator" in variants:
        sample = lambda: vectorized(windows.sample(arch["batch_size"], generator))  # noqa: E731
        runners["reference + DecisionCollator"] = ReferenceLoop(reference_model(arch, 0.1), sample, args.device)
    for name in variants:
        if name in HF_VARIANTS:
            make = functools.partial(hf_trainer, store, arch, HF_VARIANTS[name], args.device)
            runners[name] = TrainerRounds(make, args.warmup, args.device)
    print(f"[{arch_name}] {len(runners)} variants × {args.rounds} rounds × {args.steps} steps", flush=True)
    result = interleaved_steps_per_second(runners, args.steps, args.rounds, args.warmup)
    reference = result["reference"]["rounds"]
    for entry in result.values():  # the median of per-round ratios survives load that changes between rounds
        entry["vs_reference"] = statistics.median(r / ref for r, ref in zip(entry["rounds"], reference, strict=True))
    return result


def collation_ms(dataset, store, batch_size: int, rounds: int, repeats: int = 10) -> dict[str, float]:
    blog = BlogStyleCollator(dataset)
    stats = store.statistics()
    windows, generator = DecisionWindows(store, K), torch.Generator().manual_seed(0)
    vectorized = DecisionCollator(store, K, RETURN_SCALE, stats["state_mean"], stats["state_std"])
    fns = {
        "blog_style": lambda: blog(batch_size),
        "DecisionCollator": lambda: vectorized(windows.sample(64, generator)),
    }
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            times[name].append(1e3 * (time.perf_counter() - start) / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


# --- numerics ---


def compare_losses(dataset, store, options: dict, dropout: float, steps: int, device: str) -> dict:
    """Train hf_decision (Trainer, `options`) and the reference from the same weights on the same batches."""
    arch = ARCHS["standard"]
    stats = store.statistics()
    reference = reference_model(arch, dropout)
    model = DecisionTransformerModel.from_transformers_dt(
        reference,
        context_length=K,
        state_mean=stats["state_mean"],
        state_std=stats["state_std"],
        attn_implementation=options.get("attn", "sdpa"),
    )
    options = {**options, "warmup_steps": 0, "logging_steps": 1}
    trainer = hf_trainer(store, arch, options, device, steps, model=model)
    batches, collate = [], trainer.data_collator

    def recording(starts):
        batch = collate(starts)
        batches.append({k: v.clone() for k, v in batch.items()})
        return batch

    trainer.data_collator = recording
    trainer.train()
    hf_losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    loop = ReferenceLoop(reference, None, device)
    ref_losses = [loop.step(batch).item() for batch in batches[:steps]]
    windows, generator = DecisionWindows(store, K), torch.Generator().manual_seed(1)
    held_out = [collate(windows.sample(64, generator)) for _ in range(8)]
    final = {}
    for name, m in (("hf_decision", trainer.model), ("reference", reference)):
        m.eval()
        with torch.no_grad():
            final[name] = statistics.mean(
                blog_loss(m, {k: v.to(device) for k, v in b.items()}).item() for b in held_out
            )
    rel = [abs(h - r) / abs(r) for h, r in zip(hf_losses, ref_losses, strict=True)]
    last10 = {"hf_decision": statistics.mean(hf_losses[-10:]), "reference": statistics.mean(ref_losses[-10:])}
    return {
        "options": options,
        "dropout": dropout,
        "steps": len(rel),
        "max_rel_loss_diff": max(rel),
        "last10_train_loss": last10,
        "final_eval_loss": final,
        "final_eval_rel_diff": abs(final["hf_decision"] - final["reference"]) / final["reference"],
    }  # fmt: skip


# --- peak RSS, each path in its own process ---


def rss_child(args) -> None:
    dataset, _ = load_data(args.data)
    arch = ARCHS[args.arch]
    if args.rss_child == "reference":
        blog = BlogStyleCollator(dataset)
        runner = ReferenceLoop(reference_model(arch, 0.1), lambda: blog(arch["batch_size"]), args.device)
        runner.run(args.rss_steps)
    else:
        options = RECOMMENDED if args.rss_child == "hf_recommended" else {}
        store = TrajectoryStore.from_dataset(dataset)
        hf_trainer(store, arch, options, args.device, args.rss_steps).train()
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def compile_child(args) -> None:
    """The torch_compile variants and the reference, alternating in this process alone."""
    dataset, _ = load_data(args.data)
    store = TrajectoryStore.from_dataset(dataset)
    result = throughput(dataset, store, "standard", COMPILED, args)
    print(json.dumps(result))


def compiled_throughput(args) -> dict[str, dict]:
    command = [sys.executable, __file__, "--compile_child", "--data", args.data, "--device", args.device]
    for name in ("threads", "steps", "rounds", "warmup"):
        command += [f"--{name}", str(getattr(args, name))]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """VmHWM of this process (ru_maxrss would include the parent's peak, inherited through fork and exec)."""
    status = "/proc/self/status"
    if os.path.exists(status):
        with open(status) as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes


def peak_rss(args, arch: str, steps: int) -> dict[str, float]:
    out = {}
    for path in ("reference", "hf_decision", "hf_recommended"):
        command = [sys.executable, __file__, "--rss_child", path, "--arch", arch, "--rss_steps", str(steps)]
        command += ["--data", args.data, "--device", args.device, "--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        out[path] = json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mib"]
    return out


def markdown(result: dict) -> str:
    lines = []
    for arch, rows in result.get("throughput", {}).items():
        lines += [f"**{arch}** (medians over rounds)", "", "| variant | steps/s | s/step | × reference |"]
        lines += ["| --- | ---: | ---: | ---: |"]
        for name, r in rows.items():
            lines.append(f"| {name} | {r['steps_per_s']:.2f} | {1 / r['steps_per_s']:.3f} | {r['vs_reference']:.2f} |")
        lines.append("")
    if "collation_ms" in result:
        c = result["collation_ms"]
        lines += [f"Collation of one batch of 64: blog-style {c['blog_style']:.1f} ms, "
                  f"DecisionCollator {c['DecisionCollator']:.2f} ms.", ""]  # fmt: skip
    for name, n in result.get("numerics", {}).items():
        lines.append(
            f"Numerics ({name}, {n['steps']} steps): max relative loss difference {n['max_rel_loss_diff']:.2e}, "
            f"final eval loss hf {n['final_eval_loss']['hf_decision']:.4f} vs reference "
            f"{n['final_eval_loss']['reference']:.4f} ({100 * n['final_eval_rel_diff']:.2f}%)."
        )
    for arch, rss in result.get("peak_rss_mib", {}).items():
        lines.append(f"Peak RSS ({arch}): " + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()) + ".")
    lines.append(f"\nThreads {result['threads']}, load average {result['load_before']} before, "
                 f"{result['load_after']} after.")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = shared_data_dir() / "hopper-v5" / "hopper-medium-replay.parquet" if shared_data_dir() else None
    parser.add_argument("--data", default=str(default_data or ""), help="Trajectory parquet; synthetic if missing.")
    parser.add_argument("--steps", type=int, default=10, help="Optimizer steps per variant and round.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds (standard config).")
    parser.add_argument("--warmup", type=int, default=3, help="Untimed steps per variant first.")
    parser.add_argument("--gpt2_steps", type=int, default=2, help="Steps per round with the GPT-2-small backbone.")
    parser.add_argument("--gpt2_rounds", type=int, default=3, help="Rounds with the GPT-2-small backbone.")
    parser.add_argument("--numerics_steps", type=int, default=50, help="Steps of each numerics comparison.")
    parser.add_argument("--rss_steps", type=int, default=5, help="Steps each RSS subprocess trains.")
    parser.add_argument("--sections", default="throughput,compile,numerics,gpt2,rss", help="Comma-separated sections.")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default).")
    parser.add_argument("--quick", action="store_true", help="Smoke run under a minute: tiny counts, no GPT-2.")
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where to write JSON and markdown.")
    parser.add_argument("--rss_child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--compile_child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--arch", default="standard", help=argparse.SUPPRESS)
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.rss_child:
        return rss_child(args)
    if args.compile_child:
        return compile_child(args)
    sections = set(args.sections.split(","))
    if args.quick:
        args.steps, args.rounds, args.warmup, args.numerics_steps, args.rss_steps = 2, 1, 1, 5, 2
        sections -= {"gpt2", "compile"}

    result = {"device": args.device, "threads": torch.get_num_threads(), "load_before": os.getloadavg()}
    dataset, result["data"] = load_data(args.data)
    store = TrajectoryStore.from_dataset(dataset)
    if "throughput" in sections:
        variants = ["reference + DecisionCollator", *(name for name in HF_VARIANTS if name not in COMPILED)]
        result["throughput"] = {"standard": throughput(dataset, store, "standard", variants, args)}
        result["collation_ms"] = collation_ms(dataset, store, 64, args.rounds)
    if "compile" in sections:
        result.setdefault("throughput", {})["standard, torch_compile in its own process"] = compiled_throughput(args)
    if "gpt2" in sections:
        gpt2 = argparse.Namespace(**{**vars(args), "steps": args.gpt2_steps, "rounds": args.gpt2_rounds, "warmup": 1})
        variants = ["hf_decision", "hf + bf16", RECOMMENDED_NAME]
        result.setdefault("throughput", {})["gpt2-small"] = throughput(dataset, store, "gpt2-small", variants, gpt2)
    if "numerics" in sections:
        steps = args.numerics_steps
        result["numerics"] = {
            "exact (fp32, dropout 0)": compare_losses(dataset, store, {}, 0.0, steps, args.device),
            "fp32, dropout 0.1": compare_losses(dataset, store, {}, 0.1, steps, args.device),
            "recommended (bf16, fast_dropout), dropout 0.1": compare_losses(
                dataset, store, RECOMMENDED, 0.1, steps, args.device
            ),
        }
    if "rss" in sections:
        result["peak_rss_mib"] = {"standard": peak_rss(args, "standard", args.rss_steps)}
        if "gpt2" in sections:
            result["peak_rss_mib"]["gpt2-small"] = peak_rss(args, "gpt2-small", 2)
    result["load_after"] = os.getloadavg()
    write_results(args.output_dir, "train_throughput", result, markdown(result))
    return result


if __name__ == "__main__":
    main()
