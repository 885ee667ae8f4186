"""Train a DQN Q-network, online or offline; see `hf_decision.commands.train_dqn`."""

from hf_decision.commands.train_dqn import cli

if __name__ == "__main__":
    cli()
