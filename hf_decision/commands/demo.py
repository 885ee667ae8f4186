"""The whole pipeline on an embedded default, offline: `make demo`.

1. A pretrained GPT-2: `gpt2` from the Hub when it is reachable; otherwise a small GPT-2 pretrained here on local
   WikiText (`--text`, or `$HF_DECISION_TEXT`, default `../shared/data/wikitext-2-raw`), cached in
   `$HF_DECISION_CACHE` (default `~/.cache/hf_decision`) after the first run. Without any text the demo says so and
   goes on with λ = 0 and a randomly initialized backbone.
2. An offline CartPole-v1 dataset of mixed quality (medium-replay: every episode a DQN played while learning, up to
   the checkpoint at a third of its best return), made by the collection command.
3. Fine-tune the GPT-2 into a Decision Transformer with λ·LM on the text.
4. Evaluate with batched rollouts at two target returns.
5. Save the agent folder (weights, config with statistics, model card, evaluation plot) and print a results table.

    python -m hf_decision.commands.demo [--budget small|full] [--output_dir demo_outputs]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_decision.resources import cache_dir, shared_path

ENV_ID = "CartPole-v1"
TEXT_ENV = "HF_DECISION_TEXT"


@dataclass(frozen=True)
class Budget:
    pretrain_steps: int
    dqn_steps: int
    dt_steps: int
    eval_episodes: int
    eval_every: int


BUDGETS = {
    "small": Budget(pretrain_steps=100, dqn_steps=8_000, dt_steps=300, eval_episodes=10, eval_every=150),
    "full": Budget(pretrain_steps=500, dqn_steps=8_000, dt_steps=800, eval_episodes=20, eval_every=200),
}


def say(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def hub_reachable(timeout: float = 5.0) -> bool:
    """Whether `gpt2` can be fetched from the Hub (never when HF_HUB_OFFLINE is set)."""
    from huggingface_hub import constants, model_info

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        model_info("gpt2", timeout=timeout)
        return True
    except Exception:
        return False


def go_offline() -> None:
    """Make every later Hub call fail at once instead of waiting for a network that is not there."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True


def local_text(text: str | None) -> Path | None:
    for candidate in (text, os.environ.get(TEXT_ENV)):
        if candidate:
            return Path(candidate) if Path(candidate).exists() else None
    return shared_path("wikitext-2-raw")


def pretrained_backbone(budget_name: str, budget: Budget, text: Path | None, seed: int) -> tuple[str | None, dict]:
    """(backbone name or folder, language settings); (None, {}) when no text and no Hub."""
    if hub_reachable():
        say("the Hub is reachable: backbone `gpt2`, text Salesforce/wikitext (wikitext-103-raw-v1)")
        return "gpt2", {"lm_dataset": "Salesforce/wikitext", "lm_dataset_config": "wikitext-103-raw-v1"}
    go_offline()
    tokenizer = shared_path("gpt2-tokenizer")
    if text is None or tokenizer is None:
        say("no text corpus reachable (no Hub, no local WikiText or GPT-2 tokenizer): λ = 0, random backbone")
        return None, {}
    folder = cache_dir() / f"gpt2-wikitext2-{budget_name}-seed{seed}"
    # WikiText-2 ships no train split here: the language loss reads the validation text (the test text stays held out).
    language = {"lm_dataset": str(text), "lm_dataset_config": None, "lm_split": "validation"}
    if (folder / "model.safetensors").exists():
        say(f"the Hub is unreachable: reusing the small GPT-2 pretrained on {text} ({folder})")
        return str(folder), language
    say(f"the Hub is unreachable: pretraining a small GPT-2 on {text} ({budget.pretrain_steps} steps)")
    from transformers import HfArgumentParser

    from hf_decision.commands.pretrain_gpt2 import PretrainArguments, PretrainTrainingArguments
    from hf_decision.commands.pretrain_gpt2 import main as pretrain

    config = Path(__file__).resolve().parents[2] / "scripts" / "configs" / "pretrain_gpt2" / "wikitext2_small.yaml"
    parser = HfArgumentParser((PretrainArguments, PretrainTrainingArguments))
    argv = [str(config)] if config.exists() else []
    argv += ["--lm_dataset", str(text), "--tokenizer_name_or_path", str(tokenizer), "--output_dir", str(folder)]
    argv += ["--max_steps", str(budget.pretrain_steps), "--seed", str(seed), "--report_to", "none"]
    from hf_decision.commands.parsing import parse_with_config

    result = pretrain(*parse_with_config(parser, argv))
    say(f"GPT-2 pretrained: test perplexity {result['perplexity']:.1f}")
    return str(folder), language


