"""Train a policy with REINFORCE; see `hf_decision.commands.train_reinforce`."""

from hf_decision.commands.train_reinforce import cli

if __name__ == "__main__":
    cli()
