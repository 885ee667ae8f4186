import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from hf_decision.data import text as text_module
from hf_decision.data.text import (
    LanguageBatches,
    block_tensor,
    build_language_batches,
    load_text,
    load_tokenizer,
    resolve_text_files,
    tokenize_and_group,
)

SHARED_TOKENIZER = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpt2-tokenizer"

LINES = ["Hello there.\n", "\n", "A second line, with ünïcode and digits 0123.\n", "", " = Heading = \n", "Last"]


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """One token per UTF-8 byte (byte-level BPE without merges), plus `<eos>` = 256; tokenizing lines one by one
    and concatenating gives exactly the tokens of the concatenated text."""
    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<eos>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>")


def numbered_blocks(num_blocks=10, block_size=4) -> Dataset:
    """Block i holds the token i everywhere, so a batch tells which blocks it drew."""
    return Dataset.from_dict({"input_ids": [[i] * block_size for i in range(num_blocks)]})


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --- tokenizers ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED_TOKENIZER.is_dir(), reason="needs the GPT-2 tokenizer files in ../shared/data")
def test_shared_gpt2_vocab_and_merges_give_gpt2_ids():
    tokenizer = load_tokenizer(SHARED_TOKENIZER)
    assert tokenizer("Hello world!")["input_ids"] == [15496, 995, 0]
    assert len(tokenizer) == 50257
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id == 50256


def test_saved_tokenizer_folder_loads_with_eos_as_pad(tmp_path):
    byte_tokenizer().save_pretrained(tmp_path)
    tokenizer = load_tokenizer(tmp_path)
    assert tokenizer.pad_token == "<eos>"
    ids = tokenizer("Hé", add_special_tokens=False)["input_ids"]
    assert ids == byte_tokenizer()("Hé", add_special_tokens=False)["input_ids"] and len(ids) == 3  # é is 2 bytes


# --- tokenize_and_group -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [1, 7, 16])
def test_blocks_are_the_tokens_of_the_whole_text_cut_evenly(block_size):
    tokenizer = byte_tokenizer()
    grouped = tokenize_and_group(Dataset.from_dict({"text": LINES}), tokenizer, block_size)
    expected = tokenizer("".join(LINES), add_special_tokens=False)["input_ids"]
    usable = len(expected) // block_size * block_size
    assert grouped.column_names == ["input_ids"]
    assert len(grouped) == len(expected) // block_size
    assert all(len(row) == block_size for row in grouped["input_ids"])
    assert [t for row in grouped["input_ids"] for t in row] == expected[:usable]


