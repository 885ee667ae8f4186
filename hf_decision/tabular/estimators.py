"""Q estimates from offline data: fitted Q iteration, certainty equivalence (count-based model), Monte Carlo.

The data are transitions `(s_i, a_i, r_i, s_{i+1}, terminated_i)` (see `hf_decision.tabular.data`), counted per pair:

    N(s, a)   = #{i : (s_i, a_i) = (s, a)}

A pair with N(s, a) = 0 has no estimate: its Q is −inf (see `hf_decision.tabular.model`).
"""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from hf_decision.objectives.returns import discounted_returns_to_go
from hf_decision.tabular.data import TabularData, TabularEpisodes, as_episodes, as_transitions
from hf_decision.tabular.model import UNVISITED, TabularModel, iterate_bellman, value_iteration


def estimate_model(data: TabularData, n_states: int, n_actions: int) -> TabularModel:
    """The count-based (maximum-likelihood) model of the transitions in `data`:

        N(s, a)         = #{i : (s_i, a_i) = (s, a)}
        r̂(s, a)         = 1/N(s, a) Σ_{i : (s_i, a_i) = (s, a)} r_i
        P̂(s' | s, a)    = #{i : (s_i, a_i, s_{i+1}) = (s, a, s'), not terminated_i} / N(s, a)
        P̂_end(s, a)     = #{i : (s_i, a_i) = (s, a), terminated_i} / N(s, a)

    so that Σ_{s'} P̂(s' | s, a) + P̂_end(s, a) = 1 for every visited pair; r̂, P̂, P̂_end are 0 where N(s, a) = 0.

    Args:
        data: a canonical episode dataset whose observations are state indices (`[T, 1]`), `TabularEpisodes`, or
            `TabularTransitions`.
        n_states, n_actions: S and A.

    Raises:
        ValueError: naming the episode (or transition), for a state or action out of range or a non-integer state.
    """
    transitions = as_transitions(data, n_states, n_actions)
    pair = transitions.states * n_actions + transitions.actions
    counts = np.bincount(pair, minlength=n_states * n_actions).astype(np.float64)
    reward_sums = np.bincount(pair, weights=transitions.rewards, minlength=n_states * n_actions)
    ends = np.bincount(pair, weights=transitions.terminations, minlength=n_states * n_actions)
    going = ~transitions.terminations
    next_counts = np.bincount(
        pair[going] * n_states + transitions.next_states[going], minlength=n_states * n_actions * n_states
    )
    safe = np.maximum(counts, 1.0)
    return TabularModel(
        R=(reward_sums / safe).reshape(n_states, n_actions),
        P=(next_counts.reshape(-1, n_states) / safe[:, None]).reshape(n_states, n_actions, n_states),
        terminal=(ends / safe).reshape(n_states, n_actions),
        counts=counts.astype(np.int64).reshape(n_states, n_actions),
    )


def fitted_q_iteration(
    dataset: TabularData, n_states: int, n_actions: int, gamma: float, n_iters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Tabular fitted Q iteration: `n_iters` sweeps, from Q = 0, of

        Q(s, a) ← 1/N(s, a) Σ_{i : (s_i, a_i) = (s, a)} (r_i + γ V(s_{i+1})),     V(s) ← max_a Q(s, a),

    where the term γ V(s_{i+1}) is dropped for a transition that terminated (a truncated one bootstraps).

    The sum over transitions is computed grouped by (s, a, s'): it equals r̂(s, a) + γ Σ_{s'} P̂(s' | s, a) V(s')
    with the counts of `estimate_model`, so one sweep costs O(S²A) whatever the dataset size. With enough sweeps
    the result is the `certainty_equivalence` fixed point.

    Args:
        dataset: a canonical episode dataset whose observations are state indices, `TabularEpisodes`, or
            `TabularTransitions` (see `hf_decision.tabular.data`).
        n_states, n_actions: S and A.
        gamma: the discount γ ∈ [0, 1].
        n_iters: the number of sweeps.

    Returns:
        (Q, V): `[S, A]` and `[S]`; Q = −inf where N(s, a) = 0 and V(s) = 0 for a state with no visited action.
    """
    if n_iters < 0:
        raise ValueError(f"n_iters must be >= 0, got {n_iters}")
    Q, V, _ = iterate_bellman(estimate_model(dataset, n_states, n_actions), gamma, n_iters)
    return Q, V


def certainty_equivalence(
    dataset: TabularData, n_states: int, n_actions: int, gamma: float, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Model-based estimate: `value_iteration` on the `estimate_model` of the data, as if r̂ and P̂ were the truth.

        Q̂(s, a) = r̂(s, a) + γ Σ_{s'} P̂(s' | s, a) max_{a'} Q̂(s', a')

    Returns (Q, V) with the conventions of `fitted_q_iteration` for unvisited pairs.
    """
    return value_iteration(estimate_model(dataset, n_states, n_actions), gamma, tol=tol)


def monte_carlo_returns(
    dataset: Dataset | TabularEpisodes, n_states: int, n_actions: int, gamma: float, first_visit: bool = True
) -> np.ndarray:
    """Monte Carlo estimate of Q^μ, the value of the policy μ that collected the episodes:

        G_t = Σ_{k=t}^{T−1} γ^{k−t} r_k,        Q(s, a) = mean of G_t over the visits t with (s_t, a_t) = (s, a),

    where T is the length of the stored episode (a truncated episode's return stops at the truncation) and a visit
    is the first occurrence of (s, a) in its episode (`first_visit=True`) or every occurrence.

    Args:
        dataset: a canonical episode dataset whose observations are state indices, or `TabularEpisodes`.
        n_states, n_actions: S and A.
        gamma: the discount γ ∈ [0, 1].
        first_visit: average over first visits only.

    Returns:
        Q: `[S, A]`, −inf where no visit was observed.
    """
    episodes = as_episodes(dataset, n_states, n_actions)
    returns = discounted_returns_to_go(episodes.rewards, episodes.episode_lengths, gamma)
    pair = episodes.states * n_actions + episodes.actions
    if first_visit:
        episode = np.repeat(np.arange(len(episodes.episode_lengths)), episodes.episode_lengths)
        _, first = np.unique(episode * (n_states * n_actions) + pair, return_index=True)
        pair, returns = pair[first], returns[first]
    counts = np.bincount(pair, minlength=n_states * n_actions)
    sums = np.bincount(pair, weights=returns, minlength=n_states * n_actions)
    Q = np.where(counts > 0, sums / np.maximum(counts, 1), UNVISITED)
    return Q.reshape(n_states, n_actions)
