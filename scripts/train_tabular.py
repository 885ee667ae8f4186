"""Tabular baselines (FQI, model-based, Monte Carlo) on a toy-text env; see `hf_decision.commands.train_tabular`."""

from hf_decision.commands.train_tabular import cli

if __name__ == "__main__":
    cli()
