"""Train a DQN Q-network, online in a gymnasium env or offline from a trajectory dataset.

    python scripts/train_dqn.py --config scripts/configs/dqn/cartpole-v1.yaml --output_dir runs/dqn-cartpole
    python scripts/train_dqn.py --config scripts/configs/dqn/cartpole-v1-offline.yaml \
        --dataset_name_or_path datasets/cartpole-v1-medium-replay

Every flag of `ScriptArguments`, `MLPArguments` and `DQNConfig` (all of transformers' `TrainingArguments` included)
can be set in the YAML file or on the command line; the command line wins.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import gymnasium as gym
from transformers import HfArgumentParser, set_seed

from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.commands.train_baseline import MLPArguments, finish
from hf_decision.data import TrajectoryStore, load_trajectories
from hf_decision.models import QNetworkConfig, QNetworkModel
from hf_decision.trainers import DQNConfig, DQNTrainer


@dataclass
class ScriptArguments:
    dataset_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Offline: trajectories (Hub id, folder, parquet, HDF5, minari:ID). None: online in env_id."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub configuration of the dataset."})
    dataset_split: str = field(default="train", metadata={"help": "Split of the trajectory dataset."})
    final_eval_episodes: int = field(default=100, metadata={"help": "Greedy episodes evaluated after training."})


def main(script_args: ScriptArguments, mlp_args: MLPArguments, training_args: DQNConfig):
    set_seed(training_args.seed)
    store = None
    if script_args.dataset_name_or_path:
        dataset = load_trajectories(
            script_args.dataset_name_or_path, config=script_args.dataset_config, split=script_args.dataset_split
        )
        store = TrajectoryStore.from_dataset(dataset)
    if training_args.env_id is not None:
        env = gym.make(training_args.env_id)
        state_dim, act_dim = env.observation_space.shape[0], int(env.action_space.n)
    elif store is not None:
        state_dim, act_dim = store.state_dim, store.act_dim
    else:
        raise ValueError("give --dataset_name_or_path (offline) and/or --env_id (online, and evaluation)")
    config = QNetworkConfig(
        state_dim=state_dim,
        act_dim=act_dim,
        hidden_sizes=mlp_args.hidden_sizes,
        activation=mlp_args.activation,
    )
    trainer = DQNTrainer(QNetworkModel(config), training_args, train_dataset=store)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    results = finish(trainer, training_args.env_id, script_args.final_eval_episodes, training_args.seed)
    return trainer, results


def cli(argv: list[str] | None = None):
    parser = HfArgumentParser((ScriptArguments, MLPArguments, DQNConfig))
    return main(*parse_with_config(parser, argv if argv is not None else sys.argv[1:]))


run = console_script(cli)


if __name__ == "__main__":
    cli()
