"""Collect an offline RL dataset (or a D4RL-style family of them) and save it, optionally pushing it to the Hub.

    python scripts/collect_dataset.py --env_id CartPole-v1 --policy random --num_steps 10000
    python scripts/collect_dataset.py --env_id Hopper-v5 --policy sb3:ppo-hopper.zip --num_episodes 100
    python scripts/collect_dataset.py --env_id CartPole-v1 --policy d4rl-family --train_steps 100000 --output_dir out
    python scripts/collect_dataset.py --config configs/collect/cartpole.yaml --seed 1

Arguments can come from a YAML file of `field: value` pairs, given with `--config FILE` (flags on the command line
override its values) or as the only argument. With `--policy d4rl-family`, `--num_steps` is the size of each of the
random, medium and expert datasets, and `--hub_repo_id` is the prefix of the family's repos (`<id>-<kind>`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
from datasets import Dataset
from huggingface_hub import DatasetCard
from transformers import HfArgumentParser

from hf_decision.agents import Agent
from hf_decision.cards.dataset import dataset_card, episode_returns
from hf_decision.collection.collect import collect, push_collected, save_collected
from hf_decision.collection.d4rl_family import collect_d4rl_family, family_folder_name
from hf_decision.collection.policies import SB3Policy, make_policy
from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config

FAMILY = "d4rl-family"
DEFAULT_NUM_STEPS = 10_000


@dataclass
class CollectArguments:
    env_id: str = field(default="CartPole-v1", metadata={"help": "Gymnasium id of the environment."})
    policy: str = field(
        default="random",
        metadata={
            "help": "Behaviour policy: `random`, `sb3:PATH` (an SB3 model zip), `dt:PATH[@TARGET_RETURN]` (an "
            "hf_decision Decision Transformer), or `d4rl-family`."
        },
    )
    num_steps: int | None = field(
        default=None,
        metadata={
            "help": f"Collect complete episodes holding at least this many steps ({DEFAULT_NUM_STEPS} when "
            "--num_episodes is not given); per dataset for d4rl-family."
        },
    )
    num_episodes: int | None = field(default=None, metadata={"help": "Collect exactly this many complete episodes."})
    num_envs: int = field(default=8, metadata={"help": "Number of envs stepped together."})
    seed: int = field(default=0, metadata={"help": "Seeds the envs, the policy and (d4rl-family) the training."})
    output_dir: str | None = field(
        default=None, metadata={"help": "Folder to save into; `<env-name>-<policy>` when not given."}
    )
    deterministic: bool = field(default=False, metadata={"help": "Act with the SB3 policy's mode, not a sample."})
    push_to_hub: bool = field(default=False, metadata={"help": "Also push the dataset and its card to the Hub."})
    hub_repo_id: str | None = field(default=None, metadata={"help": "Hub dataset repo id (a prefix for the family)."})
    private: bool = field(default=False, metadata={"help": "Make the pushed Hub repos private."})
    license: str = field(default="other", metadata={"help": "License in the dataset card's metadata."})
    train_steps: int = field(default=100_000, metadata={"help": "d4rl-family: SB3 training steps."})
    num_checkpoints: int = field(default=10, metadata={"help": "d4rl-family: checkpoints saved and evaluated."})
    eval_episodes: int = field(default=10, metadata={"help": "d4rl-family: episodes per checkpoint evaluation."})


def parse_args(argv: Sequence[str] | None = None) -> CollectArguments:
    """Parse the command line, reading `--config FILE` (or a lone YAML path) for defaults."""
    (args,) = parse_with_config(HfArgumentParser(CollectArguments), list(sys.argv[1:] if argv is None else argv))
    return args


def summarize(dataset: Dataset, name: str, output_dir: Path) -> str:
    returns, lengths = episode_returns(dataset)
    return (
        f"{name}: {len(returns)} episodes, {int(lengths.sum())} steps, return {returns.mean():.2f} ± "
        f"{returns.std():.2f} (min {returns.min():.2f}, max {returns.max():.2f}), mean length {lengths.mean():.1f}; "
        f"saved to {output_dir}"
    )


def build_policy(args: CollectArguments) -> Agent:
    """The behaviour policy named by `args.policy`, seeded as `collect` would seed it."""
    if args.policy.startswith("sb3:") or args.policy.endswith(".zip"):
        return SB3Policy(args.policy.removeprefix("sb3:"), deterministic=args.deterministic, seed=args.seed)
    env = gym.make(args.env_id)
    try:
        return make_policy(args.policy, env, seed=args.seed, num_envs=args.num_envs)
    finally:
        env.close()


def main(args: CollectArguments) -> Dataset | dict[str, Dataset]:
    """Collect as `args` says, save (and push), print a summary, and return the dataset(s)."""
    repo_id = args.hub_repo_id
    if args.push_to_hub and not repo_id:
        raise ValueError("--push_to_hub needs --hub_repo_id")
    if args.policy == FAMILY:
        output_dir = Path(args.output_dir or family_folder_name(args.env_id, "d4rl"))
        family = collect_d4rl_family(
            args.env_id,
            output_dir,
            train_steps=args.train_steps,
            steps_per_dataset=args.num_steps or DEFAULT_NUM_STEPS,
            num_envs=args.num_envs,
            seed=args.seed,
            eval_episodes=args.eval_episodes,
            num_checkpoints=args.num_checkpoints,
            deterministic=args.deterministic,
            license=args.license,
        )
        for kind, dataset in family.items():
            folder = output_dir / family_folder_name(args.env_id, kind)
            if args.push_to_hub:
                card = DatasetCard.load(folder / "README.md")
                push_collected(dataset, f"{repo_id}-{kind}", card, private=args.private)
            print(summarize(dataset, kind, folder))
        return family

    num_steps = DEFAULT_NUM_STEPS if args.num_steps is None and args.num_episodes is None else args.num_steps
    policy = build_policy(args)
    dataset = collect(
        args.env_id,
        policy,
        num_steps=num_steps,
        num_episodes=args.num_episodes,
        num_envs=args.num_envs,
        seed=args.seed,
    )
    output_dir = Path(args.output_dir or family_folder_name(args.env_id, policy.name.split(":")[0]))
    source = repo_id if args.push_to_hub and repo_id else str(output_dir)
    card = dataset_card(
        dataset, env_id=args.env_id, policy_name=policy.name, seed=args.seed, license=args.license, source=source
    )
    save_collected(dataset, output_dir, card)
    if args.push_to_hub and repo_id:
        push_collected(dataset, repo_id, card, private=args.private)
    print(summarize(dataset, f"{args.env_id} with {policy.name}", output_dir))
    return dataset


def cli(argv: Sequence[str] | None = None):
    return main(parse_args(argv))


run = console_script(cli)


if __name__ == "__main__":
    cli()
