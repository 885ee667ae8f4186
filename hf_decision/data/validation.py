"""Bring any episode table to the canonical schema, and refuse bad data at the boundary.

Every check is vectorized over the flat per-step values; an error names the episode (row) index and the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset

from hf_decision.data.schema import COLUMNS, dataset_from_flat

# Other schemas seen in the field, mapped onto the canonical names.
COLUMN_ALIASES = {"dones": "terminals", "truncations": "timeouts", "terminations": "terminals"}


@dataclass
class _Column:
    """One list column, flattened: per-episode lengths, flat values, and the inner size of vector steps."""

    name: str
    lengths: np.ndarray  # [E] steps per episode
    values: np.ndarray  # [N] or [N, inner]
    value_type: pa.DataType


def canonicalize(
    dataset: Dataset,
    *,
    state_dim: int | None = None,
    act_dim: int | None = None,
    action_space: str | None = None,
    max_ep_len: int | None = None,
) -> Dataset:
    """Validate an episode dataset and return it in the canonical schema (see `hf_decision.data.schema`).

    Accepts the canonical columns, or `dones` in place of `terminals` (the schema of
    `edbeeching/decision_transformer_gym_replay`); a missing `timeouts` column is filled with False; other columns
    are dropped. `action_space` is inferred when None: integer actions of one value per step are discrete.
    `act_dim` (continuous size, or number of discrete actions), `state_dim` and `max_ep_len` are checked when given.

    Raises:
        ValueError: naming the episode index and the column, for a missing column, an empty dataset or episode,
            per-episode lengths that differ between columns, a wrong rank or dtype, NaN/inf, rewards or
            returns-to-go beyond float32's range, a terminal or timeout flag before an episode's last step (or both
            on one step), a state or action size mismatch, a discrete action out of range, or an episode longer
            than `max_ep_len`.
    """
    if len(dataset) == 0:
        raise ValueError("the dataset is empty: it holds no episode")
    if dataset._indices is not None:  # a select/shuffle view: materialize the rows it points to
        dataset = dataset.flatten_indices()
    table = dataset.data.table
    names = set(table.column_names)
    for alias, canonical in COLUMN_ALIASES.items():
        if alias in names and canonical not in names:
            table = table.append_column(canonical, table.column(alias))
            names.add(canonical)
    for name in ("observations", "actions", "rewards", "terminals"):
        if name not in names:
            raise ValueError(f"missing column {name!r}: the dataset has columns {sorted(table.column_names)}")

    columns = {name: _flatten(table, name) for name in COLUMNS if name in names}
    lengths = columns["rewards"].lengths
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(f"episode {empty[0]} is empty (column 'rewards' has 0 steps)")
    for column in columns.values():
        mismatch = np.flatnonzero(column.lengths != lengths)
        if mismatch.size:
            e = mismatch[0]
            raise ValueError(
                f"episode {e}: column {column.name!r} has {column.lengths[e]} steps but 'rewards' has {lengths[e]}"
            )
    if max_ep_len is not None and lengths.max() > max_ep_len:
        e = int(np.argmax(lengths > max_ep_len))
        raise ValueError(f"episode {e} has {lengths[e]} steps (column 'rewards'), longer than max_ep_len={max_ep_len}")

    observations = _vector_values(columns["observations"], "state_dim", state_dim)
    _require_kind(columns["observations"], ("float", "int"))
    _require_finite(columns["observations"], lengths, observations)
    rewards = columns["rewards"]
    _require_rank(rewards, 1)
    _require_kind(rewards, ("float", "int"))
    _require_finite(rewards, lengths, rewards.values)
    _require_float32_returns(rewards, lengths)
    flags = {}
    for name in ("terminals", "timeouts"):
        if name in columns:
            _require_rank(columns[name], 1)
            _require_kind(columns[name], ("bool", "int"))
            flags[name] = columns[name].values.astype(bool)
        else:
            flags[name] = np.zeros(len(rewards.values), dtype=bool)
    _require_consistent_flags(flags["terminals"], flags["timeouts"], lengths)

    actions = _actions(columns["actions"], lengths, act_dim, action_space)
    return dataset_from_flat(
        observations,
        actions,
        rewards.values.astype(np.float32),
        flags["terminals"],
        flags["timeouts"],
        lengths,
        action_space="discrete" if actions.ndim == 1 else "continuous",
    )


def _flatten(table: pa.Table, name: str) -> _Column:
    column = table.column(name).combine_chunks()
    if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
        raise ValueError(f"column {name!r} must hold one list of steps per episode, got type {column.type}")
    if column.null_count:
        e = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"episode {e}: column {name!r} is null")
    lengths = column.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
    values = column.flatten()
    if (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or pa.types.is_fixed_size_list(values.type)
    ):
        inner = values.value_lengths() if not pa.types.is_fixed_size_list(values.type) else None
        if inner is not None:
            sizes = inner.to_numpy(zero_copy_only=False)
            size = int(sizes[0]) if sizes.size else 0
            bad = np.flatnonzero(sizes != size)
            if bad.size:
                e = _episode_of(bad[0], lengths)
                raise ValueError(
                    f"episode {e}: column {name!r} has steps of different sizes ({size} and {sizes[bad[0]]})"
                )
        else:
            size = values.type.list_size
        flat = values.flatten()
        if pa.types.is_list(flat.type) or pa.types.is_fixed_size_list(flat.type) or pa.types.is_large_list(flat.type):
            raise ValueError(f"column {name!r} has rank > 2 per episode (type {column.type}); flatten the steps first")
        return _Column(name, lengths, _to_numpy(flat, name).reshape(-1, size), flat.type)
    return _Column(name, lengths, _to_numpy(values, name), values.type)


def _to_numpy(values: pa.Array, name: str) -> np.ndarray:
    if values.null_count:
        raise ValueError(f"column {name!r} holds null steps")
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type) or pa.types.is_boolean(values.type)):
        raise ValueError(f"column {name!r} must be numeric, got values of type {values.type}")
    if pa.types.is_boolean(values.type):
        return pc.cast(values, pa.int8()).to_numpy(zero_copy_only=False).astype(bool)
    return values.to_numpy(zero_copy_only=False)


def _episode_of(step: int, lengths: np.ndarray) -> int:
    return int(np.searchsorted(np.cumsum(lengths), step, side="right"))


def _require_rank(column: _Column, rank: int) -> None:
    if column.values.ndim != rank:
        got = f"[T, {column.values.shape[1]}]" if column.values.ndim == 2 else "[T]"
        expected = "[T]" if rank == 1 else "[T, dim]"
        raise ValueError(f"column {column.name!r} must be {expected} per episode (in every episode), got {got}")


def _require_kind(column: _Column, kinds: tuple[str, ...]) -> None:
    kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(column.values.dtype.kind, "other")
    if kind not in kinds:
        raise ValueError(f"column {column.name!r} must hold values of kind {kinds}, got dtype {column.values.dtype}")


def _require_finite(column: _Column, lengths: np.ndarray, values: np.ndarray) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        step = int(np.flatnonzero(finite.reshape(len(values), -1).all(axis=1) == 0)[0])
        e = _episode_of(step, lengths)
        t = step - int(np.concatenate([[0], np.cumsum(lengths)])[e])
        raise ValueError(f"episode {e}: column {column.name!r} holds a non-finite value (NaN/inf) at step {t}")


def _step_of(index: int, lengths: np.ndarray) -> tuple[int, int]:
    """(episode, step within it) of flat step `index`."""
    e = _episode_of(index, lengths)
    return e, index - int(np.sum(lengths[:e]))


def _require_float32_returns(column: _Column, lengths: np.ndarray) -> None:
    """Rewards, and the returns-to-go summed from them, must fit float32 (the store's dtype): 1e38 per step, or
    1e39 in a float64 column, would become inf or NaN returns-to-go and targets."""
    limit = float(np.finfo(np.float32).max)
    rewards = column.values.astype(np.float64)
    too_large = np.flatnonzero(np.abs(rewards) > limit)
    if too_large.size:
        e, t = _step_of(int(too_large[0]), lengths)
        raise ValueError(
            f"episode {e}: column 'rewards' holds {rewards[too_large[0]]:.3g} at step {t}, beyond float32's range "
            f"(±{limit:.3g}); scale the rewards down"
        )
    cumulative = np.cumsum(rewards)
    ends = np.repeat(np.cumsum(lengths) - 1, lengths)
    returns_to_go = cumulative[ends] - cumulative + rewards  # Σ_{t' >= t} r_t' within the episode
    too_large = np.flatnonzero(~(np.abs(returns_to_go) <= limit))
    if too_large.size:
        e, t = _step_of(int(too_large[0]), lengths)
        raise ValueError(
            f"episode {e}: the returns-to-go of column 'rewards' reach {returns_to_go[too_large[0]]:.3g} at step {t}, "
            f"beyond float32's range (±{limit:.3g}); scale the rewards down"
        )


def _require_consistent_flags(terminals: np.ndarray, timeouts: np.ndarray, lengths: np.ndarray) -> None:
    """An episode ends once, at its last step: a terminal or timeout flag elsewhere would be summed across in the
    returns-to-go, and a step cannot both terminate and be truncated."""
    last = np.zeros(len(terminals), dtype=bool)
    last[np.cumsum(lengths) - 1] = True
    for name, flags in (("terminals", terminals), ("timeouts", timeouts)):
        early = np.flatnonzero(flags & ~last)
        if early.size:
            e, t = _step_of(int(early[0]), lengths)
            raise ValueError(
                f"episode {e}: column {name!r} is True at step {t} of {lengths[e]}: only an episode's last step may "
                "end it (split the episode after that step, or clear the flag)"
            )
    both = np.flatnonzero(terminals & timeouts)
    if both.size:
        e, t = _step_of(int(both[0]), lengths)
        raise ValueError(
            f"episode {e}: step {t} is flagged both in column 'terminals' and in 'timeouts'; an episode ends one way "
            "(a step where the env terminated is terminal: clear its timeout)"
        )


def _vector_values(column: _Column, dim_name: str, expected: int | None) -> np.ndarray:
    _require_rank(column, 2)
    size = column.values.shape[1]
    if expected is not None and size != expected:
        raise ValueError(f"column {column.name!r} has steps of size {size}, expected {dim_name}={expected}")
    return column.values.astype(np.float32)


def _actions(column: _Column, lengths: np.ndarray, act_dim: int | None, action_space: str | None) -> np.ndarray:
    values = column.values
    if action_space is None:
        action_space = "discrete" if values.ndim == 1 and values.dtype.kind in "iub" else "continuous"
        if values.ndim == 1 and action_space == "continuous":
            raise ValueError(
                f"column 'actions' holds one {values.dtype} per step ([T]): continuous actions must be [T, act_dim] "
                "per episode. For discrete actions stored as floats, pass action_space='discrete' "
                "(--action_space discrete)"
            )
    if action_space == "continuous":
        _require_kind(column, ("float", "int"))
        actions = _vector_values(column, "act_dim", act_dim)
        _require_finite(column, lengths, actions)
        return actions
    if action_space != "discrete":
        raise ValueError(f"action_space must be 'continuous' or 'discrete', got {action_space!r}")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    _require_rank(_Column(column.name, column.lengths, values, column.value_type), 1)
    not_integral = ~np.isfinite(values) | (values != np.round(values)) if values.dtype.kind == "f" else None
    if not_integral is not None and not_integral.any():
        step = int(np.flatnonzero(not_integral)[0])
        raise ValueError(
            f"episode {_episode_of(step, lengths)}: column 'actions' must hold integer action indices for a "
            f"discrete action space, got {values[step]}"
        )
    high = act_dim if act_dim is not None else np.iinfo(np.int64).max + 1
    bad = np.flatnonzero((values < 0) | (values >= high))  # in the column's own dtype: a uint64 stays positive
    if bad.size:
        expected = f"out of range [0, {act_dim})" if act_dim is not None else "a discrete action index must be >= 0"
        if act_dim is None and values[bad[0]] >= 0:
            expected = "beyond int64's range"
        raise ValueError(
            f"episode {_episode_of(bad[0], lengths)}: column 'actions' holds action {values[bad[0]]}, {expected}"
        )
    return values.astype(np.int64)
