"""Train a policy with REINFORCE; see `hf_decision.commands.train_pg`."""

from hf_decision.commands.train_pg import cli

if __name__ == "__main__":
    cli()
