"""The offline check of an agent card's metadata, as the Hub's reinforcement-learning pages read it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from huggingface_hub import ModelCard

LIBRARY_NAME = "hf_decision"
REQUIRED_TAGS = ("reinforcement-learning", "decision-transformer", "offline-rl")
_METRIC_VALUE = re.compile(r"^-?\d+\.\d{2} \+/- \d+\.\d{2}$")


def check_model_card(
    card: ModelCard | str,
    *,
    env_id: str,
    n_results: int = 0,
    base_model: str | None = None,
    dataset_id: str | None = None,
    tags: Sequence[str] = REQUIRED_TAGS,
) -> None:
    """Parse the card's YAML back (as the Hub does) and raise `ValueError` naming the first missing or wrong field.

    This is the offline check; the Hub validates the metadata again when the card is pushed.
    """
    data = ModelCard(str(card)).data
    if data.get("library_name") != LIBRARY_NAME:
        raise ValueError(f"card metadata library_name must be {LIBRARY_NAME!r}, got {data.get('library_name')!r}")
    missing_tags = [tag for tag in (*tags, env_id) if tag not in (data.get("tags") or [])]
    if missing_tags:
        raise ValueError(f"card metadata tags lack {missing_tags}")
    if base_model is not None and data.get("base_model") != base_model:
        raise ValueError(f"card metadata base_model must be {base_model!r}, got {data.get('base_model')!r}")
    if dataset_id is not None and dataset_id not in (data.get("datasets") or []):
        raise ValueError(f"card metadata datasets must list {dataset_id!r}, got {data.get('datasets')!r}")
    results = data.eval_results or []
    if len(results) != n_results:
        raise ValueError(f"card metadata model-index has {len(results)} results, expected {n_results}")
    for result in results:
        if (result.task_type, result.metric_type, result.dataset_type) != (
            "reinforcement-learning",
            "mean_reward",
            env_id,
        ):
            raise ValueError(
                "card metadata model-index results need task reinforcement-learning, metric mean_reward and dataset "
                f"{env_id!r}, got ({result.task_type!r}, {result.metric_type!r}, {result.dataset_type!r})"
            )
        if not _METRIC_VALUE.match(str(result.metric_value)):
            raise ValueError(
                f"card metadata model-index value must read '<mean> +/- <std>', got {result.metric_value!r}"
            )
