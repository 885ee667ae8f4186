"""Fine-tune a GPT-2 checkpoint (or a randomly initialized GPT-2) into a Decision Transformer, with λ·LM.

    python scripts/train_decision_transformer.py --config scripts/configs/decision_transformer/hopper-v5.yaml \
        --backbone_name_or_path gpt2 --lm_coef 0.1 --output_dir runs/dt-hopper

With `--lora_r 16` the GPT-2 backbone is frozen and trained through LoRA adapters (the `lora` extra); the output is
then the adapter (with `--merge_lora`: a plain merged checkpoint, the adapter beside it in `adapter/`).

Every flag of `ScriptArguments`, `ModelArguments` and `DecisionTransformerTrainingConfig` (which includes all of
transformers' `TrainingArguments`) can be set in the YAML file or on the command line; the command line wins.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
from transformers import HfArgumentParser, set_seed

from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.data import TrajectoryStore, load_trajectories
from hf_decision.evaluation import evaluate
from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig

logger = logging.getLogger(__name__)


@dataclass
class ScriptArguments:
    dataset_name_or_path: str = field(
        default="edbeeching/decision_transformer_gym_replay",
        metadata={"help": "Trajectories: Hub id, save_to_disk folder, parquet file(s)/folder, D4RL HDF5, minari:ID."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub configuration (e.g. hopper-medium-v2)."})
    dataset_split: str = field(default="train", metadata={"help": "Split of the trajectory dataset."})
    action_space: str | None = field(
        default=None,
        metadata={
            "help": "'discrete' or 'continuous' actions; default: inferred (integer [T] actions are discrete). Set "
            "'discrete' for discrete actions stored as floats."
        },
    )
    env_id: str | None = field(
        default=None, metadata={"help": "Gymnasium id of the environment, stored in the model."}
    )
    final_eval_episodes: int = field(
        default=10, metadata={"help": "Episodes per target return evaluated after training (0: none)."}
    )
    merge_lora: bool = field(
        default=False,
        metadata={
            "help": "With --lora_r > 0: save the merged model, a plain checkpoint, in output_dir, and the adapter in "
            "output_dir/adapter (default: the adapter in output_dir, loaded onto the backbone its config names)."
        },
    )


@dataclass
class ModelArguments:
    backbone_name_or_path: str = field(
        default="",
        metadata={"help": "GPT-2 checkpoint (Hub id or folder) to initialize the backbone; empty: random init."},
    )
    context_length: int = field(default=20, metadata={"help": "K, the steps of context."})
    max_ep_len: int | None = field(
        default=None, metadata={"help": "Timestep embeddings; default: the longest dataset episode (≥ 1000)."}
    )
    return_scale: float = field(default=1000.0, metadata={"help": "Returns-to-go are divided by this."})
    target_returns: list[float] | None = field(
        default=None, metadata={"help": "Unscaled target returns for evaluation; default: the best dataset return."}
    )
    hidden_size: int = field(default=128, metadata={"help": "Hidden size of a randomly initialized backbone."})
    n_layer: int = field(default=3, metadata={"help": "Layers of a randomly initialized backbone."})
    n_head: int = field(default=1, metadata={"help": "Attention heads of a randomly initialized backbone."})
    activation_function: str = field(default="relu", metadata={"help": "Activation of a random backbone."})
    dropout: float = field(default=0.1, metadata={"help": "Residual, embedding and attention dropout."})
    action_tanh: bool = field(default=True, metadata={"help": "Squash continuous actions with tanh."})
    positional_embedding: str = field(
        default="constant", metadata={"help": "GPT-2 positions: 'constant' (wpe[0]) or 'sequence' (wpe[0..3K-1])."}
    )
    condition_on_returns: bool = field(
        default=True, metadata={"help": "False trains behaviour cloning (BC): the same model, blind to returns."}
    )
    stochastic_policy: bool = field(
        default=False,
        metadata={
            "help": "A stochastic policy trained by NLL − λ·entropy (the Online DT's offline phase; needed to "
            "fine-tune online with hf-decision-train-online)."
        },
    )
    init_temperature: float = field(default=0.1, metadata={"help": "λ at initialization (stochastic policy)."})
    target_entropy: float | None = field(
        default=None,
        metadata={"help": "β, the entropy λ is tuned to keep; default -act_dim (continuous), 0.5·log(act_dim)."},
    )


def build_model(model_args: ModelArguments, dataset_info: dict) -> DecisionTransformerModel:
    """A DT for the dataset's dimensions: from a pretrained backbone when given, else randomly initialized."""
    kwargs = dict(
        dataset_info,
        context_length=model_args.context_length,
        return_scale=model_args.return_scale,
        target_returns=model_args.target_returns,
        action_tanh=model_args.action_tanh,
        positional_embedding=model_args.positional_embedding,
        condition_on_returns=model_args.condition_on_returns,
        stochastic_policy=model_args.stochastic_policy,
        init_temperature=model_args.init_temperature,
        target_entropy=model_args.target_entropy,
        resid_pdrop=model_args.dropout,
        embd_pdrop=model_args.dropout,
        attn_pdrop=model_args.dropout,
    )
    if model_args.backbone_name_or_path:
        return DecisionTransformerModel.from_pretrained_backbone(model_args.backbone_name_or_path, **kwargs).train()
    config = DecisionTransformerConfig(
        **kwargs,
        hidden_size=model_args.hidden_size,
        n_layer=model_args.n_layer,
        n_head=model_args.n_head,
        activation_function=model_args.activation_function,
    )
    return DecisionTransformerModel(config)


