"""The results table's sensitivity probe on a tiny DT and a tiny dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import results_runs  # noqa: E402
import results_table  # noqa: E402

from hf_decision import DecisionTransformerModel  # noqa: E402
from hf_decision.data import DecisionCollator, TrajectoryStore  # noqa: E402
from tests.conftest import tiny_dt_config  # noqa: E402
from tests.trainers.tasks import HORIZON, two_behaviour_dataset  # noqa: E402


def probe(condition_on_returns: bool) -> dict:
    torch.manual_seed(0)
    model = DecisionTransformerModel(
        tiny_dt_config(
            state_dim=2, act_dim=1, context_length=4, max_ep_len=200, condition_on_returns=condition_on_returns
        )
    ).train()
    store = TrajectoryStore.from_dataset(two_behaviour_dataset())
    collator = DecisionCollator(store, 4, return_scale=HORIZON)
    result = results_runs.conditioning_probe(model, collator, store, windows=512, seed=0)
    assert model.training  # put back as it was
    return result


def test_probe_measures_what_the_action_depends_on():
    dt, bc = probe(True), probe(False)
    assert dt["windows"] == bc["windows"] == 40 * (HORIZON - 4 + 1)  # every complete window: fewer than asked for
    assert dt["rtg_x1.5"] > 0 and dt["timestep_plus_100"] > 0 and dt["mean_abs_action"] > 0
    assert bc["rtg_x1.5"] == 0.0  # BC never sees the returns
    assert bc["timestep_plus_100"] > 0


def test_probe_is_seeded():
    assert probe(True) == pytest.approx(probe(True))


def test_budget_line_names_only_the_settings_of_the_rendered_rows():
    budget = results_table.BUDGETS["cpu"]

    def line(*rows: str) -> str:
        args = argparse.Namespace(device="cpu", rows=rows, lm_coef=0.1, lora_r=8)
        return results_table.budget_line("cpu", budget, args, "GPT-2 (local)", {})

    lora = line("dt_pretrained", "dt_lora")
    assert "LoRA rank 8" in lora and "λ" not in lora and "d3rlpy" not in lora
    full = line("dt", "dt_pretrained", "dt_lm", "bc", "d3rlpy_dt")
    assert "λ = 0.1" in full and "(d3rlpy rows: 0, 1, 2)" in full and "LoRA" not in full
    assert "GPT-2" not in line("dt", "bc")
