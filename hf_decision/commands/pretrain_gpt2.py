"""Pretrain a small GPT-2 from scratch on text: the offline stand-in for the Hub's `gpt2` checkpoint.

    python scripts/pretrain_gpt2.py scripts/configs/pretrain_gpt2/wikitext2_small.yaml --output_dir runs/gpt2-small
    python scripts/pretrain_gpt2.py --config scripts/configs/pretrain_gpt2/wikitext2_small.yaml --max_steps 50
    python scripts/pretrain_gpt2.py --lm_dataset Salesforce/wikitext --lm_config wikitext-103-raw-v1 --n_layer 6

Arguments can come from a YAML file of `field: value` pairs (this script's fields and any `TrainingArguments`
field), given with `--config FILE` or as the first argument; flags on the command line override its values.

The model is a `GPT2LMHeadModel` with random initialization, the tokenizer's vocabulary and the sizes given here,
trained with the causal-LM objective by `transformers.Trainer` on blocks of `block_size` tokens. The model and its
tokenizer are saved (safetensors) to `--output_dir`, where `AutoTokenizer`, `GPT2LMHeadModel` and
`DecisionTransformerModel.from_pretrained_backbone` read them. At the end, the perplexity exp(mean next-token NLL)
on `--eval_file`, in non-overlapping blocks of `block_size` tokens, is printed and written to
`<output_dir>/eval_results.json`.

By default it reads the data in `../shared/data` (see `hf_decision.resources.shared_data_dir`): the GPT-2
tokenizer files and WikiText-2 raw. That copy has no train split, so the model trains on `wiki.valid.raw` and is
evaluated on the held-out `wiki.test.raw`; the script refuses to evaluate on a file it trained on. Without the
shared folder, it reads `Salesforce/wikitext` (train split) and the `gpt2` tokenizer from the Hub and evaluates on
the dataset's test split.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import (
    DataCollatorForLanguageModeling,
    GPT2Config,
    GPT2LMHeadModel,
    HfArgumentParser,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)

from hf_decision.commands import console_script
from hf_decision.commands.parsing import parse_with_config
from hf_decision.data.text import block_tensor, load_text, load_tokenizer, resolve_text_files, tokenize_and_group
from hf_decision.resources import shared_path

SHARED_WIKITEXT = shared_path("wikitext-2-raw")
SHARED_TOKENIZER = shared_path("gpt2-tokenizer")
HAS_SHARED_WIKITEXT = (
    SHARED_WIKITEXT is not None
    and (SHARED_WIKITEXT / "wiki.valid.raw").is_file()
    and (SHARED_WIKITEXT / "wiki.test.raw").is_file()
)


@dataclass
class PretrainArguments:
    lm_dataset: str = field(
        default=str(SHARED_WIKITEXT) if HAS_SHARED_WIKITEXT else "Salesforce/wikitext",
        metadata={"help": "Training text: a Hub dataset id, a text file or a folder of *.raw / *.txt files."},
    )
    lm_config: str | None = field(
        default="wikitext-2-raw-v1", metadata={"help": "Hub configuration of `lm_dataset` (ignored for local text)."}
    )
    lm_split: str = field(
        default="validation" if HAS_SHARED_WIKITEXT else "train",
        metadata={
            "help": "Split of `lm_dataset` to train on (`validation` for the shared WikiText-2, which has no "
            "train split)."
        },
    )
    tokenizer_name_or_path: str = field(
        default=str(SHARED_TOKENIZER) if SHARED_TOKENIZER is not None else "gpt2",
        metadata={
            "help": "Tokenizer: a Hub id, a saved tokenizer folder, or a folder with GPT-2's vocab.json and "
            "merges.txt. Its vocabulary sizes the model."
        },
    )
    eval_file: str | None = field(
        default=str(SHARED_WIKITEXT / "wiki.test.raw") if HAS_SHARED_WIKITEXT else None,
        metadata={"help": "Text file whose perplexity is reported; default: the `test` split of `lm_dataset`."},
    )
    max_eval_blocks: int | None = field(
        default=None,
        metadata={"help": "Evaluate the perplexity on the first this many blocks of the eval text only (None: all)."},
    )
    n_layer: int = field(default=4, metadata={"help": "Transformer blocks."})
    n_embd: int = field(default=128, metadata={"help": "Hidden size; a multiple of n_head."})
    n_head: int = field(default=4, metadata={"help": "Attention heads per block."})
    n_positions: int = field(
        default=1024, metadata={"help": "Learned positions (GPT-2's 1024); those past block_size stay untrained."}
    )
    block_size: int = field(default=128, metadata={"help": "Tokens per training and evaluation sequence."})
    dropout: float = field(default=0.1, metadata={"help": "Residual, embedding and attention dropout."})


@dataclass
class PretrainTrainingArguments(TrainingArguments):
    """`TrainingArguments` with defaults for a small model trained from scratch on CPU."""

    output_dir: str | None = field(default="runs/gpt2-small", metadata={"help": "Where the model is saved."})
    max_steps: int = field(default=800, metadata={"help": "Optimizer steps."})
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Blocks per training batch."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Peak AdamW learning rate."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule after warmup."})
    warmup_steps: float = field(default=0.05, metadata={"help": "Warmup steps (a fraction of max_steps if < 1)."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW weight decay."})
    logging_steps: float = field(default=25, metadata={"help": "Log the training loss every N steps."})
    save_strategy: str = field(default="no", metadata={"help": "Checkpointing during training: `no` or `steps`."})


@torch.no_grad()
def perplexity(model: GPT2LMHeadModel, blocks: torch.Tensor, batch_size: int = 8) -> dict[str, float]:
    """exp(mean NLL) of every token but the first of each `[num_blocks, block_size]` block, given those before it."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in blocks.split(batch_size):
        batch = batch.to(model.device).long()
        logits = model(input_ids=batch).logits[:, :-1]
        total += F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten(), reduction="sum").item()
        count += batch[:, 1:].numel()
    model.train(was_training)
    return {"perplexity": math.exp(total / count), "eval_loss": total / count, "eval_tokens": count}


