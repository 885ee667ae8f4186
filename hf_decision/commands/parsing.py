"""`HfArgumentParser` with a YAML config file whose values the command-line flags override."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import yaml
from transformers import HfArgumentParser


def parse_with_config(parser: HfArgumentParser, argv: Sequence[str] | None = None) -> tuple:
    """Parse `argv` into the parser's dataclasses; `--config file.yaml` (or a lone `.yaml` argument) supplies
    defaults for any field, and explicit flags take precedence over it. Unknown YAML keys are an error."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    if known.config is None and rest and rest[0].endswith((".yaml", ".yml")):
        known.config, rest = rest[0], rest[1:]
    if known.config is not None:
        values = yaml.safe_load(Path(known.config).read_text()) or {}
        fields = {action.dest for action in parser._actions}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(f"{known.config}: unknown keys {unknown}")
        parser.set_defaults(**values)
        # Fields required on the command line are satisfied by the file.
        for action in parser._actions:
            if action.dest in values:
                action.required = False
    return parser.parse_args_into_dataclasses(args=rest)
