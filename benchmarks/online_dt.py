"""Online DT on Hopper medium-replay: the return before and after online fine-tuning, and a control given the same
gradient steps offline.

Per seed, three arms evaluated at the env config's target (Hopper: 3600) with the same episode seeds:

- `offline`: the stochastic DT (`stochastic_policy`, the Online DT's offline phase) trained at the results table's
  `cpu` budget (5,000 steps, lr 1e-4 with 500 warmup steps, batch 64, K = 20, fast_dropout and bf16 where the CPU
  has bf16 instructions), evaluated every 1,000 steps: its final score is the return *before* online fine-tuning.
- `online`: that model fine-tuned by `OnlineDecisionTransformerTrainer` with the recipe of
  `scripts/configs/online_decision_transformer/hopper-v5.yaml` (replay buffer of the 1000 best offline episodes, one
  episode per round explored at target 7200, 300 gradient steps per round, constant lr 1e-4, weight decay 5e-4,
  clipping 0.25), except for the number of gradient steps (`--online_steps`) and the batch (`--batch_size`), which
  are cut to a CPU's budget.
- `control`: the same offline model trained for the same number of gradient steps with the same optimizer settings
  on the offline data alone, so that what the online arm gains over it comes from the collected episodes, not from
  more training.

Each seed's result is a JSON under `<output_dir>/online_dt_runs/`, committed as it lands; `--cached_only` renders the
table (IQM and mean with 95 % stratified-bootstrap CIs, rliable; probabilities of improvement) from them.

    python benchmarks/online_dt.py --seeds 0 1 2 --threads 1
    python benchmarks/online_dt.py --cached_only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import results_runs
import yaml
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from results_report import REPS, aggregate_row
from results_table import BUDGETS, RunCache, add_run_cache_arguments, budget_run_settings
from transformers import PrinterCallback

from hf_decision.aggregation import probability_of_improvement
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.resources import cache_dir
from hf_decision.trainers import (
    DecisionTransformerTrainer,
    DecisionTransformerTrainingConfig,
    OnlineDecisionTransformerConfig,
    OnlineDecisionTransformerTrainer,
    cpu_has_fast_bf16,
)

ODT_CONFIGS = Path(__file__).resolve().parents[1] / "scripts" / "configs" / "online_decision_transformer"
ARMS = {
    "offline": "offline stochastic DT (before)",
    "online": "+ online fine-tuning (after)",
    "control": "+ the same steps offline (control)",
}
# (X, Y): the probability that a seed of X beats a seed of Y, on final scores
PAIRS = (("online", "offline"), ("online", "control"), ("control", "offline"))
# ODT recipe keys shared by the online arm and its control, and those of the online arm alone
OPTIMIZER_KEYS = ("learning_rate", "weight_decay", "warmup_steps", "lr_scheduler_type", "max_grad_norm")
ONLINE_KEYS = (
    "num_envs",
    "replay_size",
    "episodes_per_round",
    "gradient_steps_per_round",
    "exploration_target_return",
)


def odt_recipe(env_id: str) -> dict:
    """The online phase's settings from the env's ODT config (the fields of `OnlineDecisionTransformerConfig`)."""
    values = yaml.safe_load((ODT_CONFIGS / f"{env_id.lower()}.yaml").read_text())
    fields = {f.name for f in dataclasses.fields(OnlineDecisionTransformerConfig)}
    return {k: v for k, v in values.items() if k in fields}


def fine_tune(arm: str, model_dir: Path, store, env_id: str, recipe: dict, args, seed: int) -> dict:
    """Train the offline model in `model_dir` for `args.online_steps` more gradient steps, online (`online`) or on
    the offline data (`control`), with the recipe's optimizer; its evaluation curve, wall time and env steps."""
    model = DecisionTransformerModel.from_pretrained(model_dir).train()
    bf16 = args.device == "cpu" and cpu_has_fast_bf16()
    with tempfile.TemporaryDirectory(prefix=f"online-dt-{arm}-") as tmp:
        common = {k: recipe[k] for k in OPTIMIZER_KEYS} | dict(
            output_dir=tmp, max_steps=args.online_steps, per_device_train_batch_size=args.batch_size, seed=seed,
            eval_env_steps=args.eval_every, eval_env_episodes=args.eval_episodes,
            eval_env_num_envs=min(10, args.eval_episodes), save_strategy="no", report_to="none",
            logging_steps=args.online_steps, disable_tqdm=True, use_cpu=args.device == "cpu", bf16=bf16,
            fast_dropout=True,
        )  # fmt: skip
        if arm == "online":
            online = {k: recipe[k] for k in ONLINE_KEYS}
            training = OnlineDecisionTransformerConfig(**common | online | {"env_id": env_id})
            trainer = OnlineDecisionTransformerTrainer(model, training, store)
        else:
            trainer = DecisionTransformerTrainer(model, DecisionTransformerTrainingConfig(**common), store)
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    result = {"curve": results_runs.evaluation_curve(trainer), "seconds": seconds, "bf16": bf16}
    if arm == "online":
        source = trainer.online_source
        result |= {"env_steps": source.env_steps, "episodes": source.episodes}
    return result


