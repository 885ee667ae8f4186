"""Dynamic programming on a tabular model: value iteration, policy evaluation, greedy policies.

A `TabularModel` over S states and A actions holds dense arrays (sized for toy-text envs):

    r(s, a)         = E[r | s, a]                                    `R`, [S, A]
    P(s' | s, a)    = Pr(s_{t+1} = s', not terminated | s, a)        `P`, [S, A, S]
    P_end(s, a)     = Pr(terminated | s, a) = 1 − Σ_{s'} P(s' | s, a)  `terminal`, [S, A]

`P` keeps the continuing transitions only, because a terminated transition does not bootstrap: the Bellman
optimality backup is

    Q(s, a) ← r(s, a) + γ Σ_{s'} P(s' | s, a) V(s'),        V(s) ← max_a Q(s, a).

A model estimated from data also holds the counts N(s, a). A pair with N(s, a) = 0 has no estimate: its Q is −inf,
so that max and argmax pick among the actions the data holds, and V(s) = 0 for a state without any such action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# gymnasium toy-text `env.unwrapped.P`: state -> action -> [(probability, next state, reward, terminated), ...]
GymTransitions = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]]

UNVISITED = -np.inf  # Q(s, a) of a pair the data does not hold


@dataclass
class TabularModel:
    """r(s, a), P(s' | s, a) (continuing transitions) and P_end(s, a), with counts N(s, a) when estimated from data.

    Attributes:
        R: `[S, A]` expected reward r(s, a).
        P: `[S, A, S]` probability of moving to s' without terminating.
        terminal: `[S, A]` probability of terminating; `P.sum(-1) + terminal` is 1 (0 where N(s, a) = 0).
        counts: `[S, A]` N(s, a) for a model estimated from data; None for a known model (every pair is known).
    """

    R: np.ndarray
    P: np.ndarray
    terminal: np.ndarray
    counts: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_states, n_actions = self.R.shape
        expected = {"P": (n_states, n_actions, n_states), "terminal": (n_states, n_actions)}
        if self.counts is not None:
            expected["counts"] = (n_states, n_actions)
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name!r} must have shape {list(shape)}, got {list(getattr(self, name).shape)}")

    @property
    def n_states(self) -> int:
        return int(self.R.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.R.shape[1])

    @property
    def known(self) -> np.ndarray:
        """`[S, A]` bool: the pairs the model has an estimate for (N(s, a) > 0; all of them for a known model)."""
        if self.counts is None:
            return np.ones((self.n_states, self.n_actions), dtype=bool)
        return self.counts > 0


def tabular_model(P: GymTransitions) -> TabularModel:
    """The `TabularModel` of a gymnasium toy-text `env.unwrapped.P` (state -> action -> [(p, s', r, terminated)]).

    r(s, a) = Σ p·r over the listed outcomes; P(s' | s, a) sums p over the outcomes to s' that do not terminate;
    P_end(s, a) sums p over those that terminate.

    Raises:
        ValueError: naming the state and action, when the states are not 0..S−1, a state lacks an action, a next
            state is out of range, or the probabilities do not sum to 1.
    """
    n_states = len(P)
    if sorted(P) != list(range(n_states)):
        raise ValueError(f"the states of P must be 0..{n_states - 1}, got keys {sorted(P)[:5]}...")
    n_actions = len(P[0])
    R = np.zeros((n_states, n_actions))
    P_next = np.zeros((n_states, n_actions, n_states))
    terminal = np.zeros((n_states, n_actions))
    for s in range(n_states):
        if sorted(P[s]) != list(range(n_actions)):
            raise ValueError(f"state {s}: the actions of P must be 0..{n_actions - 1}, got {sorted(P[s])}")
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                if not 0 <= int(next_state) < n_states:
                    raise ValueError(f"state {s}, action {a}: next state {next_state} out of range [0, {n_states})")
                R[s, a] += prob * reward
                if terminated:
                    terminal[s, a] += prob
                else:
                    P_next[s, a, int(next_state)] += prob
            total = P_next[s, a].sum() + terminal[s, a]
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"state {s}, action {a}: the outcome probabilities sum to {total}, not 1")
    return TabularModel(R, P_next, terminal)


def as_model(P: TabularModel | GymTransitions) -> TabularModel:
    """`P` itself when it is a `TabularModel`, else the model of a gymnasium `env.unwrapped.P`."""
    return P if isinstance(P, TabularModel) else tabular_model(P)


def state_values(Q: np.ndarray) -> np.ndarray:
    """V(s) = max_a Q(s, a); 0 for a state whose every action is unvisited (Q = −inf)."""
    V = Q.max(axis=1)
    return np.where(np.isneginf(V), 0.0, V)


def bellman_backup(model: TabularModel, V: np.ndarray, gamma: float) -> np.ndarray:
    """Q(s, a) = r(s, a) + γ Σ_{s'} P(s' | s, a) V(s'); −inf where the model has no estimate."""
    Q = model.R + gamma * (model.P @ V)
    return np.where(model.known, Q, UNVISITED)


def _check_gamma(gamma: float) -> None:
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}")


def iterate_bellman(
    model: TabularModel, gamma: float, n_iters: int, tol: float = 0.0
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Up to `n_iters` Bellman optimality backups from Q = 0; stop early once max |Q_{k+1} − Q_k| ≤ tol.

    Returns (Q, V, converged), V(s) = max_a Q(s, a); `converged` tells whether the tolerance was met.
    """
    _check_gamma(gamma)
    known = model.known
    Q = np.where(known, 0.0, UNVISITED)
    for _ in range(n_iters):
        new_Q = bellman_backup(model, state_values(Q), gamma)
        change = np.abs(new_Q[known] - Q[known]).max(initial=0.0)
        Q = new_Q
        if change <= tol:
            return Q, state_values(Q), True
    return Q, state_values(Q), False


def value_iteration(
    P: TabularModel | GymTransitions, gamma: float, tol: float = 1e-10, max_iters: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values Q*, V* of a known model, by value iteration to a fixed point.

    Iterates Q(s, a) ← r(s, a) + γ Σ_{s'} P(s' | s, a) V(s'), V(s) ← max_a Q(s, a) (terminated transitions do not
    bootstrap) until the largest change is at most `tol`; the distance to the fixed point is then ≤ tol·γ/(1 − γ).

    Args:
        P: a gymnasium toy-text `env.unwrapped.P` (state -> action -> [(p, s', r, terminated)]), or a `TabularModel`
            (for an estimated model, pairs with N(s, a) = 0 get Q = −inf).
        gamma: the discount γ ∈ [0, 1].
        tol: stop once max_{s,a} |Q_{k+1}(s, a) − Q_k(s, a)| ≤ tol.
        max_iters: give up after this many backups.

    Returns:
        (Q, V): `[S, A]` and `[S]` float64 arrays.

    Raises:
        RuntimeError: when the tolerance is not met within `max_iters` (e.g. γ = 1 with a policy that never ends).
    """
    Q, V, converged = iterate_bellman(as_model(P), gamma, max_iters, tol)
    if not converged:
        raise RuntimeError(f"value iteration did not reach tol={tol} within {max_iters} iterations (gamma={gamma})")
    return Q, V


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """π(s) = argmax_a Q(s, a), `[S]` int64; ties go to the lowest action (unvisited pairs, at −inf, lose to any)."""
    return np.argmax(Q, axis=1).astype(np.int64)


def policy_evaluation(
    P: TabularModel | GymTransitions, policy: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Q^π, V^π of a policy on a model, exactly: V^π solves (I − γ P_π) V = r_π.

    Here r_π(s) = Σ_a π(a|s) r(s, a), P_π(s, s') = Σ_a π(a|s) P(s' | s, a), and Q^π(s, a) = r(s, a) + γ Σ_{s'}
    P(s' | s, a) V^π(s').

    Args:
        P: a gymnasium toy-text `env.unwrapped.P` or a `TabularModel`.
        policy: `[S]` action indices (deterministic) or `[S, A]` probabilities π(a|s).
        gamma: the discount γ ∈ [0, 1] (γ = 1 needs every state to reach termination under π).

    Raises:
        ValueError: for a policy of the wrong shape, or one that takes a pair the (estimated) model has no data for.
    """
    model = as_model(P)
    _check_gamma(gamma)
    policy = np.asarray(policy)
    if policy.shape == (model.n_states,):
        pi = np.zeros((model.n_states, model.n_actions))
        pi[np.arange(model.n_states), policy.astype(np.int64)] = 1.0
    elif policy.shape == (model.n_states, model.n_actions):
        pi = policy.astype(np.float64)
    else:
        raise ValueError(
            f"policy must be [S]={[model.n_states]} or [S, A]={[model.n_states, model.n_actions]}, "
            f"got {list(policy.shape)}"
        )
    blind = np.flatnonzero(((pi > 0) & ~model.known).any(axis=1))
    if blind.size:
        raise ValueError(f"state {blind[0]}: the policy takes an action the model has no data for")
    r_pi = (pi * model.R).sum(axis=1)
    P_pi = np.einsum("sa,sat->st", pi, model.P)
    V = np.linalg.solve(np.eye(model.n_states) - gamma * P_pi, r_pi)
    return bellman_backup(model, V, gamma), V
