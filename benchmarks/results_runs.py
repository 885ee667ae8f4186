"""The runs behind `results_table.py`: where each (env, dataset) comes from, the small pretrained GPT-2, and one
training run of a Decision Transformer row (random init, GPT-2 init, GPT-2 init + λ·LM, BC) with its learning curve.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from transformers import PrinterCallback, set_seed

from hf_decision.collection.d4rl_family import family_folder_name
from hf_decision.commands.train_decision_transformer import ModelArguments, build_model, dataset_info
from hf_decision.data import TrajectoryStore, load_trajectories, suggest_target_returns
from hf_decision.evaluation import evaluate
from hf_decision.resources import cache_dir, shared_path
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig, cpu_has_fast_bf16
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback

CONFIGS = Path(__file__).resolve().parents[1] / "scripts" / "configs" / "decision_transformer"
# The rows that start from a pretrained GPT-2 backbone.
GPT2_ROWS = ("dt_pretrained", "dt_lm", "dt_lora")
# The YAML keys of scripts/configs/decision_transformer/<env>.yaml that every row shares.
MODEL_KEYS = ("context_length", "return_scale", "hidden_size", "n_layer", "n_head", "activation_function", "dropout")
OPTIM_KEYS = ("per_device_train_batch_size", "learning_rate", "weight_decay", "max_grad_norm")


def use_threads(threads: int | None) -> None:
    """torch's intra-op threads here, and OMP/MKL's for the subprocesses this one starts (the d3rlpy worker);
    None or 0 leaves torch's default."""
    if threads:
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)


class RowUnavailable(RuntimeError):
    """A row cannot run here (no text to pretrain its backbone on, ...); the table shows the message."""


def env_config(env_id: str) -> dict:
    """Model and optimizer settings of `env_id` from its YAML config, and its evaluation target (the first one)."""
    values = yaml.safe_load((CONFIGS / f"{env_id.lower()}.yaml").read_text())
    return {k: values[k] for k in MODEL_KEYS + OPTIM_KEYS} | {"target_return": float(values["target_returns"][0])}


def dataset_source(env_id: str, kind: str, data_dir: str | None) -> tuple[list[Path] | Path | None, str]:
    """(source, description) of an (env, D4RL kind) dataset, or (None, why it is missing and how to make it).

    Hopper-v5 reads the shared parquet files (medium-expert = medium + expert, concatenated as D4RL builds it).
    The others read a folder that `scripts/collect_dataset.py --policy d4rl-family` wrote: `<data_dir>/<name>-<kind>`
    or `<data_dir>/<name>/<name>-<kind>` (e.g. `halfcheetah-medium-replay`).
    """
    name = family_folder_name(env_id, kind)
    env_name = name[: -len(kind) - 1]
    if env_id == "Hopper-v5" and shared_path("hopper-v5") is not None:
        parts = ("medium", "expert") if kind == "medium-expert" else (kind,)
        files = [shared_path("hopper-v5") / f"hopper-{part}.parquet" for part in parts]
        if all(f.exists() for f in files):
            return files, " + ".join(f.name for f in files)
    if data_dir:
        for folder in (Path(data_dir) / name, Path(data_dir) / env_name / name):
            if (folder / "state.json").exists() or list(folder.glob("*.parquet")):
                return folder, str(folder)
    where = f"in --data_dir {data_dir}" if data_dir else "(no --data_dir given)"
    return None, (
        f"no {name} dataset {where}; collect it with `python scripts/collect_dataset.py --env_id {env_id} "
        f"--policy d4rl-family --train_steps 1000000 --num_steps 1000000 --output_dir <data_dir>/{env_name}`"
    )


def parquet_files(source: list[Path] | Path, store_name: str, work_dir: Path) -> list[str]:
    """The source as absolute paths of parquet files in the episode schema, for the d3rlpy worker (which runs in a
    folder of its own); a collected folder is exported."""
    if isinstance(source, list):
        return [str(Path(f).resolve()) for f in source]
    path = work_dir / "parquet" / f"{store_name}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        load_trajectories(source).to_parquet(str(path.with_suffix(".tmp")))
        path.with_suffix(".tmp").rename(path)
    return [str(path.resolve())]


def load_store(source: list[Path] | Path) -> TrajectoryStore:
    return TrajectoryStore.from_dataset(load_trajectories(source))


