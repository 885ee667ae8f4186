"""Fine-tune an offline-trained stochastic Decision Transformer online (Online DT, Zheng, Zhang, Grover 2022).

    python scripts/train_decision_transformer.py --config scripts/configs/decision_transformer/cartpole-v1.yaml \\
        --stochastic_policy true --output_dir runs/dt-cartpole-v1-stochastic
    python scripts/train_online_decision_transformer.py \\
        --config scripts/configs/online_decision_transformer/cartpole-v1.yaml \\
        --model_name_or_path runs/dt-cartpole-v1-stochastic --output_dir runs/odt-cartpole-v1

The offline data fills the trajectory replay buffer (its best `replay_size` episodes). The model is evaluated before
and after the online phase; `results.json` records both, and the environment steps collected, which the model card
(`push_to_hub`) reports. Every flag of `ScriptArguments` and `OnlineDecisionTransformerConfig` can be set in the YAML
file or on the command line; the command line wins.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser, set_seed

from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.data import TrajectoryStore, load_trajectories
from hf_decision.evaluation import evaluate
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.trainers import OnlineDecisionTransformerConfig, OnlineDecisionTransformerTrainer


@dataclass
class ScriptArguments:
    model_name_or_path: str = field(
        metadata={"help": "The offline-trained Decision Transformer (folder or Hub id), with stochastic_policy."}
    )
    dataset_name_or_path: str = field(
        default="edbeeching/decision_transformer_gym_replay",
        metadata={"help": "The offline trajectories whose best episodes fill the replay buffer (as for training)."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub configuration (e.g. hopper-medium-v2)."})
    dataset_split: str = field(default="train", metadata={"help": "Split of the trajectory dataset."})
    action_space: str | None = field(
        default=None, metadata={"help": "'discrete' or 'continuous' actions; default: inferred from the data."}
    )
    final_eval_episodes: int = field(
        default=10, metadata={"help": "Episodes per target return evaluated before and after fine-tuning (0: none)."}
    )


def _evaluate(model: DecisionTransformerModel, env_id: str, episodes: int, seed: int) -> dict[str, Any]:
    result = evaluate(model.eval(), env_id, n_episodes=episodes, num_envs=min(10, episodes), seed=seed)
    per_target = result.get("per_target", {result["target_return"]: result})
    return {str(target): r for target, r in per_target.items()}


def main(script_args: ScriptArguments, training_args: OnlineDecisionTransformerConfig):
    set_seed(training_args.seed)
    model = DecisionTransformerModel.from_pretrained(script_args.model_name_or_path)
    dataset = load_trajectories(
        script_args.dataset_name_or_path,
        config=script_args.dataset_config,
        split=script_args.dataset_split,
        action_space=script_args.action_space,
    )
    store = TrajectoryStore.from_dataset(dataset)
    env_id = training_args.env_id or model.config.env_id
    episodes = script_args.final_eval_episodes if env_id else 0
    before = _evaluate(model, env_id, episodes, training_args.seed) if episodes > 0 else None
    trainer = OnlineDecisionTransformerTrainer(model.train(), training_args, store)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    source = trainer.online_source
    training = json.loads(training_args.to_json_string())
    training.update(
        online_env_steps=source.env_steps,
        online_episodes=source.episodes,
        exploration_target_return=source.exploration_target_return,
        base_model=script_args.model_name_or_path,
    )
    results: dict[str, Any] = {
        "dataset_id": script_args.dataset_name_or_path,
        "dataset": trainer.dataset_statistics,
        "dataset_returns": [round(float(r), 3) for r in store.episode_returns],
        "training_args": training,
    }
    if before is not None:
        results["evaluation_before_online"] = before
        results["evaluation"] = _evaluate(trainer.model, env_id, episodes, training_args.seed)
        for target, after in results["evaluation"].items():
            print(
                f"target {target}: return {before[target]['mean_return']:.1f} before online fine-tuning, "
                f"{after['mean_return']:.1f} ± {after['std_return']:.1f} after {source.env_steps} env steps"
            )
    output = Path(training_args.output_dir)
    (output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"Saved the online fine-tuned Decision Transformer to {output}")
    return trainer, results


def cli(argv: list[str] | None = None):
    parser = HfArgumentParser((ScriptArguments, OnlineDecisionTransformerConfig))
    return main(*parse_with_config(parser, argv if argv is not None else sys.argv[1:]))


run = console_script(cli)


if __name__ == "__main__":
    cli()