def text_blocks(source: str, tokenizer: PreTrainedTokenizerBase, block_size: int, **load_kwargs) -> torch.Tensor:
    """`[num_blocks, block_size]` token ids of a text source, cut as for training."""
    return block_tensor(tokenize_and_group(load_text(source, **load_kwargs), tokenizer, block_size))


def main(script_args: PretrainArguments, training_args: TrainingArguments) -> dict[str, Any]:
    if script_args.n_embd % script_args.n_head:
        raise ValueError(f"n_embd={script_args.n_embd} must be a multiple of n_head={script_args.n_head}")
    if script_args.block_size > script_args.n_positions:
        raise ValueError(f"block_size={script_args.block_size} exceeds n_positions={script_args.n_positions}")
    train_files = resolve_text_files(script_args.lm_dataset, script_args.lm_split)
    if script_args.eval_file is not None and train_files is not None:
        eval_file = Path(script_args.eval_file).resolve()
        if eval_file in {f.resolve() for f in train_files}:
            raise ValueError(f"{eval_file} is also training text; evaluate on held-out text")

    tokenizer = load_tokenizer(script_args.tokenizer_name_or_path)
    load_kwargs = {"config": script_args.lm_config}
    with training_args.main_process_first(desc="tokenizing"):
        train_blocks = tokenize_and_group(
            load_text(script_args.lm_dataset, split=script_args.lm_split, **load_kwargs),
            tokenizer,
            script_args.block_size,
        )
        if script_args.eval_file is not None:
            eval_blocks = text_blocks(script_args.eval_file, tokenizer, script_args.block_size)
        else:
            eval_blocks = text_blocks(
                script_args.lm_dataset, tokenizer, script_args.block_size, split="test", **load_kwargs
            )
        if script_args.max_eval_blocks is not None:
            if script_args.max_eval_blocks < 1:
                raise ValueError(f"max_eval_blocks must be >= 1 or None, got {script_args.max_eval_blocks}")
            eval_blocks = eval_blocks[: script_args.max_eval_blocks]

    set_seed(training_args.seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=script_args.n_positions,
        n_embd=script_args.n_embd,
        n_layer=script_args.n_layer,
        n_head=script_args.n_head,
        resid_pdrop=script_args.dropout,
        embd_pdrop=script_args.dropout,
        attn_pdrop=script_args.dropout,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    num_parameters = model.num_parameters()
    print(f"GPT-2 with {num_parameters:,} parameters; {len(train_blocks):,} blocks of {script_args.block_size} tokens")

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_blocks,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
    )
    train_output = trainer.train()
    trainer.save_model(training_args.output_dir)  # the model and the tokenizer, with save_pretrained

    results = {
        **perplexity(model, eval_blocks, training_args.per_device_eval_batch_size),
        "eval_file": script_args.eval_file or f"{script_args.lm_dataset} (test)",
        "train_loss": train_output.training_loss,
        "train_runtime_s": train_output.metrics["train_runtime"],
        "num_parameters": num_parameters,
        "max_steps": training_args.max_steps,
    }
    if trainer.is_world_process_zero():
        (Path(training_args.output_dir) / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"Perplexity on {results['eval_file']}: {results['perplexity']:.2f} ({results['eval_tokens']:,} tokens)")
    return results


def cli(argv: list[str] | None = None) -> dict[str, Any]:
    parser = HfArgumentParser((PretrainArguments, PretrainTrainingArguments))
    return main(*parse_with_config(parser, sys.argv[1:] if argv is None else argv))


run = console_script(cli)


if __name__ == "__main__":
    cli()
