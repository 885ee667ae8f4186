"""Share trained agents: the agent folder (weights, config with its statistics, model card, results, plots, replay)
and one-commit pushes of it to the Hugging Face Hub. The card itself is rendered and checked by `hf_decision.cards`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi

import hf_decision
from hf_decision.cards import per_target_results, render_model_card
from hf_decision.plots import plot_evaluation_history, plot_return_conditioning

AGENT_FILES = ("config.json", "model.safetensors", "README.md", "results.json")
PLOT_FILE, VIDEO_FILE, CONDITIONING_FILE = "evaluation.png", "replay.mp4", "conditioning.png"


def save_agent_folder(
    model,
    folder: str | Path,
    *,
    eval_results: Mapping[str, Any] | None = None,
    dataset_id: str | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
    video_path: str | Path | None = None,
    training_args: Any = None,
    dataset_statistics: Mapping[str, Any] | None = None,
    repo_id: str | None = None,
    license: str = "other",
    dataset_returns: Sequence[float] | None = None,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    onnx: bool = False,
) -> Path:
    """Write the agent folder that `push_agent_to_hub` uploads, and return it.

    It holds `model.safetensors` and `config.json` (architecture and data statistics: the model acts on its own;
    for a LoRA model, `adapter_model.safetensors` and `adapter_config.json` in place of `model.safetensors`),
    `README.md` (the card), `results.json` (evaluation per target, training-data statistics, evaluation history),
    `evaluation.png` when `history` (the `EnvironmentEvaluationCallback.history` entries) is given (needs the `plots`
    extra), `replay.mp4`, a copy of `video_path`, when given, and for a Decision Transformer evaluated at two or
    more targets `conditioning.png`, the achieved return against the target return (`plot_return_conditioning`,
    `plots` extra) with the histogram of `dataset_returns` (the training episodes' returns) beside it when given.
    `references` (name → an `evaluate` result of an agent that ignores the target, e.g. `{"BC": ...}`) are drawn
    as flat lines in that plot and kept in `results.json`. With `onnx`, also `model.onnx`, the model exported by
    `hf_decision.export.export_onnx` (`onnx` extra), which `hf_decision.export.load_onnx_agent` acts with.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    per_target = per_target_results(eval_results)
    model.save_pretrained(folder)
    if onnx:
        from hf_decision.export import ONNX_FILE, export_onnx  # the optional `onnx` extra, imported only when asked

        export_onnx(model, folder / ONNX_FILE)
    plot_path = None
    if history:
        plot_path = plot_evaluation_history(history, folder / PLOT_FILE)
    conditioning_path = None
    swept = {t: r for t, r in per_target.items() if t is not None}
    if len(swept) >= 2:  # only an agent conditioned on a target return is evaluated per target
        flat = {name: (r["mean_return"], r["std_return"]) for name, r in (references or {}).items()}
        conditioning_path = plot_return_conditioning(
            swept,
            folder / CONDITIONING_FILE,
            dataset_returns=dataset_returns,
            flat=flat or None,
            title=model.config.env_id,
        )
    video_copy = None
    if video_path is not None:
        video_copy = folder / VIDEO_FILE
        if Path(video_path).resolve() != video_copy.resolve():
            shutil.copyfile(video_path, video_copy)
    results = {
        "env_id": model.config.env_id,
        "evaluation": {str(target): r for target, r in per_target.items()},
        "dataset_id": dataset_id,
        "dataset": dict(dataset_statistics) if dataset_statistics else None,
        "dataset_returns": [float(r) for r in dataset_returns] if dataset_returns is not None else None,
        "history": [dict(entry) for entry in history] if history else None,
        "references": {name: dict(r) for name, r in references.items()} if references else None,
        "hf_decision_version": hf_decision.__version__,
    }
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    card = render_model_card(
        model,
        eval_results=per_target,
        dataset_id=dataset_id,
        training_args=training_args,
        dataset_statistics=dataset_statistics,
        plot_path=plot_path,
        video_path=video_copy,
        repo_id=repo_id,
        license=license,
        conditioning_path=conditioning_path,
    )
    card.save(folder / "README.md")
    return folder


def push_agent_to_hub(
    model,
    repo_id: str,
    *,
    eval_results: Mapping[str, Any] | None = None,
    dataset_id: str | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
    video_path: str | Path | None = None,
    training_args: Any = None,
    dataset_statistics: Mapping[str, Any] | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload an agent trained with hf_decision",
    license: str = "other",
    endpoint: str | None = None,
    dataset_returns: Sequence[float] | None = None,
    onnx: bool = False,
) -> str:
    """Push the agent folder (see `save_agent_folder`; `onnx` adds `model.onnx`) to the Hub model repo `repo_id`
    in one commit.

    The repo is created if needed. `endpoint` defaults to `HF_ENDPOINT` (huggingface.co). Returns the commit URL.
    """
    api = HfApi(endpoint=endpoint, token=token)
    repo_url = api.create_repo(repo_id, exist_ok=True, private=private)
    with tempfile.TemporaryDirectory(prefix="hf_decision-agent-") as tmp:
        folder = save_agent_folder(
            model,
            tmp,
            eval_results=eval_results,
            dataset_id=dataset_id,
            history=history,
            video_path=video_path,
            training_args=training_args,
            dataset_statistics=dataset_statistics,
            repo_id=repo_url.repo_id or repo_id,
            license=license,
            dataset_returns=dataset_returns,
            onnx=onnx,
        )
        commit = api.upload_folder(
            repo_id=repo_url.repo_id or repo_id, folder_path=folder, commit_message=commit_message
        )
    return str(commit.commit_url)
