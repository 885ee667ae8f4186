"""D4RL-style results table: Decision Transformers (random init, GPT-2 init, GPT-2 init + λ·LM), BC and d3rlpy's DT
and CQL on Hopper-v5, HalfCheetah-v5 and Walker2d-v5 × medium, medium-replay, medium-expert.

Every row trains for the same number of gradient steps on the same episodes and is evaluated every `eval_every`
steps in the same environment with the same episode seeds (episode j of seed s starts from `reset(seed=s + j)`), at
the env config's first target return for the DTs. Reported, as mean ± std over seeds: the D4RL-normalized score at
the last evaluation (final) and the best of the periodic evaluations (best); for the GPT-2-initialized rows, the
first evaluation step at which their seed-mean score reaches the random-init DT's final seed-mean score.

Rows: `dt` (`DecisionTransformerConfig`, random init, shape of `scripts/configs/decision_transformer/<env>.yaml`),
`dt_pretrained` (`DecisionTransformerModel.from_pretrained_backbone`: by default a GPT-2 of the same shape pretrained
here on the shared WikiText-2 and cached, or `--backbone gpt2` where the Hub is reachable), `dt_lm` (the same plus
λ·LM on the wiki text, `--lm_coef`), `dt_lora` (the same backbone fine-tuned with LoRA adapters of rank `--lora_r`
through peft instead of in full; not in any budget's default rows), `bc` (the DT without return conditioning),
`d3rlpy_dt` and `d3rlpy_cql` (d3rlpy 2.8.0 in its own venv, see `d3rlpy_peers.py`; "unavailable: <reason>" when it
cannot be installed or run).

Data: Hopper-v5 reads the shared parquet files; HalfCheetah-v5 and Walker2d-v5 read what `scripts/collect_dataset.py
--policy d4rl-family` wrote into `--data_dir` (absent datasets are skipped with a message saying how to collect them).
Each finished run is cached as JSON under `<output_dir>/results_table_runs/<budget>/`, so an interrupted run
continues where it stopped (`--rerun` ignores the cache), and `--cached_only` renders the runs of several
invocations into one table without training.

    python benchmarks/results_table.py --budget smoke      # about 2 minutes: 1 seed, 20 steps, Hopper medium
    python benchmarks/results_table.py --budget reduced    # under 30 min on 2 quiet CPU cores (see BUDGETS)
    python benchmarks/results_table.py --budget full --device cuda --data_dir data/d4rl --backbone gpt2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import d3rlpy_peers
import results_runs
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from results_report import aggregate, overall, plot_conditioning, plot_curves, render_table

ENVS = ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5")
DATASETS = ("medium", "medium-replay", "medium-expert")
ROWS = {
    "dt": "DT (random init)",
    "dt_pretrained": "DT (GPT-2 init)",
    "dt_lm": "DT (GPT-2 init) + λ·LM",
    "dt_lora": "DT (GPT-2 init, LoRA)",
    "bc": "BC (DT without returns)",
    "d3rlpy_dt": "d3rlpy DT",
    "d3rlpy_cql": "d3rlpy CQL",
    # experiment E2 of the d3rlpy question: does our DT lean on the clock? (not a method: a probe of one)
    "dt_no_timestep": "DT, timestep embedding zeroed and frozen",
}


@dataclass(frozen=True)
class Budget:
    steps: int  # gradient steps of every run
    eval_every: int
    eval_episodes: int  # per target
    seeds: tuple[int, ...]
    envs: tuple[str, ...]
    datasets: tuple[str, ...]
    pretrain_steps: int  # of the local GPT-2 (ignored with --backbone)
    pretrain_eval_lines: int | None  # its perplexity on the first lines of wiki.test.raw (None: all)
    warmup_steps: int
    learning_rate: float | None  # None: the env config's (1e-4, the DT recipe)
    batch_size: int | None  # None: the env config's (64)
    lm_batch_size: int
    recommended_cpu: bool = False  # our rows with fast_dropout, and bf16 autocast where the CPU has bf16 instructions
    target_sweep: bool = False  # after training, the DT rows at `suggest_target_returns(dataset)` too
    rows: tuple[str, ...] = tuple(ROWS)
    peer_seeds: tuple[int, ...] | None = None  # seeds of the d3rlpy rows (None: `seeds`)


BUDGETS = {
    # Plumbing only: every row end to end in about 2 minutes; the numbers mean nothing.
    "smoke": Budget(20, 10, 2, (0,), ("Hopper-v5",), ("medium",), 10, 100, 2, 1e-3, 16, 1),
    # Under 30 minutes on 2 quiet CPU cores for the whole table: Hopper medium, 300 steps, a compressed schedule.
    "reduced": Budget(300, 100, 5, (0, 1, 2), ("Hopper-v5",), ("medium",), 300, 500, 30, 6e-4, None, 2),
    # The budget the README reports: 5,000 steps of the DT recipe's lr (1e-4, 500 warmup), the recommended CPU
    # setting, 5 seeds of ours and 3 of d3rlpy's slower DT, a target sweep at the end. On one core of an AVX2-only
    # CPU (float32) about 25 min per run of ours and 40 per d3rlpy run.
    "cpu": Budget(
        5_000,
        1_000,
        10,
        (0, 1, 2, 3, 4),
        ("Hopper-v5",),
        DATASETS,
        1_000,
        500,
        500,
        1e-4,
        64,
        2,
        recommended_cpu=True,
        target_sweep=True,
        rows=("dt", "dt_pretrained", "dt_lm", "bc", "d3rlpy_dt"),
        peer_seeds=(0, 1, 2),
    ),
    # Experiments E0 and E2 of the d3rlpy question: the reduced recipe, 8 seeds x 20 episodes; DT, d3rlpy DT and a DT
    # without its timestep embedding.
    "gap": Budget(
        300,
        100,
        20,
        tuple(range(8)),
        ("Hopper-v5",),
        ("medium",),
        300,
        500,
        30,
        6e-4,
        None,
        2,
        rows=("dt", "d3rlpy_dt", "dt_no_timestep"),
    ),
    # The paper-like budget, meant for a GPU: the DT recipe (lr 1e-4, 10k warmup steps, batch 64) for 100k steps.
    "full": Budget(100_000, 5_000, 10, (0, 1, 2), ENVS, DATASETS, 800, None, 10_000, None, None, 4, target_sweep=True),
}


def budget_run_settings(budget: Budget, lm_coef: float = 0.0, lora_r: int = 8) -> results_runs.RunSettings:
    """What `results_runs.train_row` needs of a budget."""
    return results_runs.RunSettings(
        budget.steps, budget.warmup_steps, budget.learning_rate, budget.eval_every, budget.eval_episodes,
        budget.batch_size, lm_coef, budget.lm_batch_size, budget.recommended_cpu, lora_r,
    )  # fmt: skip


def all_runs(runs: dict) -> list[dict]:
    """Every run of `{env: {dataset: {"rows": {row: [run, ...]}}}}`, unavailable ones included."""
    cells = [cell for by_kind in runs.values() for cell in by_kind.values()]
    return [run for cell in cells for row in cell["rows"].values() for run in row]


def budget_line(name: str, budget: Budget, args, backbone_text: str, runs: dict) -> str:
    lr = f"lr {budget.learning_rate:g}" if budget.learning_rate else "lr of the env config (1e-4)"
    batch = budget.batch_size or "64 (env config)"
    bf16 = sum(bool(r.get("bf16")) for r in all_runs(runs) if "curve" in r and "worker_seconds" not in r)
    setting = ""
    if budget.recommended_cpu:
        setting = (
            " Our rows in the recommended CPU setting: fast_dropout, with bf16 autocast where the CPU has bf16 "
            f"instructions ({bf16} of these runs; the others float32)."
        )
    seeds = ", ".join(map(str, budget.seeds))
    if budget.peer_seeds is not None and any(r.startswith("d3rlpy") for r in args.rows):
        seeds += f" (d3rlpy rows: {', '.join(map(str, budget.peer_seeds))})"
    sweep = (
        " After training, each DT is also evaluated at the targets of its dataset's sweep."
        if budget.target_sweep
        else ""
    )
    peers = "; d3rlpy DT the same" if "d3rlpy_dt" in args.rows else ""
    peers += "; d3rlpy CQL its D4RL recipe" if "d3rlpy_cql" in args.rows else ""
    gpt2 = ""
    if set(results_runs.GPT2_ROWS) & set(args.rows):
        gpt2 = f" GPT-2 init: {backbone_text}"
        gpt2 += f"; λ = {args.lm_coef:g}" if "dt_lm" in args.rows else ""
        gpt2 += f"; LoRA rank {args.lora_r}" if "dt_lora" in args.rows else ""
        gpt2 += "."
    return (
        f"Budget `{name}` on {args.device}: {budget.steps:,} gradient steps per run (DT rows: batch {batch}, K = 20, "
        f"{lr}, {budget.warmup_steps:,} warmup steps{peers}), evaluation "
        f"every {budget.eval_every:,} steps with {budget.eval_episodes} episodes per target (episode seeds seed + "
        f"0..), seeds {seeds}.{setting}{sweep}{gpt2} "
        "D4RL-normalized scores of each run's mean return at the target; IQM and mean over seeds with 95 % "
        "stratified-bootstrap confidence intervals (rliable, 2,000 resamples)."
    )


def language_settings() -> dict:
    """Where the λ·LM row reads its text: the shared WikiText-2 (validation split: no train split ships here)."""
    wiki = results_runs.shared_path("wikitext-2-raw")
    if wiki is not None:
        return {"lm_dataset": str(wiki), "lm_dataset_config": None, "lm_split": "validation"}
    return {"lm_dataset": "Salesforce/wikitext", "lm_dataset_config": "wikitext-103-raw-v1"}


def backbone_key(args, budget: Budget, config: dict) -> str:
    """What the GPT-2 rows start from, as the cache key of their runs: `--backbone`, or the recipe of the local GPT-2
    (its measured perplexity is recorded in each run, not in the key, so a re-pretrained copy reuses the runs)."""
    if args.backbone:
        return f"`{args.backbone}`"
    shape = f"{config['n_layer']} layers × {config['hidden_size']}, {config['n_head']} head(s)"
    return f"GPT-2 ({shape}) pretrained {budget.pretrain_steps} steps on WikiText-2 here (seed 0)"


def resolve_backbone(args, budget: Budget, config: dict) -> tuple[str | None, str]:
    """(backbone or None, its description or the reason it is missing); pretrains the local GPT-2 when needed."""
    if args.backbone:
        return args.backbone, f"`{args.backbone}`"
    try:
        folder = results_runs.local_backbone(config, budget.pretrain_steps, args.device, budget.pretrain_eval_lines)
    except results_runs.RowUnavailable as error:  # no text to pretrain on: those rows say so
        return None, f"unavailable: {error}"
    done = json.loads((folder / "eval_results.json").read_text())
    perplexity = f"perplexity {done['perplexity']:.0f} on {Path(done['eval_file']).name}"
    return str(folder), backbone_key(args, budget, config).replace("(seed 0)", f"(seed 0, {perplexity})")


def add_run_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """`--output_dir`, `--rerun` and `--cached_only`: where a benchmark keeps its per-seed JSON (`RunCache`) and its
    rendered table, and whether it trains at all."""
    parser.add_argument("--output_dir", default="benchmarks/results", help="Where the per-seed JSON and table go.")
    parser.add_argument("--rerun", action="store_true", help="Ignore cached per-seed results.")
    parser.add_argument("--cached_only", action="store_true", help="Train nothing: render the committed runs.")


class RunCache:
    """One JSON per (env, dataset, row, seed); a cached result is reused only when its settings are the same."""

    def __init__(self, folder: Path, rerun: bool):
        self.folder, self.rerun = folder, rerun

    def path(self, env_id: str, kind: str, row: str, seed: int) -> Path:
        return self.folder / env_id / kind / row / f"seed{seed}.json"

    def get(self, key: tuple, settings: dict) -> dict | None:
        path = self.path(*key)
        if self.rerun or not path.exists():
            return None
        cached = json.loads(path.read_text())
        return cached if cached.get("settings") == settings else None

    def put(self, key: tuple, result: dict) -> None:
        self._write(self.path(*key), result)

    def dataset(self, env_id: str, kind: str, store, description: str) -> dict | None:
        """`{description, episode_returns}` of a cell's dataset, kept in `dataset.json` beside its runs, so the
        conditioning plots render from the cache alone; (re)written from `store` when the data is here."""
        path = self.folder / env_id / kind / "dataset.json"
        if store is not None:
            returns = store.episode_returns
            data = {"description": description, "episode_returns": [round(float(r), 1) for r in returns]}
            if not path.exists() or json.loads(path.read_text()) != data:
                self._write(path, data)
            return data
        return json.loads(path.read_text()) if path.exists() else None

    @staticmethod
    def _write(path: Path, content: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(content, indent=2))
        path.with_suffix(".tmp").replace(path)


def recorded_backbone(runs: dict) -> str | None:
    """The description (with its measured perplexity) a GPT-2 row's run recorded, if any ran."""
    for by_kind in runs.values():
        for cell in by_kind.values():
            for row in results_runs.GPT2_ROWS:
                for run in cell["rows"].get(row, []):
                    if run.get("backbone"):
                        return run["backbone"]
    return None


