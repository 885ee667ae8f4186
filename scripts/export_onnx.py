"""See `hf_decision.commands.export`."""

from hf_decision.commands.export import cli

if __name__ == "__main__":
    cli()