def test_each_group_of_lines_drops_its_own_remainder(monkeypatch):
    monkeypatch.setattr(text_module, "GROUP_ROWS", 2)
    tokenizer = byte_tokenizer()
    grouped = tokenize_and_group(Dataset.from_dict({"text": LINES}), tokenizer, 5)
    expected = []
    for start in range(0, len(LINES), 2):
        ids = tokenizer("".join(LINES[start : start + 2]), add_special_tokens=False)["input_ids"]
        expected += ids[: len(ids) // 5 * 5]
    assert block_tensor(grouped).flatten().tolist() == expected


def test_text_shorter_than_a_block_is_refused():
    with pytest.raises(ValueError, match="fewer than one block of 64"):
        tokenize_and_group(Dataset.from_dict({"text": ["short\n"]}), byte_tokenizer(), 64)


def test_tokenizing_needs_a_text_column():
    with pytest.raises(ValueError, match="`text` column"):
        tokenize_and_group(Dataset.from_dict({"content": ["a"]}), byte_tokenizer(), 4)


# --- load_text ----------------------------------------------------------------------------------------------------


def test_wikitext_folder_maps_split_names_to_files(tmp_path, caplog):
    valid = write_lines(tmp_path / "wiki.valid.raw", [" \n", " = Valid = \n", "valid text\n"])
    test = write_lines(tmp_path / "wiki.test.raw", [" \n", " = Test = \n"])
    cache = str(tmp_path / "cache")
    assert load_text(tmp_path, split="validation", cache_dir=cache)["text"] == [" \n", " = Valid = \n", "valid text\n"]
    assert load_text(tmp_path, split="valid", cache_dir=cache)["text"] == load_text(valid, cache_dir=cache)["text"]
    assert load_text(str(tmp_path), split="test", cache_dir=cache)["text"] == [" \n", " = Test = \n"]
    with caplog.at_level(logging.WARNING, logger="hf_decision.data.text"):
        assert resolve_text_files(tmp_path, "train") == [test, valid]
    assert "has no train file" in caplog.text
    with pytest.raises(FileNotFoundError, match="no file for split 'dev'.*wiki.test.raw"):
        load_text(tmp_path, split="dev", cache_dir=cache)


def test_folder_with_a_train_file_uses_only_it(tmp_path):
    train = write_lines(tmp_path / "wiki.train.raw", ["train\n"])
    write_lines(tmp_path / "wiki.test.raw", ["test\n"])
    write_lines(tmp_path / "notes.md", ["not text data\n"])
    assert resolve_text_files(tmp_path) == [train]
    other = tmp_path / "plain"
    other.mkdir()
    assert resolve_text_files(write_lines(other / "train.txt", ["x\n"]).parent) == [other / "train.txt"]


def test_files_and_lists_of_files_keep_line_breaks_in_order(tmp_path):
    first = write_lines(tmp_path / "a.txt", ["one\n", "two\n"])
    second = write_lines(tmp_path / "b.txt", ["three\n", "four"])
    cache = str(tmp_path / "cache")
    # `config` only applies to Hub datasets; callers pass their default along with local paths.
    assert load_text(str(first), config="wikitext-103-raw-v1", cache_dir=cache)["text"] == ["one\n", "two\n"]
    assert load_text([second, first], cache_dir=cache)["text"] == ["three\n", "four", "one\n", "two\n"]


def test_missing_local_text_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        load_text([write_lines(tmp_path / "a.txt", ["x"]), tmp_path / "gone.txt"])
    with pytest.raises(FileNotFoundError, match="missing-folder"):
        load_text(tmp_path / "missing-folder")
    with pytest.raises(FileNotFoundError, match="no file for split"):
        load_text(tmp_path, split="test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"holds no \*.raw or \*.txt file"):
        load_text(tmp_path / "empty")
    assert resolve_text_files("Salesforce/wikitext") is None


# --- LanguageBatches ----------------------------------------------------------------------------------------------


def test_batches_are_int64_blocks_of_the_requested_shape():
    batches = LanguageBatches(numbered_blocks(10, 4), batch_size=3, seed=0)
    batch = next(batches)
    assert batch.shape == (3, 4) and batch.dtype == torch.long
    assert (batch == batch[:, :1]).all()


def test_every_block_is_seen_once_per_pass_in_a_new_order():
    batches = LanguageBatches(numbered_blocks(10), batch_size=3, seed=0)
    drawn = torch.cat([next(batches)[:, 0] for _ in range(10)]).tolist()  # 30 blocks: 3 passes
    passes = [drawn[i : i + 10] for i in range(0, 30, 10)]
    assert all(sorted(p) == list(range(10)) for p in passes)
    assert passes[0] != passes[1] != passes[2]
    assert batches.state_dict()["epoch"] == 3 and batches.state_dict()["position"] == 0


def test_a_batch_larger_than_a_pass_spans_passes():
    batches = LanguageBatches(numbered_blocks(4), batch_size=10, seed=0)
    drawn = next(batches)[:, 0].tolist()
    assert [sorted(drawn[i : i + 4]) for i in (0, 4)] == [[0, 1, 2, 3]] * 2
    assert batches.state_dict()["epoch"] == 2 and batches.state_dict()["position"] == 2


def test_same_seed_same_batches_other_seed_other_order():
    def first(seed, n=8):
        batches = LanguageBatches(numbered_blocks(20), batch_size=5, seed=seed)
        return torch.stack([next(batches) for _ in range(n)])

    assert torch.equal(first(0), first(0))
    assert not torch.equal(first(0), first(1))


def test_resuming_from_a_state_dict_continues_exactly():
    uninterrupted = LanguageBatches(numbered_blocks(10), batch_size=3, seed=7)
    expected = [next(uninterrupted) for _ in range(12)][5:]

    interrupted = LanguageBatches(numbered_blocks(10), batch_size=3, seed=7)
    for _ in range(5):
        next(interrupted)
    state = json.loads(json.dumps(interrupted.state_dict()))
    resumed = LanguageBatches(numbered_blocks(10), batch_size=3, seed=0)  # the saved seed wins
    resumed.load_state_dict(state)
    assert all(torch.equal(next(resumed), batch) for batch in expected)


def test_a_state_for_other_blocks_is_refused():
    state = LanguageBatches(numbered_blocks(10), batch_size=3).state_dict()
    with pytest.raises(ValueError, match="num_blocks=10"):
        LanguageBatches(numbered_blocks(11), batch_size=3).load_state_dict(state)


def test_block_tensor_follows_the_dataset_view_and_refuses_ragged_rows():
    assert block_tensor(numbered_blocks(10).select([3, 1, 4]))[:, 0].tolist() == [3, 1, 4]
    assert block_tensor(numbered_blocks(10).shuffle(seed=0)).shape == (10, 4)
    with pytest.raises(ValueError, match="same length"):
        block_tensor(Dataset.from_dict({"input_ids": [[1, 2], [3]]}))
    with pytest.raises(ValueError, match="no block"):
        LanguageBatches(numbered_blocks(10).select([]), batch_size=2)


def test_build_language_batches_from_a_file_and_a_tokenizer_folder(tmp_path):
    byte_tokenizer().save_pretrained(tmp_path / "tok")
    text = write_lines(tmp_path / "corpus.txt", LINES * 3)
    batches = build_language_batches(
        text, tmp_path / "tok", block_size=8, batch_size=2, seed=0, cache_dir=str(tmp_path / "cache")
    )
    tokens = byte_tokenizer()("".join(LINES * 3), add_special_tokens=False)["input_ids"]
    blocks = {tuple(tokens[i : i + 8]) for i in range(0, len(tokens) // 8 * 8, 8)}
    assert batches.num_blocks == len(blocks)
    seen = {tuple(row) for _ in range(batches.num_blocks) for row in next(batches).tolist()}
    assert seen == blocks
    assert np.isin(np.array(list(seen)), np.arange(256)).all()