def local_backbone(config: dict, steps: int, device: str, eval_lines: int | None, seed: int = 0) -> Path:
    """A GPT-2 with the shape of the random-init DT (layers, width, heads) pretrained from scratch on the shared
    WikiText-2 by `hf_decision.commands.pretrain_gpt2`, cached in `cache_dir()` after the first call. Its perplexity
    (in the folder's `eval_results.json`) is measured on the first `eval_lines` lines of the held-out
    `wiki.test.raw` (all of it when None)."""
    from hf_decision.commands.pretrain_gpt2 import HAS_SHARED_WIKITEXT, PretrainArguments, PretrainTrainingArguments
    from hf_decision.commands.pretrain_gpt2 import main as pretrain

    shape = f"{config['n_layer']}x{config['hidden_size']}-{config['n_head']}heads"
    folder = cache_dir() / f"gpt2-wikitext2-{shape}-{steps}steps-seed{seed}"
    if (folder / "model.safetensors").exists():
        return folder
    if not HAS_SHARED_WIKITEXT or shared_path("gpt2-tokenizer") is None:
        raise RowUnavailable("no shared WikiText-2 and GPT-2 tokenizer to pretrain a GPT-2 on (pass --backbone gpt2)")
    print(f"pretraining a {shape} GPT-2 on WikiText-2 for {steps} steps (cached in {folder})", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    eval_file = shared_path("wikitext-2-raw", "wiki.test.raw")
    if eval_lines is not None:  # a slice of the test text: the perplexity of all of it costs minutes on a CPU
        lines = eval_file.read_text(encoding="utf-8").splitlines(keepends=True)[:eval_lines]
        eval_file = tmp / f"wiki.test.first{eval_lines}lines.raw"
        eval_file.write_text("".join(lines), encoding="utf-8")
    script_args = PretrainArguments(
        n_layer=config["n_layer"],
        n_embd=config["hidden_size"],
        n_head=config["n_head"],
        dropout=config["dropout"],
        eval_file=str(eval_file),
    )
    training_args = PretrainTrainingArguments(
        output_dir=str(tmp),
        max_steps=steps,
        seed=seed,
        report_to="none",
        disable_tqdm=True,
        logging_steps=max(steps // 4, 1),
        use_cpu=device == "cpu",
    )
    pretrain(script_args, training_args)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


@dataclass(frozen=True)
class RunSettings:
    """What one hf_decision run needs beyond the env's YAML config; also the key of its cached result."""

    steps: int
    warmup_steps: int
    learning_rate: float | None  # None: the env config's
    eval_every: int
    eval_episodes: int
    batch_size: int | None  # None: the env config's
    lm_coef: float
    lm_batch_size: int
    recommended_cpu: bool = False  # fast_dropout, and bf16 autocast where the CPU has bf16 instructions
    lora_r: int = 8  # rank of the dt_lora row's adapters (alpha and dropout: the training config's defaults)


def sweep_targets(store: TrajectoryStore, config: dict) -> list[float]:
    """The targets of the final sweep, ascending: `suggest_target_returns(store)` and the env config's target."""
    return sorted(set(suggest_target_returns(store)) | {config["target_return"]})


@torch.no_grad()
def conditioning_probe(model, collator, store: TrajectoryStore, windows: int = 512, seed: int = 0) -> dict:
    """How much the trained DT's newest action moves when its inputs are changed (experiment E2 of the d3rlpy
    question): every return-to-go × 1.5, or every timestep + 100, on `windows` complete K-step windows of the data
    drawn with `seed`. Mean absolute change per action dimension, and the mean absolute action for scale. A policy
    that follows the clock more than the return moves more under the timestep shift."""
    k = model.config.context_length
    lengths = store.episode_lengths[store.episode_of_step]
    starts = torch.nonzero(store.timesteps <= (lengths - k).clamp(min=0)).squeeze(1)
    starts = starts[torch.randperm(len(starts), generator=torch.Generator().manual_seed(seed))[:windows]]
    batch = {key: value for key, value in collator(starts).items() if key != "labels"}
    was_training = model.training
    model.eval()
    try:
        base = model(**batch).action_preds[:, -1]
        rtg = model(**{**batch, "returns_to_go": batch["returns_to_go"] * 1.5}).action_preds[:, -1]
        late = (batch["timesteps"] + 100).clamp(max=model.config.max_ep_len - 1) * batch["attention_mask"]
        time = model(**{**batch, "timesteps": late}).action_preds[:, -1]
    finally:
        model.train(was_training)
    return {
        "windows": len(starts),
        "mean_abs_action": float(base.abs().mean()),
        "rtg_x1.5": float((rtg - base).abs().mean()),
        "timestep_plus_100": float((time - base).abs().mean()),
    }


def evaluation_curve(trainer) -> list[dict]:
    """Step, mean and std of the episode returns of each periodic evaluation a trainer ran."""
    evaluation = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, EnvironmentEvaluationCallback))
    return [{"step": h["step"], "mean_return": h["mean"], "std_return": h["std"]} for h in evaluation.history]


