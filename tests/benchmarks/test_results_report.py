"""The results table's report: per-cell and over-cell rliable aggregates, tables and plots from synthetic runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rliable", reason="the `stats` extra (rliable) is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import results_report  # noqa: E402

from hf_decision.evaluation import normalized_score  # noqa: E402
from tests.benchmarks.synthetic import ret  # noqa: E402

LABELS = {"dt": "DT", "bc": "BC", "d3rlpy_dt": "d3rlpy DT", "dt_pretrained": "DT (GPT-2 init)"}
REPS = 50  # bootstrap resamples: the point estimates checked here do not depend on them


def run(seed: int, scores: list[float], sweep: dict[float, float] | None = None) -> dict:
    curve = [{"step": 100 * (i + 1), "mean_return": ret(s), "std_return": 1.0} for i, s in enumerate(scores)]
    out = {"seed": seed, "curve": curve, "seconds": 10.0}
    if sweep:
        out["sweep"] = [
            {"target_return": t, "mean_return": r, "std_return": 0.0, "returns": [r]} for t, r in sweep.items()
        ]
    return out


def cells():
    medium = {
        "dt": [run(s, [20 + s, 40 + s], {1000.0: 900 + s, 2000.0: 1500 + s}) for s in range(5)],
        "bc": [run(s, [10 + s, 30 + s]) for s in range(5)],
        "d3rlpy_dt": [run(s, [50 + s, 35 + s]) for s in range(3)],
        "dt_pretrained": [run(s, [41 + s, 45 + s]) for s in range(5)],
    }
    replay = {
        "dt": [run(s, [5.0, 10.0 + s]) for s in range(4)],
        "bc": [run(s, [5.0, 12.0 + s]) for s in range(4)],
        "d3rlpy_dt": [{"seed": 0, "unavailable": "no d3rlpy here"}],
    }
    runs = {
        "Hopper-v5": {
            "medium": {"data": "m", "rows": medium, "dataset_returns": [800.0, 1200.0, 1600.0]},
            "medium-replay": {"data": "r", "rows": replay},
        }
    }
    return results_report.aggregate(runs, ["Hopper-v5"], reps=REPS)


def test_cell_scores_iqm_and_improvement_by_hand():
    cell = cells()["Hopper-v5"]["medium"]
    dt, d3 = cell["rows"]["dt"], cell["rows"]["d3rlpy_dt"]
    assert dt["final"]["values"] == pytest.approx([40, 41, 42, 43, 44])
    assert dt["best"]["values"] == pytest.approx([40, 41, 42, 43, 44])
    assert d3["best"]["values"] == pytest.approx([50, 51, 52])  # best of the periodic evaluations, not the last
    assert dt["final"]["iqm"]["value"] == pytest.approx(42.0)  # trims one run at each end: mean of 41, 42, 43
    assert dt["final"]["iqm"]["low"] <= 42.0 <= dt["final"]["iqm"]["high"]
    # every final DT score (40..44) beats every BC one (30..34); d3rlpy's 35..37 lose to all of them on final
    # scores but win on best (50..52)
    assert cell["improvement"]["dt > bc"]["final"]["value"] == 1.0
    assert cell["improvement"]["dt > d3rlpy_dt"]["final"]["value"] == 1.0
    assert cell["improvement"]["dt > d3rlpy_dt"]["best"]["value"] == 0.0
    # GPT-2 init reaches the random-init DT's final seed mean (42) at its first evaluation (41..45, mean 43)
    assert cell["rows"]["dt_pretrained"]["steps_to_dt_final"] == 100
    sweep = {p["target_return"]: p for p in dt["sweep"]}
    assert sweep[1000.0]["mean"] == pytest.approx(902.0) and sweep[2000.0]["runs"] == [1500, 1501, 1502, 1503, 1504]


def test_overall_uses_rows_present_in_every_cell_and_the_fewest_runs():
    summary = results_report.overall(cells(), reps=REPS)
    assert summary["cells"] == ["Hopper-v5 medium", "Hopper-v5 medium-replay"]
    assert set(summary["rows"]) == {"dt", "bc"}  # d3rlpy is unavailable in one cell, dt_pretrained missing there
    assert summary["rows"]["dt"]["runs_per_cell"] == 4  # medium-replay has 4 seeds: the first 4 of medium are used
    # mean over the [4 runs, 2 cells] final scores: (40+41+42+43 + 10+11+12+13) / 8 = 26.5
    assert summary["rows"]["dt"]["final"]["mean_ci"]["value"] == pytest.approx(26.5)
    # per cell P(dt > bc): medium 1.0; replay: 10..13 against 12..15 -> wins 1+0.5... by hand below
    x, y = np.array([10.0, 11, 12, 13]), np.array([12.0, 13, 14, 15])
    replay = np.mean([(a > b) + 0.5 * (a == b) for a in x for b in y])
    assert summary["improvement"]["dt > bc"]["final"]["value"] == pytest.approx((1.0 + replay) / 2)


def test_table_and_conditioning_plot(tmp_path):
    cell_map = cells()
    summary = results_report.overall(cell_map, reps=REPS)
    table = results_report.render_table("header", cell_map, LABELS, {}, summary)
    assert "| Hopper-v5 | medium | DT | 5 | 42.0 [" in table
    assert "| Hopper-v5 | medium-replay | d3rlpy DT | — | unavailable: no d3rlpy here |" in table
    assert "| DT > BC | 1.00 [1.00, 1.00] |" in table
    assert "Over all cells (Hopper-v5 medium, Hopper-v5 medium-replay;" in table
    # the sweep table: targets as columns, BC's final return (seed mean of 30..34 -> score 32) in every column
    bc_return = ret(32.0)
    assert "| Method | 1000 | 2000 |" in table and "| DT | 902 ± 1 | 1502 ± 1 |" in table
    assert f"| BC (ignores the target: its final evaluation) | {bc_return:.0f} ± " in table
    assert "10/50/90 % 880 / 1200 / 1520, best 1600" in table
    pytest.importorskip("matplotlib")
    path = results_report.plot_conditioning(cell_map, LABELS, tmp_path / "c.png", "test")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert normalized_score("Hopper-v5", bc_return) == pytest.approx(32.0)
