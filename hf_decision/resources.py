"""Where local stand-ins for Hub resources live: the shared data folder and the package's cache."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "HF_DECISION_SHARED_DATA"
CACHE_ENV = "HF_DECISION_CACHE"


def shared_data_dir() -> Path | None:
    """The folder of local data (WikiText-2 raw, GPT-2 tokenizer files, Hopper datasets), or None.

    `$HF_DECISION_SHARED_DATA` when set; otherwise `../shared/data` next to the current directory or next to the
    source checkout.
    """
    if os.environ.get(SHARED_DATA_ENV):
        path = Path(os.environ[SHARED_DATA_ENV]).expanduser()
        return path if path.is_dir() else None
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        path = root.parent / "shared" / "data"
        if path.is_dir():
            return path
    return None


def shared_path(*parts: str) -> Path | None:
    """A path inside the shared data folder, or None when the folder or the path is missing."""
    root = shared_data_dir()
    if root is None or not (root.joinpath(*parts)).exists():
        return None
    return root.joinpath(*parts)


def cache_dir() -> Path:
    """`$HF_DECISION_CACHE`, else `~/.cache/hf_decision` (created)."""
    path = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "hf_decision")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_backbone_hint() -> str:
    """Where a GPT-2 comes from without the Hub: the ones pretrained here, in the cache, or how to make one."""
    found = sorted(p.parent for p in cache_dir().glob("gpt2-*/model.safetensors"))
    listed = "".join(f"\n  {folder}" for folder in found[:5])
    return (
        "Without the Hub, a GPT-2 pretrained locally loads the same way: `python scripts/pretrain_gpt2.py "
        "scripts/configs/pretrain_gpt2/wikitext2_small.yaml --output_dir runs/gpt2-small`, then "
        "`from_pretrained_backbone('runs/gpt2-small')`."
        + (f" Pretrained GPT-2 folders already in the cache:{listed}" if found else "")
    )
