"""What one agent family's card adds to the layout every card shares: its template, tags and fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple


class CardContent(NamedTuple):
    """A family's part of one card: metadata `tags` (checked), the model name used without a repo id, the
    `base_model` metadata (checked when set), and the template's own `fields`."""

    tags: Sequence[str]
    default_name: str
    base_model: str | None
    fields: dict[str, Any]


class CardProfile(NamedTuple):
    """An agent family's card: the template shipped in the package, and `content(model, **inputs)`, called with
    `per_target` (evaluation results by target), `dataset_id`, `training` (training arguments as a dict) and
    `conditioning_path` (the achieved-against-target plot, or None)."""

    template: Traversable
    content: Callable[..., CardContent]


def file_name(path: str | Path | None) -> str | None:
    """How a card links a file that sits next to its `README.md`."""
    return Path(path).name if path is not None else None


def as_dict(training_args: Any) -> dict[str, Any]:
    """Training arguments (`TrainingArguments` or a dict) as a dict; {} for None."""
    if training_args is None:
        return {}
    if hasattr(training_args, "to_dict"):
        return training_args.to_dict()
    if isinstance(training_args, Mapping):
        return dict(training_args)
    raise ValueError(f"training_args must be TrainingArguments or a dict, got {type(training_args).__name__}")
