"""The Online DT benchmark's report, from synthetic seeds, and the recipe it reads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("rliable", reason="the `stats` extra (rliable) is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import online_dt  # noqa: E402

from tests.benchmarks.synthetic import ret  # noqa: E402


def arm(scores: list[float], **extra) -> dict:
    curve = [{"step": 1000 * (i + 1), "mean_return": ret(s), "std_return": 1.0} for i, s in enumerate(scores)]
    return {"curve": curve, "seconds": 60.0, **extra}


def test_report_of_three_seeds_by_hand():
    runs = [
        {
            "seed": s,
            "offline": arm([10.0 + s, 20.0 + s]),
            "online": arm([30.0, 40.0 + s], env_steps=1000 * (s + 1), episodes=30),
            "control": arm([35.0 + s, 30.0 + s]),
        }
        for s in range(3)
    ]
    summary, table = online_dt.render("Hopper-v5", "medium-replay", runs, "header")
    arms = summary["arms"]
    assert arms["offline"]["final"]["values"] == pytest.approx([20.0, 21.0, 22.0])
    assert arms["online"]["final"]["mean_ci"]["value"] == pytest.approx(41.0)
    assert arms["control"]["best"]["values"] == pytest.approx([35.0, 36.0, 37.0])  # best of its own evaluations
    improvement = summary["improvement"]
    assert improvement["online > offline"]["value"] == improvement["online > control"]["value"] == 1.0
    assert improvement["control > offline"]["value"] == 1.0
    assert summary["env_steps"] == [1000, 2000, 3000]
    assert "| + online fine-tuning (after) | 3 | 41.0 [" in table and "2,000 env steps on average" in table


def test_the_online_recipe_comes_from_the_odt_config():
    recipe = online_dt.odt_recipe("Hopper-v5")
    assert {*online_dt.OPTIMIZER_KEYS, *online_dt.ONLINE_KEYS} <= set(recipe)
    assert recipe["exploration_target_return"] == 7200 and recipe["gradient_steps_per_round"] == 300
