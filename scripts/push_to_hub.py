"""See `hf_decision.commands.push_to_hub`."""

from hf_decision.commands.push_to_hub import cli

if __name__ == "__main__":
    cli()
