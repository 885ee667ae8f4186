import pytest
from transformers import HfArgumentParser

from hf_decision.commands.parsing import SHARED_GROUP, own_flags_first, parse_with_config
from hf_decision.commands.train_decision_transformer import ModelArguments, ScriptArguments
from hf_decision.trainers import DecisionTransformerTrainingConfig


def dt_parser() -> HfArgumentParser:
    return HfArgumentParser((ScriptArguments, ModelArguments, DecisionTransformerTrainingConfig))


def test_help_leads_with_the_commands_own_flags(capsys):
    with pytest.raises(SystemExit):
        parse_with_config(dt_parser(), ["--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: ") and len(text.split("options:")[0].splitlines()) <= 3  # a short usage line
    shared = text.index(SHARED_GROUP)
    for own in ("--dataset_name_or_path", "--context_length", "--lm_coef", "--eval_env_steps"):
        assert text.index(own) < shared, own  # script, model and DT-training flags come first
    for inherited in ("--learning_rate", "--max_steps", "--output_dir", "--seed"):
        assert text.index(inherited) > shared, inherited


def test_grouping_changes_nothing_in_what_is_parsed(tmp_path):
    argv = ["--dataset_name_or_path", "data", "--lm_coef", "0.5", "--max_steps", "7", "--output_dir", str(tmp_path)]
    plain = dt_parser().parse_args_into_dataclasses(args=argv)
    grouped = own_flags_first(own_flags_first(dt_parser()))  # twice: the second call is a no-op
    assert sum(group.title == SHARED_GROUP for group in grouped._action_groups) == 1
    assert grouped.parse_args_into_dataclasses(args=argv) == plain
