import json
from pathlib import Path

import numpy as np
import pytest

from hf_decision.commands import demo


def test_without_any_text_the_demo_says_so_and_uses_a_random_backbone(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(demo, "hub_reachable", lambda timeout=5.0: False)
    monkeypatch.setenv("HF_DECISION_SHARED_DATA", str(tmp_path / "nowhere"))
    backbone, language = demo.pretrained_backbone(demo.BUDGETS["small"], demo.local_text(None), seed=0)
    assert (backbone, language) == (None, {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "no text corpus reachable" in lines[0] and "λ = 0" in lines[0]


def test_a_missing_text_path_counts_as_no_text(tmp_path, monkeypatch):
    monkeypatch.delenv(demo.TEXT_ENV, raising=False)
    assert demo.local_text(str(tmp_path / "missing")) is None
    (tmp_path / "corpus.txt").write_text("hello\n")
    assert demo.local_text(str(tmp_path / "corpus.txt")) == tmp_path / "corpus.txt"


def _result(returns):
    return {"mean_return": float(np.mean(returns)), "returns": list(returns)}


def test_follows_target_asks_for_a_rise_within_one_standard_error():
    low, mid, high = [20.0, 22.0, 18.0, 20.0], [200.0, 260.0, 140.0, 200.0], [480.0, 500.0, 500.0, 460.0]
    assert demo.follows_target({10.0: _result(low), 150.0: _result(mid), 500.0: _result(high)})
    # a dip at the top larger than one standard error of the difference (mid: 21.2, high: 8.3) is not following
    dipped = [150.0, 150.0, 150.0, 150.0]
    assert not demo.follows_target({10.0: _result(low), 150.0: _result(mid), 500.0: _result(dipped)})
    # a dip smaller than that is noise: 180 >= 200 - sqrt(21.2² + 0²)
    assert demo.follows_target({10.0: _result(low), 150.0: _result(mid), 500.0: _result([180.0] * 4)})
    # flat (BC-like) returns do not follow: the top must reach twice the bottom
    flat = {t: _result([30.0, 34.0, 26.0, 30.0]) for t in (10.0, 150.0, 500.0)}
    assert not demo.follows_target(flat)


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path, monkeypatch):
    """The whole pipeline on the small budget: a sweep of targets, BC beside it, the agent folder complete."""
    monkeypatch.setenv("HF_DECISION_CACHE", str(tmp_path / "cache"))
    result = demo.main(["--budget", "small", "--output_dir", str(tmp_path / "out")])
    folder = Path(result["agent_dir"])
    expected = ("config.json", "model.safetensors", "README.md", "results.json", "evaluation.png", "conditioning.png")
    for name in expected:
        assert (folder / name).exists(), name
    saved = json.loads((folder / "results.json").read_text())
    assert len(saved["evaluation"]) >= 4 and set(saved["references"]) == {"BC"}
    for entry in saved["evaluation"].values():
        assert len(entry["returns"]) == demo.BUDGETS["small"].eval_episodes
    assert "conditioning.png" in (folder / "README.md").read_text()
