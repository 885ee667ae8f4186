"""Train a policy with REINFORCE in a gymnasium env.

    python scripts/train_reinforce.py --config scripts/configs/reinforce/cartpole-v1.yaml --output_dir runs/pg-cartpole

Every flag of `ScriptArguments`, `PolicyArguments` and `ReinforceConfig` (all of transformers'
`TrainingArguments` included) can be set in the YAML file or on the command line; the command line wins.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import gymnasium as gym
from transformers import HfArgumentParser, set_seed

from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.commands.train_baseline import MLPArguments, finish
from hf_decision.models import PolicyConfig, PolicyModel
from hf_decision.trainers import ReinforceConfig, ReinforceTrainer


@dataclass
class ScriptArguments:
    final_eval_episodes: int = field(default=100, metadata={"help": "Episodes (mode of π) evaluated after training."})


@dataclass
class PolicyArguments(MLPArguments):
    log_std_init: float = field(default=0.0, metadata={"help": "Initial log-std of a Gaussian policy."})


def main(script_args: ScriptArguments, policy_args: PolicyArguments, training_args: ReinforceConfig):
    set_seed(training_args.seed)
    env = gym.make(training_args.env_id)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    config = PolicyConfig(
        state_dim=env.observation_space.shape[0],
        act_dim=int(env.action_space.n) if discrete else env.action_space.shape[0],
        action_space="discrete" if discrete else "continuous",
        hidden_sizes=policy_args.hidden_sizes,
        activation=policy_args.activation,
        log_std_init=policy_args.log_std_init,
        value_head=training_args.baseline == "learned",
    )
    trainer = ReinforceTrainer(PolicyModel(config), training_args)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    results = finish(trainer, training_args.env_id, script_args.final_eval_episodes, training_args.seed)
    return trainer, results


def cli(argv: list[str] | None = None):
    parser = HfArgumentParser((ScriptArguments, PolicyArguments, ReinforceConfig))
    return main(*parse_with_config(parser, argv if argv is not None else sys.argv[1:]))


run = console_script(cli)


if __name__ == "__main__":
    cli()