def run_seed(env_id: str, kind: str, store, args, seed: int) -> dict:
    """The three arms of one seed; the offline model is kept in the cache folder, so an interrupted seed goes on
    from it."""
    config = results_runs.env_config(env_id)
    folder = cache_dir() / f"online-dt-{env_id}-{kind}-{args.budget}-offline-seed{seed}"
    offline_file = folder / "offline_result.json"
    if offline_file.exists() and (folder / "model.safetensors").exists():
        offline = json.loads(offline_file.read_text())
    else:
        offline = results_runs.train_row(
            "dt", store, env_id, config, budget_run_settings(BUDGETS[args.budget]), seed, args.device, None, {},
            model_overrides={"stochastic_policy": True}, save_to=folder,
        )  # fmt: skip
        offline_file.write_text(json.dumps(offline))
    recipe = odt_recipe(env_id)
    result = {"seed": seed, "offline": offline}
    for arm in ("online", "control"):
        print(f"[{time.strftime('%H:%M:%S')}] {env_id} {kind} seed {seed}: {arm}", flush=True)
        result[arm] = fine_tune(arm, folder, store, env_id, recipe, args, seed)
        print(f"  {result[arm]['seconds']:.0f} s; final mean return {result[arm]['curve'][-1]['mean_return']:.1f}")
    return result


