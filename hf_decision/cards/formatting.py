"""What every card shares: evaluation results per target return, their table, tables of dataset statistics, and how
a value is written in a card."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

_LOCAL_SUFFIXES = (".hdf5", ".h5", ".parquet", ".json", ".jsonl", ".csv", ".npz", ".pkl", ".txt", ".arrow")


def is_hub_id(name: str | None) -> bool:
    """Whether `name` reads as a Hub repo id (`namespace/name`), not a local path, file or `minari:` id."""
    if not name or Path(name).expanduser().exists() or name.lower().endswith(_LOCAL_SUFFIXES):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def per_target_results(eval_results: Mapping[str, Any] | None) -> dict[float | None, dict[str, Any]]:
    """`{target_return: result}` from an `evaluate(...)` result (one or several targets) or from a mapping
    target → result (as in `results.json`, whose keys are strings). Each result needs `mean_return`, `std_return`.
    Agents without a target return (DQN, REINFORCE) have the single key `None`."""
    if not eval_results:
        return {}
    if "mean_return" in eval_results:
        if "per_target" in eval_results:
            eval_results = eval_results["per_target"]
        elif "target_return" in eval_results:
            eval_results = {eval_results["target_return"]: eval_results}
        else:
            raise ValueError("eval_results has a mean_return but no target_return: which target was evaluated?")
    per_target = {}
    for target, result in eval_results.items():
        if not isinstance(result, Mapping):
            raise ValueError(f"eval_results[{target!r}] must be a dict of results, got {type(result).__name__}")
        missing = [key for key in ("mean_return", "std_return") if key not in result]
        if missing:
            raise ValueError(f"eval_results[{target!r}] lacks {missing}")
        per_target[None if target in (None, "None") else float(target)] = dict(result)
    return per_target


def results_table(eval_results: Mapping[str, Any] | None) -> str:
    """A Markdown table of evaluation results: target, mean ± std, normalized score, episodes."""
    lines = ["| Target return | Return (mean ± std) | D4RL normalized score (0 random, 100 expert) | Episodes |"]
    lines.append("|---:|---:|---:|---:|")
    for target, r in per_target_results(eval_results).items():
        score = r.get("normalized_score")
        score = "—" if score is None else f"{score:.1f}"
        episodes = len(r["returns"]) if r.get("returns") is not None else "—"
        shown = "—" if target is None else f"{target:g}"
        lines.append(f"| {shown} | {r['mean_return']:.2f} ± {r['std_return']:.2f} | {score} | {episodes} |")
    return "\n".join(lines)


def dataset_rows(stats: Mapping[str, Any]) -> list[tuple]:
    """Rows of the training data's statistics (`TrajectoryStore.statistics()`) for an agent card."""
    rows = []
    if "num_episodes" in stats:
        rows.append(("Episodes", f"{stats['num_episodes']:,}"))
    if "num_steps" in stats:
        rows.append(("Steps", f"{stats['num_steps']:,}"))
    if "return_mean" in stats:
        rows.append(
            ("Episode return (mean ± std)", f"{stats['return_mean']:.2f} ± {stats.get('return_std', 0.0):.2f}")
        )
    if "return_min" in stats and "return_max" in stats:
        rows.append(("Episode return (min / max)", f"{stats['return_min']:.2f} / {stats['return_max']:.2f}"))
    if "episode_length_mean" in stats:
        rows.append(("Episode length (mean)", f"{stats['episode_length_mean']:.1f}"))
    if "episode_length_max" in stats:
        rows.append(("Episode length (max)", stats["episode_length_max"]))
    return rows


def format_value(value: Any) -> str:
    """A training argument as a card shows it: strings as code, numbers with `:g`."""
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)
