"""Bad-input cases of datasets, round 2: inconsistent episode flags and returns beyond float32's range.
`CASES` joins the table of `test_bad_input.py`."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hf_decision import DecisionTransformerModel
from hf_decision.data import canonicalize, dataset_from_flat
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
    "trainer: a dataset whose returns-to-go overflow float32": Case(
        train_on_huge_rewards,
        ValueError,
        r"episode 0: the returns-to-go are inf at step 0: the rewards \(or their sum\) are beyond float32's range",
    ),
}
