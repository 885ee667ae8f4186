from pathlib import Path

import pytest

from hf_decision.commands import demo


def test_without_any_text_the_demo_says_so_and_uses_a_random_backbone(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(demo, "hub_reachable", lambda timeout=5.0: False)
    monkeypatch.setenv("HF_DECISION_SHARED_DATA", str(tmp_path / "nowhere"))
    backbone, language = demo.pretrained_backbone("small", demo.BUDGETS["small"], demo.local_text(None), seed=0)
    assert (backbone, language) == (None, {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "no text corpus reachable" in lines[0] and "λ = 0" in lines[0]


def test_a_missing_text_path_counts_as_no_text(tmp_path, monkeypatch):
    monkeypatch.delenv(demo.TEXT_ENV, raising=False)
    assert demo.local_text(str(tmp_path / "missing")) is None
    (tmp_path / "corpus.txt").write_text("hello\n")
    assert demo.local_text(str(tmp_path / "corpus.txt")) == tmp_path / "corpus.txt"


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path, monkeypatch):
    """The whole pipeline on the small budget: the DT beats the dataset's mean return, the agent folder is complete."""
    monkeypatch.setenv("HF_DECISION_CACHE", str(tmp_path / "cache"))
    result = demo.main(["--budget", "small", "--output_dir", str(tmp_path / "out")])
    assert result["beats_dataset_mean"]
    folder = Path(result["agent_dir"])
    for name in ("config.json", "model.safetensors", "README.md", "results.json", "evaluation.png"):
        assert (folder / name).exists(), name
    assert len(result["evaluation"]) == 2