def collect_dataset(budget: Budget, seed: int):
    from hf_decision.data import collect_d4rl_family, load_trajectories

    folder = cache_dir() / f"cartpole-family-{budget.dqn_steps}-seed{seed}"
    replay = folder / "cartpole-medium-replay"
    if not (replay / "state.json").exists():
        say(f"collecting CartPole-v1 datasets: DQN for {budget.dqn_steps} steps, every training episode recorded")
        collect_d4rl_family(
            ENV_ID, folder, train_steps=budget.dqn_steps, steps_per_dataset=2000, num_envs=4, seed=seed
        )
    else:
        say(f"reusing the collected CartPole-v1 datasets in {folder}")
    return load_trajectories(replay), replay


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full", help="small: a couple of minutes.")
    parser.add_argument("--output_dir", default="demo_outputs", help="Where the agent folder is written.")
    parser.add_argument("--text", default=None, help=f"Local text for the language loss (or ${TEXT_ENV}).")
    parser.add_argument("--lm_coef", type=float, default=0.1, help="λ of the language loss.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of everything.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    budget = BUDGETS[args.budget]
    start = time.time()

    backbone, language = pretrained_backbone(args.budget, budget, local_text(args.text), args.seed)
    dataset, dataset_path = collect_dataset(budget, args.seed)

    from hf_decision.data import TrajectoryStore
    from hf_decision.evaluation import evaluate
    from hf_decision.hub import save_agent_folder
    from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel
    from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig

    store = TrajectoryStore.from_dataset(dataset)
    stats = store.statistics()
    targets = sorted({500.0, float(np.round(stats["return_max"]))}, reverse=True)
    targets = targets if len(targets) > 1 else [500.0, 250.0]
    dt_config = dict(
        state_dim=store.state_dim,
        act_dim=2,
        action_space="discrete",
        max_ep_len=500,
        context_length=20,
        return_scale=100.0,
        target_returns=targets,
        env_id=ENV_ID,
    )
    lm_coef = args.lm_coef if backbone else 0.0
    if backbone:
        model = DecisionTransformerModel.from_pretrained_backbone(backbone, **dt_config).train()
    else:
        model = DecisionTransformerModel(DecisionTransformerConfig(**dt_config))
    run_dir = Path(args.output_dir) / "run"
    training_args = DecisionTransformerTrainingConfig(
        output_dir=str(run_dir),
        max_steps=budget.dt_steps,
        warmup_steps=20,
        learning_rate=1e-3,
        logging_steps=max(budget.dt_steps // 10, 1),
        save_strategy="no",
        report_to="none",
        lm_coef=lm_coef,
        lm_tokenizer_name_or_path=backbone,
        lm_batch_size=2,
        eval_env_steps=budget.eval_every,
        eval_env_episodes=10,
        seed=args.seed,
        disable_tqdm=True,
        **language,
    )
    say(
        f"fine-tuning {'`' + backbone + '`' if backbone else 'a random GPT-2'} into a Decision Transformer on "
        f"{len(dataset)} episodes, {budget.dt_steps} steps, λ = {lm_coef}"
    )
    trainer = DecisionTransformerTrainer(model, training_args, store)
    trainer.train()
    history = next(cb for cb in trainer.callback_handler.callbacks if hasattr(cb, "history")).history

    say(f"evaluating at target returns {targets}: {budget.eval_episodes} episodes each, 10 envs")
    result = evaluate(trainer.model.eval(), ENV_ID, target_return=targets, n_episodes=budget.eval_episodes, seed=1000)
    agent_dir = save_agent_folder(
        trainer.model,
        Path(args.output_dir) / "cartpole-decision-transformer",
        eval_results=result,
        dataset_id=str(dataset_path),
        history=history,
        training_args=training_args,
        dataset_statistics=stats,
        dataset_returns=store.episode_returns.tolist(),
    )
    per_target = result["per_target"]
    rows = [
        ("dataset: mean episode return", f"{stats['return_mean']:.1f}"),
        ("dataset: max episode return", f"{stats['return_max']:.1f}"),
    ]
    rows += [
        (f"DT, target return {t:g}", f"{r['mean_return']:.1f} ± {r['std_return']:.1f}") for t, r in per_target.items()
    ]
    width = max(len(name) for name, _ in rows)
    print()
    print(f"| {'':{width}} | return |")
    print(f"| {'-' * width} | ---: |")
    for name, value in rows:
        print(f"| {name:{width}} | {value} |")
    best = max(r["mean_return"] for r in per_target.values())
    verdict = "beats" if best > stats["return_mean"] else "does NOT beat"
    print(
        f"\nThe Decision Transformer {verdict} the dataset's mean episode return "
        f"({best:.1f} vs {stats['return_mean']:.1f})."
    )
    print(f"Agent folder: {agent_dir.resolve()}  ({time.time() - start:.0f} s in all)")
    return {
        "dataset": stats,
        "evaluation": per_target,
        "agent_dir": str(agent_dir),
        "beats_dataset_mean": best > stats["return_mean"],
    }


if __name__ == "__main__":
    main()
