import gymnasium as gym
import numpy as np

from hf_decision.tabular import TabularTransitions

# (env id, constructor kwargs, γ): γ keeps value iteration to a few hundred sweeps.
ENVS = {
    "FrozenLake-v1": ({"is_slippery": True}, 0.9),
    "CliffWalking-v1": ({}, 0.9),
    "Taxi-v4": ({}, 0.95),
}


def gym_transitions(env_id: str, **kwargs):
    """The `env.unwrapped.P` of a toy-text env: state -> action -> [(p, s', r, terminated)]."""
    env = gym.make(env_id, **kwargs)
    try:
        return env.unwrapped.P
    finally:
        env.close()


def sample_transitions(P, n_per_pair: int, seed: int = 0) -> TabularTransitions:
    """`n_per_pair` transitions of every (s, a), each drawn from the outcomes P[s][a] = [(p, s', r, terminated)].

    A uniform behaviour over every state and action, as a generative model gives it: each draw picks an outcome by
    inverse CDF over the outcomes of all pairs laid end to end (pair k's CDF shifted by k).
    """
    outcomes = [(s, a, *outcome) for s in P for a in P[s] for outcome in P[s][a]]
    s_out, a_out, p_out, next_out, r_out, term_out = (np.array(column) for column in zip(*outcomes, strict=True))
    n_actions = len(P[0])
    pair_out = s_out * n_actions + a_out
    shifted_cdf = pair_out + np.concatenate([np.cumsum(p_out[pair_out == k]) for k in np.unique(pair_out)])
    pairs = np.repeat(np.arange(len(P) * n_actions), n_per_pair)
    u = np.random.default_rng(seed).random(len(pairs))
    draw = np.minimum(np.searchsorted(shifted_cdf, pairs + u), len(shifted_cdf) - 1)
    return TabularTransitions(pairs // n_actions, pairs % n_actions, r_out[draw], next_out[draw], term_out[draw])