def peer_spec(row: str, files: list[str], env_id: str, config: dict, budget: Budget, seed: int, device: str) -> dict:
    dt = {k: config[k] for k in results_runs.MODEL_KEYS if k != "context_length"} | {
        "context_length": config["context_length"],
        "batch_size": budget.batch_size or config["per_device_train_batch_size"],
        "learning_rate": budget.learning_rate or config["learning_rate"],
        "weight_decay": config["weight_decay"],
        "max_grad_norm": config["max_grad_norm"],
        "warmup_steps": budget.warmup_steps,
    }
    return {
        "algo": "dt" if row == "d3rlpy_dt" else "cql",
        "files": files,
        "env_id": env_id,
        "seed": seed,
        "steps": budget.steps,
        "eval_every": budget.eval_every,
        "eval_episodes": budget.eval_episodes,
        "target_return": config["target_return"],
        "device": "cpu:0" if device == "cpu" else f"{device}:0" if ":" not in device else device,
        "dt": dt,
        "cql": d3rlpy_peers.CQL_HYPERPARAMETERS,
    }


def run_seeds(row: str, budget: Budget) -> tuple[int, ...]:
    """The seeds of a row: the budget's, and for the d3rlpy rows only those of them in `peer_seeds`."""
    if row.startswith("d3rlpy") and budget.peer_seeds is not None:
        return tuple(s for s in budget.seeds if s in budget.peer_seeds)
    return budget.seeds


