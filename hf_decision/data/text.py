"""Text for the λ·language-modeling term (Reid et al. 2022): load, tokenize, cut into blocks, and batch endlessly.

The pipeline is `load_text` → `tokenize_and_group` → `LanguageBatches`; `build_language_batches` runs all three.
Lines are tokenized one by one with their line breaks kept and without special tokens, then concatenated and cut
into blocks of exactly `block_size` tokens, as in transformers' causal-LM examples. Token ids are stored as int32
(half the memory of int64 for WikiText-103) and batches are handed out as int64.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from datasets import Dataset, Features, List, Value, load_dataset
from transformers import AutoTokenizer, GPT2Tokenizer, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".raw", ".txt")
# File names of the WikiText splits; other folders may name their files `<split>.txt` or `<split>.raw`.
WIKITEXT_SPLIT_FILES = {"train": "wiki.train.raw", "validation": "wiki.valid.raw", "test": "wiki.test.raw"}
SPLIT_ALIASES = {"valid": "validation", "val": "validation"}
# Rows of tokenized text concatenated at a time; each group drops fewer than `block_size` trailing tokens.
GROUP_ROWS = 10_000

TextSource = str | PathLike | Sequence[str | PathLike]


def load_tokenizer(name_or_path: str | PathLike) -> PreTrainedTokenizerBase:
    """The tokenizer of a Hub id or a saved tokenizer folder; a folder holding only GPT-2's `vocab.json` and
    `merges.txt` gives GPT-2's byte-level BPE tokenizer. Without a pad token, the EOS token pads."""
    folder = Path(name_or_path)
    saved = any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
    if folder.is_dir() and not saved and (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        tokenizer = GPT2Tokenizer.from_pretrained(folder)
    else:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def resolve_text_files(lm_dataset: TextSource, split: str = "train") -> list[Path] | None:
    """The local files `lm_dataset` names for `split`, or None when it is a Hub dataset id.

    A file or a list of files is taken as given (`split` does not apply). In a folder, `split` picks WikiText's
    `wiki.{train,valid,test}.raw` or a `<split>.txt` / `<split>.raw` file; when no train file is there, `train` means
    every `*.raw` / `*.txt` file in the folder (with a warning). A missing path raises `FileNotFoundError`.
    """
    if not isinstance(lm_dataset, str | PathLike):
        files = [Path(f) for f in lm_dataset]
        missing = [str(f) for f in files if not f.is_file()]
        if missing or not files:
            raise FileNotFoundError(f"text files not found: {missing or 'an empty list was given'}")
        return files
    path = Path(lm_dataset).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        text = str(lm_dataset)
        looks_local = path.is_absolute() or text.startswith((".", "~")) or path.suffix in TEXT_SUFFIXES
        if looks_local or text.count("/") > 1:
            raise FileNotFoundError(f"no text file or folder at {path}")
        return None
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix in TEXT_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{path} holds no {' or '.join('*' + s for s in TEXT_SUFFIXES)} file")
    split = SPLIT_ALIASES.get(split, split)
    names = {WIKITEXT_SPLIT_FILES.get(split)} | {split + suffix for suffix in TEXT_SUFFIXES}
    chosen = [f for f in files if f.name in names]
    if chosen:
        return chosen
    if split == "train":
        logger.warning("%s has no train file; training on all of its text files: %s", path, [f.name for f in files])
        return files
    raise FileNotFoundError(
        f"{path} has no file for split {split!r} (looked for {sorted(n for n in names if n)}); "
        f"it holds {[f.name for f in files]}"
    )


def load_text(
    lm_dataset: TextSource,
    *,
    config: str | None = None,
    split: str = "train",
    cache_dir: str | None = None,
) -> Dataset:
    """A dataset with one `text` column: a Hub dataset (`config`, `split`) or local text (see `resolve_text_files`;
    `config` is ignored), one row per line with its line break kept, as in the Hub's WikiText."""
    files = resolve_text_files(lm_dataset, split)
    if files is not None:
        data_files = {"train": [str(f) for f in files]}
        return load_dataset("text", data_files=data_files, split="train", keep_linebreaks=True, cache_dir=cache_dir)
    dataset = load_dataset(str(lm_dataset), config, split=split, cache_dir=cache_dir)
    if "text" not in dataset.column_names:
        raise ValueError(f"{lm_dataset} ({config}, {split}) has no `text` column; its columns: {dataset.column_names}")
    return dataset.select_columns(["text"])


def tokenize_and_group(
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    block_size: int,
    *,
    num_proc: int | None = None,
) -> Dataset:
    """Blocks of exactly `block_size` token ids (`input_ids`, int32) cut from the concatenated tokenized lines.

    Lines are tokenized without special tokens. Groups of `GROUP_ROWS` lines are concatenated and cut; the fewer
    than `block_size` tokens left at the end of each group are dropped.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    if "text" not in dataset.column_names:
        raise ValueError(f"the dataset needs a `text` column; its columns: {dataset.column_names}")

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], add_special_tokens=False, verbose=False)
        return {"input_ids": encoded["input_ids"]}

    tokenized = dataset.map(
        tokenize,
        batched=True,
        remove_columns=dataset.column_names,
        features=Features({"input_ids": List(Value("int32"))}),
        num_proc=num_proc,
        desc="Tokenizing",
    )
    grouped = tokenized.with_format("arrow").map(
        _cut_into_blocks,
        batched=True,
        batch_size=GROUP_ROWS,
        fn_kwargs={"block_size": block_size},
        num_proc=num_proc,
        desc=f"Cutting into blocks of {block_size} tokens",
    )
    if len(grouped) == 0:
        num_tokens = pc.sum(pc.list_value_length(tokenized.data.column("input_ids"))).as_py() or 0
        raise ValueError(f"the text has {num_tokens} tokens, fewer than one block of {block_size}")
    return grouped.with_format(None)


def _cut_into_blocks(table: pa.Table, block_size: int) -> pa.Table:
    tokens = pc.list_flatten(table.column("input_ids"))
    if isinstance(tokens, pa.ChunkedArray):
        tokens = tokens.combine_chunks()
    usable = len(tokens) // block_size * block_size
    return pa.table({"input_ids": pa.FixedSizeListArray.from_arrays(tokens.slice(0, usable), block_size)})


def block_tensor(dataset: Dataset) -> torch.Tensor:
    """The `input_ids` blocks of a grouped dataset as one `[num_blocks, block_size]` tensor, in row order, with the
    stored integer dtype, built by one copy of the arrow data."""
    if len(dataset) == 0:
        raise ValueError("the dataset holds no block")
    if "input_ids" not in dataset.column_names:
        raise ValueError(f"the dataset needs an `input_ids` column; its columns: {dataset.column_names}")
    column = dataset.with_format("arrow")[:].column("input_ids")
    lengths = pc.unique(pc.list_value_length(column)).to_pylist()
    if len(lengths) != 1:
        raise ValueError(f"`input_ids` blocks must all have the same length, got lengths {sorted(lengths)[:10]}")
    flat = np.concatenate([chunk.flatten().to_numpy(zero_copy_only=False) for chunk in column.chunks])
    return torch.from_numpy(flat).view(len(dataset), lengths[0])


class LanguageBatches:
    """An endless, deterministic, resumable iterator of `[batch_size, block_size]` int64 batches of text blocks.

    Each pass visits every block exactly once, in the order `np.random.default_rng([seed, pass]).permutation`; a
    batch that reaches the end of a pass is completed from the start of the next. The position is
    `state_dict() = {"seed", "epoch" (the pass), "position" (blocks already taken in it), "num_blocks", "block_size"}`;
    `load_state_dict` of it on an iterator over the same blocks continues exactly where the saved one was.
    """

    def __init__(self, blocks: Dataset | torch.Tensor, batch_size: int, seed: int = 0):
        self.blocks = blocks if isinstance(blocks, torch.Tensor) else block_tensor(blocks)
        if self.blocks.dim() != 2 or len(self.blocks) == 0:
            raise ValueError(
                f"blocks must be a non-empty [num_blocks, block_size] tensor, got {list(self.blocks.shape)}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.batch_size = batch_size
        self.seed = seed
        self._start(epoch=0, position=0)

    @property
    def num_blocks(self) -> int:
        return self.blocks.shape[0]

    @property
    def block_size(self) -> int:
        return self.blocks.shape[1]

    def _start(self, epoch: int, position: int) -> None:
        self.epoch = epoch
        self.position = position
        rng = np.random.default_rng([self.seed, epoch])
        self._order = torch.from_numpy(rng.permutation(self.num_blocks))

    def __iter__(self) -> LanguageBatches:
        return self

    def __next__(self) -> torch.Tensor:
        picks = []
        needed = self.batch_size
        while needed:
            take = min(needed, self.num_blocks - self.position)
            picks.append(self._order[self.position : self.position + take])
            needed -= take
            if self.position + take == self.num_blocks:
                self._start(self.epoch + 1, 0)
            else:
                self.position += take
        index = picks[0] if len(picks) == 1 else torch.cat(picks)
        return self.blocks[index].long()

    def state_dict(self) -> dict[str, int]:
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
            "num_blocks": self.num_blocks,
            "block_size": self.block_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state`, including its seed; the blocks must have the saved count and size."""
        for key in ("num_blocks", "block_size"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"the saved text position is for {key}={state[key]}, but these blocks have {getattr(self, key)}"
                )
        if not 0 <= state["position"] < self.num_blocks:
            raise ValueError(f"saved position {state['position']} is outside [0, {self.num_blocks})")
        self.seed = int(state["seed"])
        self._start(int(state["epoch"]), int(state["position"]))


def build_language_batches(
    lm_dataset: TextSource,
    tokenizer_name_or_path: str | PathLike | PreTrainedTokenizerBase,
    *,
    block_size: int,
    batch_size: int,
    seed: int,
    config: str | None = None,
    split: str = "train",
    num_proc: int | None = None,
    cache_dir: str | None = None,
) -> LanguageBatches:
    """`LanguageBatches` over `lm_dataset` (a Hub id with `config`, or local text) tokenized by a tokenizer (or its
    Hub id / folder), in blocks of `block_size` tokens."""
    tokenizer = (
        tokenizer_name_or_path
        if isinstance(tokenizer_name_or_path, PreTrainedTokenizerBase)
        else load_tokenizer(tokenizer_name_or_path)
    )
    text = load_text(lm_dataset, config=config, split=split, cache_dir=cache_dir)
    blocks = tokenize_and_group(text, tokenizer, block_size, num_proc=num_proc)
    return LanguageBatches(blocks, batch_size=batch_size, seed=seed)


__all__ = [
    "LanguageBatches",
    "block_tensor",
    "build_language_batches",
    "load_text",
    "load_tokenizer",
    "resolve_text_files",
    "tokenize_and_group",
]