def render(env_id: str, kind: str, runs: list[dict], header: str) -> tuple[dict, str]:
    """Per arm, `results_report.aggregate_row` of its runs (final = last evaluation, best = best of the arm's own
    evaluations); the probabilities of improvement in `PAIRS` on final scores."""
    arms = {arm: aggregate_row(env_id, [{"seed": r["seed"], **r[arm]} for r in runs], reps=REPS) for arm in ARMS}
    improvement = {
        f"{x} > {y}": probability_of_improvement(
            arms[x]["final"]["values"], arms[y]["final"]["values"], reps=REPS
        ).as_dict()
        for x, y in PAIRS
    }
    env_steps = [r["online"]["env_steps"] for r in runs]
    lines = [
        header,
        "",
        "| Arm | Seeds | Final: IQM [95 % CI] | Final: mean [95 % CI] | Best: IQM [95 % CI] | Per seed (final) "
        "| Wall time / seed |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for arm, label in ARMS.items():
        row = arms[arm]
        iqm, mean, best = row["final"]["iqm"], row["final"]["mean_ci"], row["best"]["iqm"]
        lines.append(
            f"| {label} | {len(row['seeds'])} | {iqm['value']:.1f} [{iqm['low']:.1f}, {iqm['high']:.1f}] "
            f"| {mean['value']:.1f} [{mean['low']:.1f}, {mean['high']:.1f}] "
            f"| {best['value']:.1f} [{best['low']:.1f}, {best['high']:.1f}] "
            f"| {' / '.join(f'{v:.1f}' for v in row['final']['values'])} | {row['seconds_per_run']:.0f} s |"
        )
    lines += [
        "",
        f"Online phase: {int(np.mean(env_steps)):,} env steps on average ({min(env_steps):,}–{max(env_steps):,}), "
        f"{int(np.mean([r['online']['episodes'] for r in runs]))} episodes per seed.",
        "",
        "| P(X > Y) on final scores [95 % CI] | value |",
        "| --- | ---: |",
    ]
    for (x, y), p in zip(PAIRS, improvement.values(), strict=True):
        lines.append(f"| {ARMS[x]} > {ARMS[y]} | {p['value']:.2f} [{p['low']:.2f}, {p['high']:.2f}] |")
    return {"arms": arms, "improvement": improvement, "env_steps": env_steps}, "\n".join(lines) + "\n"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env_id", default="Hopper-v5", help="An env with shared data (Hopper-v5).")
    parser.add_argument("--dataset", default="medium-replay", help="Its dataset.")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--budget", choices=("cpu", "smoke"), default="cpu", help="Of the offline phase (smoke: plumbing only)."
    )
    parser.add_argument("--online_steps", type=int, default=9000, help="Gradient steps of the online phase.")
    parser.add_argument("--batch_size", type=int, default=64, help="Batch of the online phase and the control.")
    parser.add_argument("--eval_every", type=int, default=3000, help="Evaluation interval of both arms.")
    parser.add_argument("--eval_episodes", type=int, default=10, help="Episodes per evaluation.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 beside another run).")
    add_run_cache_arguments(parser)
    args = parser.parse_args()
    results_runs.use_threads(args.threads)
    budget = BUDGETS[args.budget]
    settings = {
        "offline": dataclasses.asdict(budget_run_settings(budget)) | {"stochastic_policy": True},
        "online_recipe": odt_recipe(args.env_id),
        "online_steps": args.online_steps,
        "batch_size": args.batch_size,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "device": args.device,
    }
    cache = RunCache(Path(args.output_dir) / "online_dt_runs" / args.budget, args.rerun)
    store = None
    runs = []
    for seed in args.seeds:
        key = (args.env_id, args.dataset, "odt", seed)
        cached = cache.get(key, settings)
        if cached is None and not args.cached_only:
            if store is None:
                source, _ = results_runs.dataset_source(args.env_id, args.dataset, None)
                if source is None:
                    parser.error(f"no shared data for {args.env_id} {args.dataset}")
                store = results_runs.load_store(source)
            cached = run_seed(args.env_id, args.dataset, store, args, seed) | {"settings": settings}
            cache.put(key, cached)
        if cached is not None:
            runs.append(cached)
    if not runs:
        parser.error("no runs to render")
    target = results_runs.env_config(args.env_id)["target_return"]
    header = (
        f"Online DT, {args.env_id} {args.dataset}: the stochastic DT at the `{args.budget}` budget "
        f"({budget.steps:,} steps), then {args.online_steps:,} gradient steps (batch {args.batch_size}) online with "
        f"ODT's recipe, or the same steps offline (control); D4RL-normalized return at target {target:g}, "
        f"{args.eval_episodes} episodes per evaluation, "
        f"evaluations every {args.eval_every:,} steps; seeds {', '.join(str(r['seed']) for r in runs)}. IQM and mean "
        "over seeds with 95 % stratified-bootstrap CIs (rliable, 2,000 resamples)."
    )
    summary, table = render(args.env_id, args.dataset, runs, header)
    result = {"header": header, "settings": settings, **summary}
    write_results(args.output_dir, f"online_dt_{args.budget}", result, table)
    return result


if __name__ == "__main__":
    main()