def train_row(
    row: str,
    store: TrajectoryStore,
    env_id: str,
    config: dict,
    settings: RunSettings,
    seed: int,
    device: str,
    backbone: str | None,
    language: dict,
    sweep: list[float] | None = None,
    model_overrides: dict | None = None,
    save_to: str | Path | None = None,
) -> dict:
    """Train one row (`dt`, `dt_pretrained`, `dt_lm`, `dt_lora`, `bc`) and return its evaluation curve (step, mean
    and std of the episode returns at the env's target return), parameter count and wall time (training +
    evaluations).

    With `sweep`, the trained model is then evaluated at each of those targets (`eval_episodes` episodes each, the
    same episode seeds): `sweep` maps each target to its mean, std and episode returns. `model_overrides` are
    `ModelArguments` fields of the model (e.g. `stochastic_policy`); with `save_to` the trained model is saved
    there."""
    pretrained = row in GPT2_ROWS
    set_seed(seed)
    model_args = ModelArguments(
        backbone_name_or_path=backbone if pretrained else "",
        target_returns=[config["target_return"]],
        condition_on_returns=row != "bc",
        **{k: config[k] for k in MODEL_KEYS} | (model_overrides or {}),
    )
    model = build_model(model_args, dataset_info(store, env_id, None))
    if row == "dt_no_timestep":  # no clock: every token gets the same (zero) timestep embedding, kept at zero
        with torch.no_grad():
            model.embed_timestep.weight.zero_()
        model.embed_timestep.weight.requires_grad_(False)
    # bf16 is a speed knob (final loss within 0.1 %), recorded per run: emulated, without bf16 instructions, it is slow
    bf16 = settings.recommended_cpu and device == "cpu" and cpu_has_fast_bf16()
    lm = dict(language, lm_coef=settings.lm_coef, lm_batch_size=settings.lm_batch_size) if row == "dt_lm" else {}
    with tempfile.TemporaryDirectory(prefix="results-table-") as tmp:
        args = DecisionTransformerTrainingConfig(
            output_dir=tmp,
            max_steps=settings.steps,
            warmup_steps=settings.warmup_steps,
            learning_rate=settings.learning_rate or config["learning_rate"],
            per_device_train_batch_size=settings.batch_size or config["per_device_train_batch_size"],
            weight_decay=config["weight_decay"],
            max_grad_norm=config["max_grad_norm"],
            eval_env_steps=settings.eval_every,
            eval_env_episodes=settings.eval_episodes,
            eval_env_num_envs=min(10, settings.eval_episodes),
            seed=seed,
            save_strategy="no",
            report_to="none",
            logging_steps=settings.steps,
            disable_tqdm=True,
            use_cpu=device == "cpu",
            bf16=bf16,
            fast_dropout=settings.recommended_cpu,
            lora_r=settings.lora_r if row == "dt_lora" else 0,
            **lm,
        )
        trainer = DecisionTransformerTrainer(model, args, store)
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        if save_to is not None:
            trainer.save_model(str(save_to))
    result = {"curve": evaluation_curve(trainer), "seconds": seconds, "num_parameters": model.num_parameters()}
    result["bf16"] = bf16
    result["probe"] = conditioning_probe(model, trainer.data_collator, store, seed=seed)
    if sweep:
        start = time.perf_counter()
        swept = evaluate(
            model.eval(), env_id, target_return=sweep, n_episodes=settings.eval_episodes,
            num_envs=min(10, settings.eval_episodes), seed=seed,
        )  # fmt: skip
        per_target = swept.get("per_target", {swept["target_return"]: swept})
        result["sweep"] = [
            {
                "target_return": t,
                "mean_return": r["mean_return"],
                "std_return": r["std_return"],
                "returns": r["returns"],
            }
            for t, r in per_target.items()
        ]
        result["sweep_seconds"] = time.perf_counter() - start
    return result
