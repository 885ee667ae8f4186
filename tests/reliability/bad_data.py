"""Bad-input cases of datasets, round 2: inconsistent episode flags and returns beyond float32's range.
`CASES` joins the table of `test_bad_input.py`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hf_decision import DecisionTransformerModel
from hf_decision.data import canonicalize, dataset_from_flat, load_trajectories
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import tiny_dt_config
from tests.data.conftest import table_dataset as episodes
from tests.reliability.cases import Case


def float32_rewards(*episode_rewards):
    return pa.array(episode_rewards, type=pa.list_(pa.float32()))


def train_on_huge_rewards(tmp):
    """A dataset built directly (not through `load_trajectories`): one episode of 3 rewards of 2e38."""
    dataset = dataset_from_flat(
        np.zeros((3, 2)), np.zeros((3, 1)), np.full(3, 2e38), np.array([0, 0, 1], bool), np.zeros(3, bool), [3]
    )
    args = DecisionTransformerTrainingConfig(output_dir=str(tmp), report_to="none", use_cpu=True)
    return DecisionTransformerTrainer(DecisionTransformerModel(tiny_dt_config(state_dim=2, act_dim=1)), args, dataset)


def train_discrete(tmp, actions, act_dim: int = 2):
    """The tiny DT, discrete with `act_dim` actions, on one episode taking `actions`."""
    n = len(actions)
    terminals = np.arange(n) == n - 1
    dataset = dataset_from_flat(np.zeros((n, 2)), np.asarray(actions), np.ones(n), terminals, np.zeros(n, bool), [n])
    config = tiny_dt_config(state_dim=2, act_dim=act_dim, action_space="discrete")
    args = DecisionTransformerTrainingConfig(output_dir=str(tmp), report_to="none", use_cpu=True)
    return DecisionTransformerTrainer(DecisionTransformerModel(config), args, dataset)


def parquet_file(tmp: Path, rows: int = 2) -> Path:
    table = pa.table({"observations": [[[0.0, 1.0]] * 3, [[1.0, 2.0]] * 2], "rewards": [[1.0] * 3, [2.0] * 2]})
    path = tmp / "episodes.parquet"
    pq.write_table(table.slice(0, rows), path)
    return path


def truncated_parquet(tmp: Path) -> Path:
    path = parquet_file(tmp)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


CASES = {
    "dataset: a terminal flag in the middle of an episode": Case(
        lambda _: canonicalize(episodes(terminals=[[False, True, False], [False, True]])),
        ValueError,
        r"episode 0: column 'terminals' is True at step 1 of 3: only an episode's last step may end it",
    ),
    "dataset: a timeout flag in the middle of an episode": Case(
        lambda _: canonicalize(episodes(timeouts=[[False] * 3, [True, False]])),
        ValueError,
        r"episode 1: column 'timeouts' is True at step 0 of 2",
    ),
    "dataset: terminal and timeout on the same step": Case(
        lambda _: canonicalize(episodes(timeouts=[[False, False, True], [False, False]])),
        ValueError,
        r"episode 0: step 2 is flagged both in column 'terminals' and in 'timeouts'",
    ),
    "dataset: float32 rewards of 1e38 whose returns-to-go overflow": Case(
        lambda _: canonicalize(episodes(rewards=float32_rewards([1e38, 2e38, 1e38], [1.0, 1.0]))),
        ValueError,
        r"episode 0: the returns-to-go of column 'rewards' reach 4e\+38 at step 0, beyond float32's range",
    ),
    "dataset: a reward of 1e39 in a float64 column": Case(
        lambda _: canonicalize(episodes(rewards=[[1.0, 1e39, 1.0], [2.0, 2.0]])),
        ValueError,
        r"episode 0: column 'rewards' holds 1e\+39 at step 1, beyond float32's range",
    ),
    "dataset: discrete actions stored as floats, action_space not given": Case(
        lambda _: canonicalize(episodes(actions=[[0.0, 1.0, 2.0], [1.0, 0.0]])),
        ValueError,
        r"column 'actions' holds one float64 per step \(\[T\]\): .* pass action_space='discrete' "
        r"\(--action_space discrete\)",
    ),
    "dataset: a negative discrete action, act_dim not given": Case(
        lambda _: canonicalize(episodes(actions=[[0, 1, 2], [2, -1]])),
        ValueError,
        r"episode 1: column 'actions' holds action -1, a discrete action index must be >= 0",
    ),
    "dataset: a uint64 discrete action beyond int64": Case(
        lambda _: canonicalize(episodes(actions=pa.array([[0, 1, 2], [2, 2**64 - 1]], type=pa.list_(pa.uint64())))),
        ValueError,
        r"episode 1: column 'actions' holds action 18446744073709551615, beyond int64's range",
    ),
    "parquet: a truncated file": Case(
        lambda tmp: load_trajectories(truncated_parquet(tmp)),
        ValueError,
        r"episodes\.parquet is not a readable parquet file \(truncated or corrupted\?\)",
    ),
    "parquet: a file of 0 rows": Case(
        lambda tmp: load_trajectories(parquet_file(tmp, rows=0)),
        ValueError,
        r"episodes\.parquet hold 0 rows: no episode to load",
    ),
    "dataset: a relative path that does not exist": Case(
        lambda _: load_trajectories("no_such_dataset_folder"),
        FileNotFoundError,
        r"no_such_dataset_folder is not a local file or folder \(looked in .*\), and reading it as a Hub dataset",
    ),
    "trainer: a discrete action >= the model's act_dim": Case(
        lambda tmp: train_discrete(tmp, [0, 1, 2]),
        ValueError,
        r"the dataset holds discrete action 2 but the model config has act_dim=2 \(actions 0\.\.1\)",
    ),
    "trainer: continuous data for a discrete model": Case(
        lambda tmp: train_discrete(tmp, np.zeros((3, 1), np.float32)),
        ValueError,
        r"the dataset's actions are continuous \(discrete actions stored as floats\? .*\) but the model config's "
        r"action_space is 'discrete'",
    ),
    "trainer: a dataset whose returns-to-go overflow float32": Case(
        train_on_huge_rewards,
        ValueError,
        r"episode 0: the returns-to-go are inf at step 0: the rewards \(or their sum\) are beyond float32's range",
    ),
}
