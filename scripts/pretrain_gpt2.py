"""Pretrain a small GPT-2 on text; see `hf_decision.commands.pretrain_gpt2`."""

from hf_decision.commands.pretrain_gpt2 import cli

if __name__ == "__main__":
    cli()
