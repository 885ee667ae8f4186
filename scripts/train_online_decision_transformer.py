"""Fine-tune an offline-trained Decision Transformer online (Online DT); see
`hf_decision.commands.train_online_decision_transformer`."""

from hf_decision.commands.train_online_decision_transformer import cli

if __name__ == "__main__":
    cli()
