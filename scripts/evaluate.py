"""See `hf_decision.commands.evaluate`."""

from hf_decision.commands.evaluate import cli

if __name__ == "__main__":
    cli()
