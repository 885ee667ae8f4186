"""The whole pipeline on an embedded default, offline: `make demo`.

1. A pretrained GPT-2: `gpt2` from the Hub when it is reachable; otherwise a small GPT-2 pretrained here on local
   WikiText (`--text`, or `$HF_DECISION_TEXT`, default `../shared/data/wikitext-2-raw`), cached in
   `$HF_DECISION_CACHE` (default `~/.cache/hf_decision`) after the first run. Without any text the demo says so and
   goes on with λ = 0 and a randomly initialized backbone.
2. An offline CartPole-v1 dataset whose returns span the range: the `mixed` kind of the collection command's D4RL-style
   family (random, medium and expert episodes of a PPO agent trained here; its expert reaches the maximum return,
   500). PPO rather than the command's default DQN, which is unstable on CartPole and often never reaches 500 (see
   `hf_decision.collection.d4rl_family.TUNED_HYPERPARAMETERS`).
3. Fine-tune the GPT-2 into a Decision Transformer with λ·LM on the text, and behaviour cloning (the same
   architecture without returns) as the reference that cannot follow a target. Both without the per-timestep
   embedding (`condition_on_timesteps=False`): late in an episode the data holds only a few expert episodes, and a
   clock let the DT key its actions to the step index instead of the state.
4. Ask the DT for a sweep of target returns read off the dataset (`suggest_target_returns`: its 10 %, 50 % and 90 %
   quantiles and its best episode) and evaluate each with batched rollouts, BC once.
5. Save the agent folder (weights, config with statistics, model card with the achieved-vs-target plot, results.json
   with the evaluation at every target and BC's) and print one table: target → achieved return, next to BC, with a
   sentence on whether the DT followed the target.

    python -m hf_decision.commands.demo [--budget small|full] [--output_dir demo_outputs]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_decision.commands import console_script
from hf_decision.resources import cache_dir, shared_path

ENV_ID = "CartPole-v1"
TEXT_ENV = "HF_DECISION_TEXT"


@dataclass(frozen=True)
class Budget:
    pretrain_steps: int  # of the small GPT-2, when the Hub is unreachable
    pretrain_batch_size: int  # text sequences of 128 tokens per step (the tied 50,257-word head dominates its cost)
    agent_steps: int  # of the PPO agent whose checkpoints make the dataset (evaluated 12 times)
    dataset_steps: int  # env steps of each of the random, medium and expert parts of the dataset
    dt_steps: int  # gradient steps of the DT, and of BC
    eval_episodes: int  # per target return
    eval_every: int  # gradient steps between the evaluations of the learning curve


BUDGETS = {
    "small": Budget(
        pretrain_steps=100,
        pretrain_batch_size=4,
        agent_steps=50_000,
        dataset_steps=5_000,
        dt_steps=200,
        eval_episodes=10,
        eval_every=100,
    ),
    "full": Budget(
        pretrain_steps=300,
        pretrain_batch_size=4,
        agent_steps=50_000,
        dataset_steps=5_000,
        dt_steps=500,
        eval_episodes=20,
        eval_every=250,
    ),
}
DATASET_KIND = "mixed"
CHECKPOINTS = 12
ALGO = "PPO"


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


def pretrained_backbone(budget: Budget, text: Path | None, seed: int) -> tuple[str | None, dict]:
    """(backbone name or folder, language settings); (None, {}) when no text and no Hub."""
    if hub_reachable():
        say("the Hub is reachable: backbone `gpt2`, text Salesforce/wikitext (wikitext-103-raw-v1)")
        return "gpt2", {"lm_dataset": "Salesforce/wikitext", "lm_dataset_config": "wikitext-103-raw-v1"}
    go_offline()
    tokenizer = shared_path("gpt2-tokenizer")
    if text is None or tokenizer is None:
        say("no text corpus reachable (no Hub, no local WikiText or GPT-2 tokenizer): λ = 0, random backbone")
        return None, {}
    folder = cache_dir() / f"gpt2-wikitext2-{budget.pretrain_steps}x{budget.pretrain_batch_size}-seed{seed}"
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
    argv += ["--per_device_train_batch_size", str(budget.pretrain_batch_size), "--logging_steps", "25"]
    argv += ["--max_eval_blocks", "200"]  # the perplexity of the first 25,600 test tokens: seconds, not a minute
    from hf_decision.commands.parsing import parse_with_config

    result = pretrain(*parse_with_config(parser, argv))
    say(f"GPT-2 pretrained: test perplexity {result['perplexity']:.1f}")
    return str(folder), language


def collect_dataset(budget: Budget, seed: int):
    from hf_decision.collection import collect_d4rl_family
    from hf_decision.collection.d4rl_family import family_folder_name
    from hf_decision.data import load_trajectories

    folder = cache_dir() / f"cartpole-family-{ALGO.lower()}{budget.agent_steps}x{budget.dataset_steps}-seed{seed}"
    path = folder / family_folder_name(ENV_ID, DATASET_KIND)
    if not (path / "state.json").exists():
        say(
            f"collecting CartPole-v1 datasets: {ALGO} trains for {budget.agent_steps} steps and is evaluated "
            f"{CHECKPOINTS} times; random, medium and expert policies play {budget.dataset_steps} steps each"
        )
        collect_d4rl_family(
            ENV_ID,
            folder,
            train_steps=budget.agent_steps,
            algo=ALGO,
            steps_per_dataset=budget.dataset_steps,
            num_envs=4,
            seed=seed,
            num_checkpoints=CHECKPOINTS,
        )
    else:
        say(f"reusing the collected CartPole-v1 datasets in {folder}")
    return load_trajectories(path), path


def follows_target(per_target: dict[float, dict]) -> bool:
    """Whether the achieved return rises with the target: non-decreasing from one target to the next within one
    standard error of the difference, and at the highest target at least twice what it is at the lowest."""
    rows = [per_target[t] for t in sorted(per_target)]
    means = np.array([r["mean_return"] for r in rows])
    errors = np.array([np.std(r["returns"]) / np.sqrt(len(r["returns"])) for r in rows])
    steps_ok = means[1:] >= means[:-1] - np.sqrt(errors[1:] ** 2 + errors[:-1] ** 2)
    return bool(steps_ok.all() and means[-1] >= 2 * means[0])


def build_model(store, backbone: str | None, targets: list[float] | None, seed: int):
    """The DT (conditioned on `targets`), or BC when `targets` is None: the same architecture without returns.
    Seeded here: the new DT layers around the backbone are drawn from the global RNG, which pretraining and data
    collection have moved on a first run and not on a rerun with the cache."""
    from transformers import set_seed

    from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel

    set_seed(seed)

    config = dict(
        state_dim=store.state_dim,
        act_dim=2,
        action_space="discrete",
        max_ep_len=500,
        context_length=20,
        return_scale=100.0,
        target_returns=targets,
        condition_on_returns=targets is not None,
        # No clock: past step ~200 the only episodes are the 10 experts', and with the step index as an input the DT
        # keyed its actions to it and fell over well before 500 at the top target (the README's demo row has both);
        # the return-to-go still says how far the episode has come.
        condition_on_timesteps=False,
        env_id=ENV_ID,
    )
    if backbone:
        return DecisionTransformerModel.from_pretrained_backbone(backbone, **config).train()
    return DecisionTransformerModel(DecisionTransformerConfig(**config))


def train(model, store, budget: Budget, seed: int, lm_coef: float, language: dict, backbone: str | None, name: str):
    """Train `model` (the DT, or BC when `name` is "bc") on `store`; return it in eval mode, its training config and
    its evaluation history (the DT only). Nothing is saved during training: the agent folder is written after."""
    from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig

    output_dir = tempfile.mkdtemp(prefix=f"hf-decision-demo-{name}-")
    training_args = DecisionTransformerTrainingConfig(
        output_dir=output_dir,
        max_steps=budget.dt_steps,
        warmup_steps=20,
        learning_rate=1e-3,
        per_device_train_batch_size=32,
        fast_dropout=True,  # the same expectation as torch's dropout, cheaper masks (see the training config)
        logging_steps=max(budget.dt_steps // 5, 1),
        save_strategy="no",
        report_to="none",
        lm_coef=lm_coef,
        lm_tokenizer_name_or_path=backbone if lm_coef else None,
        lm_batch_size=1,
        lm_block_size=32,  # 32 tokens of text per step: the 50,257-word head costs the DT more than its windows do
        eval_env_steps=budget.eval_every if name == "dt" else 0,
        eval_env_episodes=5,  # per target, for the learning curve of the model card; the final evaluation has more
        seed=seed,
        disable_tqdm=True,
        **(language if lm_coef else {}),
    )
    trainer = DecisionTransformerTrainer(model, training_args, store)
    trainer.train()
    shutil.rmtree(output_dir, ignore_errors=True)
    history = [cb.history for cb in trainer.callback_handler.callbacks if hasattr(cb, "history")]
    return trainer.model.eval(), training_args, (history[0] if history else None)


def train_bc_in_folder(dataset_path: str, budget: Budget, seed: int, backbone: str | None, threads: int) -> str:
    """Train BC and save it into a new temporary folder (run in a second process beside the DT's training)."""
    import torch

    from hf_decision.data import TrajectoryStore, load_trajectories

    torch.set_num_threads(threads)
    store = TrajectoryStore.from_dataset(load_trajectories(dataset_path))
    bc, _, _ = train(build_model(store, backbone, None, seed), store, budget, seed, 0.0, {}, backbone, "bc")
    folder = tempfile.mkdtemp(prefix="hf-decision-demo-bc-model-")
    bc.save_pretrained(folder)
    return folder


def train_dt_and_bc(store, dataset_path, budget: Budget, seed: int, lm_coef: float, language: dict, backbone, targets):
    """Train the DT here and BC in a second process at the same time, half the cores each: on a few cores two small
    models trained side by side with one thread each finish sooner than one after the other with two threads each.
    With a single core, one after the other."""
    import torch

    from hf_decision.models.decision_transformer import DecisionTransformerModel

    cores = os.cpu_count() or 1
    if cores < 2:
        dt = train(build_model(store, backbone, targets, seed), store, budget, seed, lm_coef, language, backbone, "dt")
        say(f"behaviour cloning (the same architecture without returns), {budget.dt_steps} steps")
        bc, _, _ = train(build_model(store, backbone, None, seed), store, budget, seed, 0.0, language, backbone, "bc")
        return dt, bc
    threads = cores // 2
    say("behaviour cloning (the same architecture without returns) trains beside it in a second process")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        bc_folder = pool.submit(train_bc_in_folder, str(dataset_path), budget, seed, backbone, threads)
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            dt = train(
                build_model(store, backbone, targets, seed), store, budget, seed, lm_coef, language, backbone, "dt"
            )
        finally:
            torch.set_num_threads(previous)
        folder = bc_folder.result()
    bc = DecisionTransformerModel.from_pretrained(folder).eval()
    shutil.rmtree(folder, ignore_errors=True)
    return dt, bc


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

    backbone, language = pretrained_backbone(budget, local_text(args.text), args.seed)
    dataset, dataset_path = collect_dataset(budget, args.seed)

    from hf_decision.data import TrajectoryStore, suggest_target_returns
    from hf_decision.evaluation import evaluate
    from hf_decision.hub import save_agent_folder

    store = TrajectoryStore.from_dataset(dataset)
    stats = store.statistics()
    returns = store.episode_returns.numpy()
    targets = suggest_target_returns(returns, beyond=None)  # the best episode first, then the quantiles
    lm_coef = args.lm_coef if backbone else 0.0

    say(
        f"fine-tuning {'`' + backbone + '`' if backbone else 'a random GPT-2'} into a Decision Transformer on "
        f"{len(dataset)} episodes (returns {returns.min():g} to {returns.max():g}), {budget.dt_steps} steps, "
        f"λ = {lm_coef}"
    )
    (dt, training_args, history), bc = train_dt_and_bc(
        store, dataset_path, budget, args.seed, lm_coef, language, backbone, targets
    )

    sweep = sorted(targets)
    say(f"evaluating the DT at target returns {sweep} and BC: {budget.eval_episodes} episodes each, 20 envs")
    result = evaluate(dt, ENV_ID, target_return=sweep, n_episodes=budget.eval_episodes, num_envs=20, seed=1000)
    reference = evaluate(bc, ENV_ID, n_episodes=budget.eval_episodes, num_envs=20, seed=1000)
    reference.pop("target_return", None)
    agent_dir = save_agent_folder(
        dt,
        Path(args.output_dir) / "cartpole-decision-transformer",
        eval_results=result,
        dataset_id=str(dataset_path),
        history=history,
        training_args=training_args,
        dataset_statistics=stats,
        dataset_returns=returns.tolist(),
        references={"BC": reference},
    )
    per_target = {float(t): r for t, r in result["per_target"].items()}
    quantile_of = {targets[0]: "best episode"} | dict(zip(targets[1:], ("10 %", "50 %", "90 %"), strict=False))
    print()
    print(f"Dataset: {len(returns)} episodes, return {stats['return_mean']:.1f} ± {returns.std():.1f}")
    print("| target return | dataset quantile | DT achieved | BC (ignores the target) |")
    print("| ---: | :--- | ---: | ---: |")
    bc_cell = f"{reference['mean_return']:.1f} ± {reference['std_return']:.1f}"
    for target in sweep:
        r = per_target[target]
        label = quantile_of.get(target, "")
        print(f"| {target:g} | {label} | {r['mean_return']:.1f} ± {r['std_return']:.1f} | {bc_cell} |")
    low, high = per_target[sweep[0]]["mean_return"], per_target[sweep[-1]]["mean_return"]
    followed = follows_target(per_target)
    if followed:
        verdict = f"The Decision Transformer followed the target: asked for more, it got more ({low:.1f} → {high:.1f})"
    else:
        verdict = (
            f"The Decision Transformer did NOT follow the target ({low:.1f} at the lowest, {high:.1f} at the highest)"
        )
    print(f"\n{verdict}; BC, which cannot be asked, got {reference['mean_return']:.1f}.")
    print(f"Agent folder: {agent_dir.resolve()}  ({time.time() - start:.0f} s in all)")
    return {
        "dataset": stats,
        "evaluation": per_target,
        "bc": reference,
        "agent_dir": str(agent_dir),
        "follows_target": followed,
        "seconds": time.time() - start,
    }


run = console_script(main)


if __name__ == "__main__":
    main()
