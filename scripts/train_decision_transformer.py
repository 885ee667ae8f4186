"""Fine-tune a GPT-2 into a Decision Transformer; see `hf_decision.commands.train_decision_transformer`."""

from hf_decision.commands.train_decision_transformer import cli

if __name__ == "__main__":
    cli()
