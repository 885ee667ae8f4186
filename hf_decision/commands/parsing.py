"""`HfArgumentParser` with a YAML config file whose values the command-line flags override."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import yaml
from transformers import HfArgumentParser, TrainingArguments

SHARED_GROUP = "Trainer options shared by every transformers Trainer (transformers.TrainingArguments)"


def own_flags_first(parser: HfArgumentParser) -> HfArgumentParser:
    """Move the ~100 flags every `TrainingArguments` has into their own help group, printed after the command's own
    flags (its script, model and algorithm options, including the ones its training config adds), so `--help`
    leads with what the command is about. Parsing is unchanged; calling it twice changes nothing."""
    if any(group.title == SHARED_GROUP for group in parser._action_groups):
        return parser
    if parser.usage is None:  # argparse's default lists every flag: over a hundred lines before the first help
        parser.usage = "%(prog)s [CONFIG.yaml | --config CONFIG.yaml] [--flag value ...]"
    shared = {field.name for field in dataclasses.fields(TrainingArguments)}
    moved = [action for action in parser._optionals._group_actions if action.dest in shared]
    if moved:
        group = parser.add_argument_group(SHARED_GROUP)
        for action in moved:
            parser._optionals._group_actions.remove(action)
            group._group_actions.append(action)
    return parser


def parse_with_config(parser: HfArgumentParser, argv: Sequence[str] | None = None) -> tuple:
    """Parse `argv` into the parser's dataclasses; `--config file.yaml` (or a lone `.yaml` argument) supplies
    defaults for any field, and explicit flags take precedence over it. Unknown YAML keys are an error. `--help`
    lists the command's own flags before those of `TrainingArguments` (see `own_flags_first`)."""
    own_flags_first(parser)
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
