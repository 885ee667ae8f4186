"""Synthetic Hopper returns for the benchmark report tests."""

RANDOM, EXPERT = -20.272305, 3234.3  # Hopper's D4RL references


def ret(score: float) -> float:
    """The Hopper return whose normalized score is `score`."""
    return RANDOM + score / 100 * (EXPERT - RANDOM)
