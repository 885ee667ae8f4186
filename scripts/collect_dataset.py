"""Collect an offline RL dataset; see `hf_decision.commands.collect_dataset`."""

from hf_decision.commands.collect_dataset import cli

if __name__ == "__main__":
    cli()