def dataset_info(store: TrajectoryStore, env_id: str | None, max_ep_len: int | None) -> dict:
    """state_dim, act_dim, action_space, max_ep_len and env_id of a dataset (the env's action space wins)."""
    act_dim = store.act_dim
    if env_id is not None and store.discrete:
        act_dim = int(gym.make(env_id).action_space.n)
    longest = int(store.episode_lengths.max())
    return {
        "state_dim": store.state_dim,
        "act_dim": act_dim,
        "action_space": "discrete" if store.discrete else "continuous",
        "max_ep_len": max_ep_len or max(longest, 1000),
        "env_id": env_id,
    }


def main(script_args: ScriptArguments, model_args: ModelArguments, training_args: DecisionTransformerTrainingConfig):
    if script_args.merge_lora and training_args.lora_r == 0:
        raise ValueError("--merge_lora needs LoRA training (--lora_r > 0)")
    set_seed(training_args.seed)
    dataset = load_trajectories(
        script_args.dataset_name_or_path,
        config=script_args.dataset_config,
        split=script_args.dataset_split,
        action_space=script_args.action_space,
    )
    store = TrajectoryStore.from_dataset(dataset)
    model = build_model(model_args, dataset_info(store, script_args.env_id, model_args.max_ep_len))
    trainer = DecisionTransformerTrainer(model, training_args, store)
    if trainer.trainable_parameters is not None:
        trainable, total = trainer.trainable_parameters
        print(
            f"LoRA r={training_args.lora_r}: {trainable:,} of {total:,} parameters trainable ({trainable / total:.2%})"
        )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    output = Path(training_args.output_dir)
    model = save_trained_model(trainer, output, merge=script_args.merge_lora)
    # what the model card needs later (push_to_hub reads it): the data, its episode returns (drawn beside the
    # achieved-against-target plot) and the training settings
    results = {
        "dataset_id": script_args.dataset_name_or_path,
        "dataset": trainer.dataset_statistics,
        "dataset_returns": [round(float(r), 3) for r in store.episode_returns],
        "training_args": json.loads(training_args.to_json_string()),
    }
    if trainer.trainable_parameters is not None:
        results["trainable_parameters"] = dict(zip(("trainable", "total"), trainer.trainable_parameters, strict=True))
    if script_args.env_id and script_args.final_eval_episodes > 0:
        result = evaluate(
            model.eval(),
            script_args.env_id,
            n_episodes=script_args.final_eval_episodes,
            num_envs=min(10, script_args.final_eval_episodes),
            seed=training_args.seed,
        )
        per_target = result.get("per_target", {result["target_return"]: result})
        results["evaluation"] = {str(t): r for t, r in per_target.items()}
        for target, r in per_target.items():
            label = "no return conditioning (BC)" if target is None else f"target {target:g}"
            print(f"{label}: return {r['mean_return']:.1f} ± {r['std_return']:.1f}", end="")
            score = r["normalized_score"]
            print("" if score is None else f", D4RL normalized score {score:.1f} (0 random, 100 expert)")
    (output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"Saved the Decision Transformer to {output}")
    return trainer, results


def save_trained_model(trainer: DecisionTransformerTrainer, output: Path, merge: bool = False):
    """Save the trained model in `output` and return it: the model as trained, or with `merge` (LoRA only) the merged
    plain model, the adapter then going to `output/adapter`."""
    if not merge:
        trainer.save_model(str(output))
        return trainer.model
    # peft is the optional `lora` extra, present whenever LoRA trained
    from hf_decision.models.decision_transformer.lora import merge_lora

    trainer.save_model(str(output / "adapter"))
    merged = merge_lora(trainer.model)
    merged.save_pretrained(output)
    return merged


def cli(argv: list[str] | None = None):
    parser = HfArgumentParser((ScriptArguments, ModelArguments, DecisionTransformerTrainingConfig))
    return main(*parse_with_config(parser, argv if argv is not None else sys.argv[1:]))


run = console_script(cli)


if __name__ == "__main__":
    cli()
