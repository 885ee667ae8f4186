"""The card of a collected dataset: YAML metadata for the Hub and a body with its statistics and return histogram,
rendered from `hf_decision/templates/dataset_card.md`."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np
from datasets import Dataset
from huggingface_hub import DatasetCard, DatasetCardData

DATASET_CARD_TEMPLATE = files("hf_decision") / "templates" / "dataset_card.md"


def episode_returns(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The return (undiscounted sum of rewards) and the length of every episode of a canonical dataset."""
    rewards = dataset.with_format("arrow")["rewards"].combine_chunks()
    lengths = np.diff(np.asarray(rewards.offsets)).astype(np.int64)
    values = np.asarray(rewards.flatten(), dtype=np.float64)
    returns = np.bincount(np.repeat(np.arange(len(lengths)), lengths), weights=values, minlength=len(lengths))
    return returns, lengths


def _size_category(num_rows: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if num_rows < bound:
            return name
    return "1M<n<10M"


def return_histogram(returns: np.ndarray, bins: int = 10, width: int = 30) -> list[dict[str, Any]]:
    """The episode-return histogram of a dataset card: one row per bin, `{"low", "high", "count", "bar"}`, with
    `bar` a run of `█` as long as the bin's share of the fullest bin (at most `width`); a single bin when every
    episode has the same return. Bins are numpy's equal-width bins, the last one closed."""
    returns = np.asarray(returns, dtype=np.float64)
    if returns.min() == returns.max():
        return [dict(low=float(returns.min()), high=float(returns.max()), count=len(returns), bar="█" * width)]
    counts, edges = np.histogram(returns, bins=bins)
    fullest = counts.max()
    return [
        dict(low=float(low), high=float(high), count=int(count), bar="█" * int(round(width * count / fullest)))
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def dataset_card(
    dataset: Dataset,
    *,
    env_id: str,
    policy_name: str,
    seed: int,
    extra: dict[str, Any] | None = None,
    license: str = "other",
    source: str | None = None,
) -> DatasetCard:
    """A Hub dataset card for a collected dataset: YAML metadata and a body with its statistics.

    Args:
        dataset: a canonical dataset (see `hf_decision.data.schema`).
        env_id, policy_name, seed: how it was collected.
        extra: more rows for the card's table (e.g. the checkpoint a policy came from).
        license: the license metadata; `"other"` leaves the choice to the publisher.
        source: what the "Load it" snippet loads (a Hub id or a folder); a placeholder when None.
    """
    returns, lengths = episode_returns(dataset)
    if len(returns) == 0:
        raise ValueError("dataset_card got a dataset without episodes")
    pretty_name = f"{env_id} ({policy_name})"
    card_data = DatasetCardData(
        license=license,
        pretty_name=pretty_name,
        task_categories=["reinforcement-learning"],
        size_categories=_size_category(len(dataset)),
        tags=["reinforcement-learning", "offline-rl", env_id],
    )
    return DatasetCard.from_template(
        card_data,
        template_str=DATASET_CARD_TEMPLATE.read_text(),
        pretty_name=pretty_name,
        env_id=env_id,
        policy_name=policy_name,
        seed=seed,
        episodes=len(returns),
        steps=int(lengths.sum()),
        return_mean=f"{returns.mean():.2f}",
        return_std=f"{returns.std():.2f}",
        return_min=f"{returns.min():.2f}",
        return_max=f"{returns.max():.2f}",
        length_mean=f"{lengths.mean():.1f}",
        histogram=[dict(row, low=f"{row['low']:.1f}", high=f"{row['high']:.1f}") for row in return_histogram(returns)],
        extra=extra or {},
        source=source or "<hub-id-or-folder>",
    )