def run_cell(env_id, kind, source, store, rows, budget, args, cache, context) -> dict[str, list[dict]]:
    """Every (row, seed) run of one (env, dataset): from the cache, or trained now on `store` (the episodes of
    `source`). Returns the runs per row."""
    config, files = context["config"], None
    results: dict[str, list[dict]] = {}
    for row in rows:
        results[row] = []
        for seed in run_seeds(row, budget):
            key = (env_id, kind, row, seed)
            settings = {"row": row, "env_config": config, "budget": context["settings"]}
            if row.startswith("d3rlpy"):
                settings |= {"d3rlpy": d3rlpy_peers.D3RLPY_SPEC, "cql": d3rlpy_peers.CQL_HYPERPARAMETERS}
            if row in results_runs.GPT2_ROWS:
                settings |= {"backbone": context["backbone_key"], "lm_coef": args.lm_coef if row == "dt_lm" else 0}
            if row == "dt_lora":  # alpha and dropout: DecisionTransformerTrainingConfig's defaults
                settings |= {"lora_r": args.lora_r}
            cached = cache.get(key, settings)
            if cached is not None:
                results[row].append(cached)
                continue
            if args.cached_only:
                continue
            print(f"[{time.strftime('%H:%M:%S')}] {env_id} {kind} {ROWS[row]} seed {seed}", flush=True)
            try:
                if row.startswith("d3rlpy"):
                    python = context.get("peer_python")
                    if isinstance(python, Exception):
                        raise python
                    files = files or results_runs.parquet_files(source, f"{env_id}-{kind}", cache.folder)
                    spec = peer_spec(row, files, env_id, config, budget, seed, args.device)
                    started = time.perf_counter()
                    outcome = d3rlpy_peers.run_peer(python, spec)
                    # the wall time of the whole call (venv start, imports, data) like the in-process rows' runs
                    outcome["worker_seconds"], outcome["seconds"] = outcome["seconds"], time.perf_counter() - started
                    outcome["curve"] = [
                        {"step": p["step"], "mean_return": sum(p["returns"]) / len(p["returns"]), **p}
                        for p in outcome["curve"]
                    ]
                else:
                    if row in results_runs.GPT2_ROWS:
                        if "backbone_text" not in context:  # pretrained on first use, never for cached runs
                            context["backbone"], context["backbone_text"] = resolve_backbone(args, budget, config)
                        if context["backbone"] is None:
                            raise results_runs.RowUnavailable(context["backbone_text"].removeprefix("unavailable: "))
                    sweep = results_runs.sweep_targets(store, config) if budget.target_sweep and row != "bc" else []
                    outcome = results_runs.train_row(
                        row, store, env_id, config, context["run_settings"], seed, args.device,
                        context.get("backbone"), context["language"], sweep,
                    )  # fmt: skip
                    if row in results_runs.GPT2_ROWS:
                        outcome["backbone"] = context["backbone_text"]
            except (d3rlpy_peers.PeerUnavailable, results_runs.RowUnavailable) as error:
                print(f"  unavailable: {error}", flush=True)
                results[row].append({"seed": seed, "unavailable": str(error)})
                continue
            outcome |= {"seed": seed, "settings": settings}
            print(f"  {outcome['seconds']:.0f} s; final mean return {outcome['curve'][-1]['mean_return']:.1f}")
            cache.put(key, outcome)
            results[row].append(outcome)
    return {row: runs for row, runs in results.items() if runs}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="reduced", help="See BUDGETS.")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (every row, d3rlpy included).")
    add_run_cache_arguments(parser)
    parser.add_argument("--data_dir", default=None, help="Folder of collected HalfCheetah/Walker2d families.")
    parser.add_argument("--backbone", default="", help="GPT-2 checkpoint for the GPT-2 rows (default: local one).")
    parser.add_argument("--lm_coef", type=float, default=0.1, help="λ of the language loss of the dt_lm row.")
    parser.add_argument("--lora_r", type=int, default=8, help="Rank of the LoRA adapters of the dt_lora row.")
    parser.add_argument(
        "--output_name",
        default=None,
        help="Base name of the table, JSON and plots (default: results_table_<budget>); the runs stay in the "
        "budget's folder, so another selection of rows can be rendered beside the main table.",
    )
    parser.add_argument(
        "--rows", nargs="+", choices=list(ROWS), default=None, help="Rows to run (default: the budget's)."
    )
    parser.add_argument("--envs", nargs="+", choices=ENVS, default=None, help="Override the budget's envs.")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None, help="Override its datasets.")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="Override the budget's seeds.")
    parser.add_argument("--d3rlpy_venv", default=None, help="d3rlpy's venv (default: in the hf_decision cache).")
    parser.add_argument("--no_d3rlpy_setup", action="store_true", help="Do not create d3rlpy's venv when missing.")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads here and in the d3rlpy worker (default: torch's). On a busy 2-core CPU, 1 avoids a "
        "several-fold slowdown of every step.",
    )
    args = parser.parse_args()
    results_runs.use_threads(args.threads)
    budget = BUDGETS[args.budget]
    budget = dataclasses.replace(
        budget,
        envs=tuple(args.envs or budget.envs),
        datasets=tuple(args.datasets or budget.datasets),
        seeds=tuple(args.seeds if args.seeds is not None else budget.seeds),
    )
    args.rows = args.rows or list(budget.rows)
    try:
        import mujoco  # noqa: F401
    except ImportError:
        if not args.cached_only:  # rendering cached runs needs no simulator
            parser.error("the MuJoCo envs need mujoco in this venv: pip install -e '.[mujoco]' (make results-table)")
    start = time.time()
    run_settings = budget_run_settings(budget, args.lm_coef, args.lora_r)
    settings = dataclasses.asdict(budget) | {"device": args.device}
    for key in ("seeds", "envs", "datasets", "rows", "peer_seeds"):
        settings.pop(key)
    cache = RunCache(Path(args.output_dir) / "results_table_runs" / args.budget, args.rerun)
    context: dict = {"settings": settings, "run_settings": run_settings, "language": language_settings()}
    if any(row.startswith("d3rlpy") for row in args.rows) and not args.cached_only:
        try:
            context["peer_python"] = d3rlpy_peers.ensure_venv(args.d3rlpy_venv, create=not args.no_d3rlpy_setup)
        except d3rlpy_peers.PeerUnavailable as error:
            print(f"d3rlpy rows unavailable: {error}")
            context["peer_python"] = error
    runs: dict = {}
    skipped: dict = {}
    backbone_text = "not run"
    for env_id in budget.envs:
        context["config"] = config = results_runs.env_config(env_id)
        context["backbone_key"] = backbone_text = backbone_key(args, budget, config)
        context.pop("backbone_text", None)
        for kind in budget.datasets:
            source, description = results_runs.dataset_source(env_id, kind, args.data_dir)
            store = results_runs.load_store(source) if source is not None else None
            data = cache.dataset(env_id, kind, store, description)
            if source is None and not (args.cached_only and data):
                print(f"skipping {env_id} {kind}: {description}")
                skipped.setdefault(env_id, {})[kind] = description
                continue
            cell = run_cell(env_id, kind, source, store, args.rows, budget, args, cache, context)
            if not cell:
                skipped.setdefault(env_id, {})[kind] = "no cached runs (--cached_only)"
                continue
            runs.setdefault(env_id, {})[kind] = {
                "data": data["description"],
                "rows": cell,
                "dataset_returns": data["episode_returns"],
            }

    cells = aggregate(runs, env_ids=budget.envs)
    summary = overall(cells)
    header = budget_line(args.budget, budget, args, recorded_backbone(runs) or backbone_text, runs)
    done = sum("curve" in r for r in all_runs(runs))
    planned = len(budget.envs) * len(budget.datasets) * sum(len(run_seeds(row, budget)) for row in args.rows)
    if done < planned:
        header += f" Runs in this table: {done} of the {planned} planned; the rest are still to run."
    table = render_table(header, cells, ROWS, skipped, summary)
    name = args.output_name or f"results_table_{args.budget}"
    plot = plot_curves(cells, ROWS, Path(args.output_dir) / f"{name}.png", title=f"budget `{args.budget}`")
    if plot is not None:
        table += f"\nLearning curves: `{plot}`\n"
    conditioning = plot_conditioning(
        cells, ROWS, Path(args.output_dir) / f"{name}_conditioning.png", title=f"budget `{args.budget}`"
    )
    if conditioning is not None:
        table += f"\nReturn conditioning: `{conditioning}`\n"
    result = {
        "budget": args.budget,
        "header": header,
        "settings": settings
        | {"seeds": budget.seeds, "peer_seeds": budget.peer_seeds, "envs": budget.envs, "datasets": budget.datasets},
        "lm_coef": args.lm_coef,
        "backbone": backbone_text,
        "cells": cells,
        "overall": summary,
        "skipped": skipped,
        "runs_dir": str(cache.folder),
        "seconds": time.time() - start,
    }
    write_results(args.output_dir, name, result, table)
    return result


if __name__ == "__main__":
    main()
