"""Evaluate an agent (checkpoint folder or Hub id) in its environment: a Decision Transformer at one or several
target returns, a DQN Q-network greedily, a REINFORCE policy by the mode of π.

    python scripts/evaluate.py --model_name_or_path runs/dt-cartpole-v1 --target_returns 500 250 --n_episodes 20

Prints a table (target, mean ± std, normalized score) and writes the results as JSON, the format
`scripts/push_to_hub.py --eval_results_file` reads. Every flag can also come from `--config file.yaml`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoModel, HfArgumentParser

import hf_decision  # noqa: F401  (registers the hf_decision model types with AutoModel)
from hf_decision.cards import per_target_results, results_table
from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.evaluation import evaluate


@dataclass
class EvaluateArguments:
    model_name_or_path: str = field(metadata={"help": "Checkpoint folder or Hub id of an hf_decision agent."})
    revision: str | None = field(default=None, metadata={"help": "Hub revision (branch, tag or commit) to load."})
    env_id: str | None = field(default=None, metadata={"help": "Gymnasium id; default: the model config's env_id."})
    target_returns: list[float] | None = field(
        default=None, metadata={"help": "Unscaled target returns; default: the model config's target_returns."}
    )
    n_episodes: int = field(default=10, metadata={"help": "Episodes per target return."})
    num_envs: int = field(default=10, metadata={"help": "Environments run in parallel."})
    seed: int = field(default=0, metadata={"help": "Episode j is reset with seed `seed + j`."})
    output_file: str | None = field(
        default=None,
        metadata={
            "help": "Where to write the results as JSON; default: eval_results.json beside a local checkpoint (in "
            "the current folder for a Hub id); '' to skip."
        },
    )


def main(args: EvaluateArguments) -> dict:
    kwargs = {"revision": args.revision} if args.revision else {}
    model = AutoModel.from_pretrained(args.model_name_or_path, **kwargs)
    env_id = args.env_id or model.config.env_id
    if not env_id:
        raise ValueError(f"{args.model_name_or_path} stores no env_id: pass --env_id")
    result = evaluate(
        model,
        env_id,
        target_return=args.target_returns,
        n_episodes=args.n_episodes,
        num_envs=args.num_envs,
        seed=args.seed,
    )
    per_target = per_target_results(result)
    print(f"{args.model_name_or_path} in {env_id}: {args.n_episodes} episodes per target return, seed {args.seed}")
    print(results_table(per_target))
    report = {
        "model": args.model_name_or_path,
        "env_id": env_id,
        "n_episodes": args.n_episodes,
        "seed": args.seed,
        "evaluation": {str(target): r for target, r in per_target.items()},
    }
    output_file = args.output_file
    if output_file is None:
        local = Path(args.model_name_or_path)
        output_file = str(local / "eval_results.json") if local.is_dir() else "eval_results.json"
    if output_file:
        output = Path(output_file)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"Wrote {output}")
    return report


def cli(argv: list[str] | None = None) -> dict:
    (args,) = parse_with_config(HfArgumentParser(EvaluateArguments), argv if argv is not None else sys.argv[1:])
    return main(args)


run = console_script(cli)


if __name__ == "__main__":
    cli()
