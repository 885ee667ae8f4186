import json
import math
import random
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, GPT2LMHeadModel, HfArgumentParser

from hf_decision import DecisionTransformerModel
from hf_decision.commands.parsing import parse_with_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "scripts" / "configs" / "pretrain_gpt2" / "wikitext2_small.yaml"
SHARED_TOKENIZER = REPO.parent / "shared" / "data" / "gpt2-tokenizer"
needs_tokenizer = pytest.mark.skipif(
    not SHARED_TOKENIZER.is_dir(), reason="needs the GPT-2 tokenizer files in ../shared/data"
)


@pytest.fixture(scope="module")
def script():
    from hf_decision.commands import pretrain_gpt2

    return pretrain_gpt2


def write_corpus(path: Path, num_lines: int, seed: int) -> Path:
    """Short sentences over a dozen words: a unigram and bigram structure a tiny model learns in a few steps."""
    rng = random.Random(seed)
    subjects, verbs, objects = ["the cat", "a dog", "the bird"], ["sees", "chases", "likes"], ["the ball", "a tree"]
    lines = [f" {rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .\n" for _ in range(num_lines)]
    path.write_text("".join(lines))
    return path


def tiny_run(script, tmp_path, **overrides):
    script_args = script.PretrainArguments(
        lm_dataset=str(write_corpus(tmp_path / "train.txt", 300, seed=0)),
        tokenizer_name_or_path=str(SHARED_TOKENIZER),
        eval_file=str(write_corpus(tmp_path / "eval.txt", 60, seed=1)),
        n_layer=1,
        n_embd=16,
        n_head=2,
        n_positions=16,
        block_size=16,
    )
    training_args = script.PretrainTrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=40,
        per_device_train_batch_size=8,
        learning_rate=1e-2,
        warmup_steps=0,
        logging_steps=10,
        seed=0,
        disable_tqdm=True,
        **overrides,
    )
    return script_args, training_args


@needs_tokenizer
def test_pretraining_saves_a_loadable_gpt2_that_beats_its_initialization(script, tmp_path):
    script_args, training_args = tiny_run(script, tmp_path)
    results = script.main(script_args, training_args)
    out = tmp_path / "out"

    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer("Hello world!")["input_ids"] == [15496, 995, 0]
    model = GPT2LMHeadModel.from_pretrained(out)
    assert (model.config.n_layer, model.config.n_embd, model.config.vocab_size) == (1, 16, 50257)
    assert (out / "model.safetensors").is_file()
    dt = DecisionTransformerModel.from_pretrained_backbone(out, state_dim=3, act_dim=2)
    assert torch.equal(dt.transformer.wte.weight, model.transformer.wte.weight)

    saved = json.loads((out / "eval_results.json").read_text())
    assert math.isfinite(saved["perplexity"]) and saved["perplexity"] == results["perplexity"]
    blocks = script.text_blocks(script_args.eval_file, tokenizer, script_args.block_size)
    assert script.perplexity(model, blocks)["perplexity"] == pytest.approx(saved["perplexity"], rel=1e-4)

    torch.manual_seed(0)
    untrained = GPT2LMHeadModel(model.config)
    before = script.perplexity(untrained, blocks)["perplexity"]
    assert before > 10_000  # about the vocabulary size at initialization
    assert saved["perplexity"] < before / 10


@needs_tokenizer
def test_max_eval_blocks_reports_the_perplexity_of_the_first_blocks(script, tmp_path):
    script_args, training_args = tiny_run(script, tmp_path)
    script_args.max_eval_blocks = 3
    results = script.main(script_args, training_args)
    model = GPT2LMHeadModel.from_pretrained(tmp_path / "out")
    blocks = script.text_blocks(script_args.eval_file, AutoTokenizer.from_pretrained(tmp_path / "out"), 16)
    assert len(blocks) > 3 and results["eval_tokens"] == 3 * 15  # 15 predicted tokens per 16-token block
    assert results["perplexity"] == pytest.approx(script.perplexity(model, blocks[:3])["perplexity"], rel=1e-5)


@needs_tokenizer
def test_evaluating_on_training_text_is_refused(script, tmp_path):
    script_args, training_args = tiny_run(script, tmp_path)
    script_args.eval_file = script_args.lm_dataset
    with pytest.raises(ValueError, match="also training text"):
        script.main(script_args, training_args)


def test_the_recommended_config_parses_and_flags_override_it(script):
    parser = HfArgumentParser((script.PretrainArguments, script.PretrainTrainingArguments))
    script_args, training_args = parse_with_config(
        parser, [str(CONFIG), "--output_dir", "elsewhere", "--n_layer", "2"]
    )
    assert (script_args.n_layer, script_args.n_embd, script_args.n_head, script_args.block_size) == (2, 128, 4, 128)
    assert script_args.n_embd % script_args.n_head == 0
    assert training_args.output_dir == "elsewhere"
    assert training_args.lr_scheduler_type == "cosine" and not training_args.bf16
    same, _ = parse_with_config(parser, ["--config", str(CONFIG), "--block_size", "64"])
    assert same.block_size == 64 and same.n_layer == 4


@needs_tokenizer
def test_shared_tokenizer_folder_is_the_default(script):
    assert Path(script.PretrainArguments().tokenizer_name_or_path).resolve() == SHARED_TOKENIZER.resolve()
