"""Publish a trained Decision Transformer: evaluate it (unless results are given), render its model card, and push
the agent folder (weights, config with statistics, card, results, evaluation plot, optional replay and ONNX export)
to the Hub. A LoRA fine-tune is pushed as its adapter (loaded onto the backbone its config names), or with
`--merge_lora` as a plain merged checkpoint.

    python scripts/push_to_hub.py --model_dir runs/dt-cartpole-v1 --repo_id <user>/dt-cartpole-v1 \
        --train_config scripts/configs/decision_transformer/cartpole-v1.yaml --record_video

With `--local_dir` (and no `--repo_id`) the same folder is written locally, offline. Every flag can also come from
`--config file.yaml`.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from huggingface_hub import constants as hf_constants
from transformers import AutoModel, HfArgumentParser

import hf_decision  # noqa: F401  (registers the hf_decision model types with AutoModel)
from hf_decision.cards import per_target_results, results_table
from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.evaluation import evaluate
from hf_decision.hub import push_agent_to_hub, save_agent_folder
from hf_decision.plots import history_from_log_history, record_video


@dataclass
class PushArguments:
    model_dir: str = field(metadata={"help": "Folder of a trained checkpoint (the training run's output_dir)."})
    repo_id: str | None = field(default=None, metadata={"help": "Hub model repo to push to (namespace/name)."})
    local_dir: str | None = field(
        default=None, metadata={"help": "Also (or, without --repo_id, only) write the agent folder here."}
    )
    evaluate: bool = field(
        default=True, metadata={"help": "Evaluate in the environment when no results file gives results."}
    )
    target_returns: list[float] | None = field(
        default=None, metadata={"help": "Target returns to evaluate; default: the model config's."}
    )
    n_episodes: int = field(default=10, metadata={"help": "Evaluation episodes per target return."})
    num_envs: int = field(default=10, metadata={"help": "Environments run in parallel during evaluation."})
    seed: int = field(default=0, metadata={"help": "Seed of the first evaluation episode and of the replay."})
    eval_results_file: str | None = field(
        default=None,
        metadata={
            "help": "JSON with an `evaluation` mapping target → result (scripts/evaluate.py output or training "
            "results.json); default: <model_dir>/results.json when it holds results."
        },
    )
    history_file: str | None = field(
        default=None,
        metadata={
            "help": "Evaluation history for the plot: a JSON list of {step, target_return, mean, std} or a "
            "trainer_state.json; default: the newest <model_dir>/checkpoint-*/trainer_state.json."
        },
    )
    train_config: str | None = field(
        default=None,
        metadata={
            "help": "The training YAML: its hyperparameters and dataset go into the card; default: the settings "
            "the training script saved in <model_dir>/results.json."
        },
    )
    dataset_id: str | None = field(
        default=None,
        metadata={"help": "Training dataset; default: that of --train_config, else the one results.json names."},
    )
    record_video: bool = field(default=False, metadata={"help": "Record one episode to replay.mp4 (`video` extra)."})
    video_max_steps: int = field(default=1000, metadata={"help": "Longest replay, in environment steps."})
    onnx: bool = field(
        default=False,
        metadata={"help": "Also export the model to model.onnx in the folder (`onnx` extra; hf_decision.export)."},
    )
    merge_lora: bool = field(
        default=False,
        metadata={
            "help": "When model_dir holds a LoRA adapter: push the merged plain checkpoint instead of the adapter "
            "(`lora` extra)."
        },
    )
    private: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})
    token: str | None = field(default=None, metadata={"help": "Hub token; default: HF_TOKEN or the saved login."})
    commit_message: str = field(
        default="Upload Decision Transformer agent with hf_decision", metadata={"help": "Message of the commit."}
    )
    license: str = field(default="other", metadata={"help": "License metadata of the card."})


def main(args: PushArguments) -> dict:
    if not args.repo_id and not args.local_dir:
        raise ValueError("nothing to do: pass --repo_id (push to the Hub) and/or --local_dir (write the folder)")
    offline = bool(args.repo_id) and hf_constants.HF_HUB_OFFLINE
    if offline and not args.local_dir:  # fail before evaluating or recording anything
        raise OSError(offline_push_hint(args))
    model_dir = Path(args.model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"--model_dir {model_dir}: no such folder (looked in {Path.cwd()})")
    if not (model_dir / "config.json").is_file():
        held = sorted(p.name for p in model_dir.iterdir())
        raise FileNotFoundError(
            f"--model_dir {model_dir} has no config.json, so it holds no trained model (it holds {held}); pass the "
            "training run's output_dir once training has saved the final model there"
        )
    model = AutoModel.from_pretrained(model_dir)  # a LoRA adapter folder loads onto the backbone its config names
    if args.merge_lora:
        if not hasattr(model, "peft_config"):
            raise ValueError(f"--merge_lora: {model_dir} holds no LoRA adapter (no adapter_config.json)")
        # peft is the optional `lora` extra, present whenever an adapter loaded
        from hf_decision.models.decision_transformer.lora import merge_lora

        model = merge_lora(model)
    elif args.onnx and hasattr(model, "peft_config"):  # fail before evaluating or recording anything
        raise ValueError(f"--onnx: {model_dir} holds a LoRA adapter; add --merge_lora to export the merged model")
    env_id = model.config.env_id
    if not env_id:
        raise ValueError(f"{model_dir}/config.json stores no env_id; the card and the evaluation need one")
    saved = _read_json(Path(args.eval_results_file) if args.eval_results_file else model_dir / "results.json")
    eval_results = per_target_results(saved.get("evaluation"))
    if not eval_results and args.evaluate:
        eval_results = per_target_results(
            evaluate(
                model,
                env_id,
                target_return=args.target_returns,
                n_episodes=args.n_episodes,
                num_envs=args.num_envs,
                seed=args.seed,
            )
        )
    if eval_results:
        print(results_table(eval_results))
    # the training YAML when given, else the settings the training script saved beside the model
    train_config = yaml.safe_load(Path(args.train_config).read_text()) if args.train_config else {}
    train_config = train_config or saved.get("training_args") or {}
    card_inputs = dict(
        eval_results=eval_results,
        dataset_id=args.dataset_id or train_config.get("dataset_name_or_path") or saved.get("dataset_id"),
        history=saved.get("history") or _history(args.history_file, model_dir),
        training_args=train_config or None,
        dataset_statistics=saved.get("dataset"),
        dataset_returns=saved.get("dataset_returns"),
        license=args.license,
        onnx=args.onnx,
    )
    outputs: dict = {}
    with tempfile.TemporaryDirectory(prefix="hf_decision-replay-") as tmp:
        if args.record_video:
            replay = record_video(
                model, env_id, Path(tmp) / "replay.mp4", seed=args.seed, max_steps=args.video_max_steps
            )
            print(f"Recorded a replay: return {replay['episode_return']:.1f} in {replay['length']} steps")
            card_inputs["video_path"] = replay["path"]
        if args.local_dir:
            outputs["local_dir"] = save_agent_folder(model, args.local_dir, repo_id=args.repo_id, **card_inputs)
            print(f"Wrote the agent folder {outputs['local_dir']}")
        if offline:  # the folder (its card naming repo_id) is written: it is all a later upload needs
            raise OSError(offline_push_hint(args))
        if args.repo_id:
            outputs["commit_url"] = push_agent_to_hub(
                model,
                args.repo_id,
                private=args.private,
                token=args.token,
                commit_message=args.commit_message,
                **card_inputs,
            )
            print(f"Pushed to {outputs['commit_url']}")
    return outputs


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _history(history_file: str | None, model_dir: Path) -> list[dict] | None:
    """History entries from a JSON list or a trainer_state.json; by default the newest checkpoint's trainer state."""
    if history_file is None:
        checkpoints = [p for p in model_dir.glob("checkpoint-*/trainer_state.json") if _step(p.parent.name) >= 0]
        candidates = sorted(checkpoints, key=lambda p: _step(p.parent.name)) or [model_dir / "trainer_state.json"]
        path = candidates[-1]
        if not path.is_file():
            return None
    else:
        path = Path(history_file)
    data = json.loads(path.read_text())
    history = history_from_log_history(data["log_history"]) if isinstance(data, dict) else data
    return history or None


def offline_push_hint(args: PushArguments) -> str:
    """What to do when `--repo_id` meets an offline machine: write the folder now, upload it where the Hub is."""
    upload = (
        f"on a machine that reaches the Hub, upload it as it is: `hf upload {args.repo_id} {args.local_dir or 'DIR'}`"
    )
    if args.local_dir:
        return f"HF_HUB_OFFLINE is set: the agent folder {args.local_dir} is written but not pushed; {upload}."
    return (
        f"--repo_id {args.repo_id} needs the Hugging Face Hub, and HF_HUB_OFFLINE is set. Add --local_dir DIR to "
        f"write the agent folder (its card names {args.repo_id}); then, {upload}."
    )


def _step(name: str) -> int:
    match = re.fullmatch(r"checkpoint-(\d+)", name)
    return int(match.group(1)) if match else -1


def cli(argv: list[str] | None = None) -> dict:
    (args,) = parse_with_config(HfArgumentParser(PushArguments), argv if argv is not None else sys.argv[1:])
    return main(args)


run = console_script(cli)


if __name__ == "__main__":
    cli()
