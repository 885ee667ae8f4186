"""Share trained Decision Transformers: a model card rendered from the package's template, the agent folder
(weights, config with its statistics, card, results, plot, replay) and one-commit pushes to the Hugging Face Hub.

The card's metadata follows what the Hub's reinforcement-learning pages read: `library_name: hf_decision`, the tags
`reinforcement-learning`, `decision-transformer`, `offline-rl` and the env id, and a `model-index` whose metrics are
`mean_reward` values written `"<mean> +/- <std>"`, one per evaluated target return (the first is the target the
agent uses by default).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

import hf_decision
from hf_decision.models.decision_transformer import DecisionTransformerModel

MODEL_CARD_TEMPLATE = files("hf_decision") / "templates" / "model_card.md"
LIBRARY_NAME = "hf_decision"
REQUIRED_TAGS = ("reinforcement-learning", "decision-transformer", "offline-rl")
AGENT_FILES = ("config.json", "model.safetensors", "README.md", "results.json")
PLOT_FILE, VIDEO_FILE, CONDITIONING_FILE = "evaluation.png", "replay.mp4", "conditioning.png"
_METRIC_VALUE = re.compile(r"^-?\d+\.\d{2} \+/- \d+\.\d{2}$")
_LOCAL_SUFFIXES = (".hdf5", ".h5", ".parquet", ".json", ".jsonl", ".csv", ".npz", ".pkl", ".txt", ".arrow")
# Training arguments shown in the card, with their labels; `lm_dataset` only when λ > 0.
_TRAINING_FIELDS = {
    "lm_coef": "λ (weight of the language-modeling loss)",
    "lm_dataset": "Text for the language-modeling loss",
    "learning_rate": "Learning rate",
    "backbone_learning_rate": "Backbone learning rate",
    "per_device_train_batch_size": "Batch size (windows per device)",
    "gradient_accumulation_steps": "Gradient accumulation steps",
    "max_steps": "Optimizer steps",
    "warmup_steps": "Warmup steps",
    "lr_scheduler_type": "Learning-rate schedule",
    "weight_decay": "Weight decay",
    "max_grad_norm": "Gradient-norm clipping",
    "window_sampling": "Window sampling",
    "seed": "Seed",
}


def is_hub_id(name: str | None) -> bool:
    """Whether `name` reads as a Hub repo id (`namespace/name`), not a local path, file or `minari:` id."""
    if not name or Path(name).expanduser().exists() or name.lower().endswith(_LOCAL_SUFFIXES):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def per_target_results(eval_results: Mapping[str, Any] | None) -> dict[float | None, dict[str, Any]]:
    """`{target_return: result}` from an `evaluate(...)` result (one or several targets) or from a mapping
    target → result (as in `results.json`, whose keys are strings). Each result needs `mean_return`, `std_return`.
    Agents without a target return (DQN, REINFORCE) have the single key `None`."""
    if not eval_results:
        return {}
    if "mean_return" in eval_results:
        if "per_target" in eval_results:
            eval_results = eval_results["per_target"]
        elif "target_return" in eval_results:
            eval_results = {eval_results["target_return"]: eval_results}
        else:
            raise ValueError("eval_results has a mean_return but no target_return: which target was evaluated?")
    per_target = {}
    for target, result in eval_results.items():
        if not isinstance(result, Mapping):
            raise ValueError(f"eval_results[{target!r}] must be a dict of results, got {type(result).__name__}")
        missing = [key for key in ("mean_return", "std_return") if key not in result]
        if missing:
            raise ValueError(f"eval_results[{target!r}] lacks {missing}")
        per_target[None if target in (None, "None") else float(target)] = dict(result)
    return per_target


def results_table(eval_results: Mapping[str, Any] | None) -> str:
    """A Markdown table of evaluation results: target, mean ± std, normalized score, episodes."""
    lines = ["| Target return | Return (mean ± std) | D4RL normalized score (0 random, 100 expert) | Episodes |"]
    lines.append("|---:|---:|---:|---:|")
    for target, r in per_target_results(eval_results).items():
        score = r.get("normalized_score")
        score = "—" if score is None else f"{score:.1f}"
        episodes = len(r["returns"]) if r.get("returns") is not None else "—"
        shown = "—" if target is None else f"{target:g}"
        lines.append(f"| {shown} | {r['mean_return']:.2f} ± {r['std_return']:.2f} | {score} | {episodes} |")
    return "\n".join(lines)


def render_model_card(
    model,
    *,
    eval_results: Mapping[str, Any] | None = None,
    dataset_id: str | None = None,
    training_args: Any = None,
    dataset_statistics: Mapping[str, Any] | None = None,
    plot_path: str | Path | None = None,
    video_path: str | Path | None = None,
    repo_id: str | None = None,
    license: str = "other",
    conditioning_path: str | Path | None = None,
) -> ModelCard:
    """The model card of an agent, rendered from a template shipped in the package and checked: a Decision
    Transformer's from `hf_decision/templates/model_card.md`, a DQN Q-network's or REINFORCE policy's from
    `baseline_model_card.md` (see `hf_decision.baseline_cards`).

    Args:
        model: a `DecisionTransformerModel`, `QNetworkModel` or `PolicyModel`; its config must name the `env_id`.
        eval_results: an `evaluate(...)` result, or a mapping target → result; becomes the `model-index`.
        dataset_id: the training dataset; listed in the metadata when it is a Hub id.
        training_args: the `DecisionTransformerTrainingConfig` (or a dict of its fields) the model was trained with.
        dataset_statistics: `TrajectoryStore.statistics()` of the training data.
        plot_path, video_path: the evaluation plot and rollout video; the card links them by file name, so they
            must sit next to `README.md`.
        conditioning_path: a Decision Transformer's achieved-against-target plot (`plot_return_conditioning`),
            linked the same way.
        repo_id: the Hub id (or folder) the usage snippet loads; names the model in the `model-index`.
        license: the license metadata; `"other"` leaves the choice to the publisher.

    Raises:
        ValueError: naming the missing field (env id, target return) or the card metadata that failed its check.
    """
    config = model.config
    if not config.env_id:
        raise ValueError("model.config.env_id is required: the card's tags and model-index name the environment")
    per_target = per_target_results(eval_results)
    hub_dataset = dataset_id if is_hub_id(dataset_id) else None
    training = _as_dict(training_args)
    shared = dict(
        env_id=config.env_id,
        per_target=per_target,
        repo_id=repo_id,
        dataset_id=dataset_id,
        hub_dataset=hub_dataset,
        dataset_rows=_dataset_rows(dataset_statistics) if dataset_statistics else None,
        plot_path=plot_path,
        video_path=video_path,
        license=license,
    )
    if not isinstance(model, DecisionTransformerModel):
        from hf_decision.baseline_cards import BASELINE_CARD_TEMPLATE, baseline_card_content

        tags, default_name, fields = baseline_card_content(model, dataset_id, training)
        card = _render_card(BASELINE_CARD_TEMPLATE, tags=tags, default_name=default_name, **shared, **fields)
        check_model_card(card, env_id=config.env_id, n_results=len(per_target), dataset_id=hub_dataset, tags=tags)
        return card
    targets = list(config.target_returns or []) or list(per_target)
    if not targets:
        raise ValueError("model.config.target_returns is empty and no eval_results were given: no target return")
    base_model = config.backbone_name_or_path if is_hub_id(config.backbone_name_or_path) else None
    card = _render_card(
        MODEL_CARD_TEMPLATE,
        tags=REQUIRED_TAGS,
        default_name=f"decision-transformer-{config.env_id}",
        base_model=base_model,
        **shared,
        usage_target=f"{targets[0]:g}",
        model_rows=_model_rows(model, targets, base_model, training),
        training_rows=_training_rows(training) if training else None,
        language_loss=bool(training.get("lm_coef")),
        conditioning_file=Path(conditioning_path).name if conditioning_path is not None else None,
    )
    check_model_card(
        card, env_id=config.env_id, n_results=len(per_target), base_model=base_model, dataset_id=hub_dataset
    )
    return card


def _render_card(
    template: Traversable,
    *,
    env_id: str,
    tags: Sequence[str],
    default_name: str,
    per_target: dict[float | None, dict[str, Any]],
    repo_id: str | None,
    dataset_id: str | None,
    hub_dataset: str | None,
    dataset_rows: list[tuple] | None,
    plot_path: str | Path | None,
    video_path: str | Path | None,
    license: str,
    base_model: str | None = None,
    **fields: Any,
) -> ModelCard:
    """Render `template` with the metadata and fields every agent card shares, plus the template's own `fields`."""
    model_name = (repo_id or default_name).rstrip("/").split("/")[-1]
    eval_metadata = [_eval_result(env_id, target, r) for target, r in per_target.items()]
    card_data = ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        pipeline_tag="reinforcement-learning",
        tags=[*tags, env_id],
        datasets=[hub_dataset] if hub_dataset else None,
        base_model=base_model,
        # `model_name` only names the model-index; without results it would be a stray metadata key.
        model_name=model_name if eval_metadata else None,
        eval_results=eval_metadata or None,
    )
    return ModelCard.from_template(
        card_data,
        template_str=template.read_text(encoding="utf-8"),
        model_name=model_name,
        env_id=env_id,
        repo_id=repo_id or "path/to/agent-folder",
        eval_table=results_table(per_target) if per_target else None,
        eval_episodes=_episodes(per_target),
        dataset_id=dataset_id,
        hub_dataset=hub_dataset,
        dataset_rows=dataset_rows,
        plot_file=Path(plot_path).name if plot_path is not None else None,
        video_file=Path(video_path).name if video_path is not None else None,
        license=license,
        version=hf_decision.__version__,
        **fields,
    )


def check_model_card(
    card: ModelCard | str,
    *,
    env_id: str,
    n_results: int = 0,
    base_model: str | None = None,
    dataset_id: str | None = None,
    tags: Sequence[str] = REQUIRED_TAGS,
) -> None:
    """Parse the card's YAML back (as the Hub does) and raise `ValueError` naming the first missing or wrong field.

    This is the offline check; the Hub validates the metadata again when the card is pushed.
    """
    data = ModelCard(str(card)).data
    if data.get("library_name") != LIBRARY_NAME:
        raise ValueError(f"card metadata library_name must be {LIBRARY_NAME!r}, got {data.get('library_name')!r}")
    missing_tags = [tag for tag in (*tags, env_id) if tag not in (data.get("tags") or [])]
    if missing_tags:
        raise ValueError(f"card metadata tags lack {missing_tags}")
    if base_model is not None and data.get("base_model") != base_model:
        raise ValueError(f"card metadata base_model must be {base_model!r}, got {data.get('base_model')!r}")
    if dataset_id is not None and dataset_id not in (data.get("datasets") or []):
        raise ValueError(f"card metadata datasets must list {dataset_id!r}, got {data.get('datasets')!r}")
    results = data.eval_results or []
    if len(results) != n_results:
        raise ValueError(f"card metadata model-index has {len(results)} results, expected {n_results}")
    for result in results:
        if (result.task_type, result.metric_type, result.dataset_type) != (
            "reinforcement-learning",
            "mean_reward",
            env_id,
        ):
            raise ValueError(
                "card metadata model-index results need task reinforcement-learning, metric mean_reward and dataset "
                f"{env_id!r}, got ({result.task_type!r}, {result.metric_type!r}, {result.dataset_type!r})"
            )
        if not _METRIC_VALUE.match(str(result.metric_value)):
            raise ValueError(
                f"card metadata model-index value must read '<mean> +/- <std>', got {result.metric_value!r}"
            )


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

    It holds `model.safetensors` and `config.json` (architecture and data statistics: the model acts on its own),
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
        from hf_decision.plots import plot_evaluation_history

        plot_path = plot_evaluation_history(history, folder / PLOT_FILE)
    conditioning_path = None
    swept = {t: r for t, r in per_target.items() if t is not None}
    if isinstance(model, DecisionTransformerModel) and len(swept) >= 2:
        from hf_decision.plots import plot_return_conditioning

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


def _eval_result(env_id: str, target: float | None, result: Mapping[str, Any]) -> EvalResult:
    return EvalResult(
        task_type="reinforcement-learning",
        dataset_type=env_id,
        dataset_name=env_id,
        metric_type="mean_reward",
        metric_name="mean_reward" if target is None else f"mean_reward@{target:g}",
        metric_value=f"{result['mean_return']:.2f} +/- {result['std_return']:.2f}",
    )


def _as_dict(training_args: Any) -> dict[str, Any]:
    if training_args is None:
        return {}
    if hasattr(training_args, "to_dict"):
        return training_args.to_dict()
    if isinstance(training_args, Mapping):
        return dict(training_args)
    raise ValueError(f"training_args must be TrainingArguments or a dict, got {type(training_args).__name__}")


def _model_rows(model, targets: list[float], base_model: str | None, training: dict[str, Any]) -> list[tuple]:
    config = model.config
    if config.action_space == "discrete":
        actions = f"discrete, {config.act_dim} actions"
    else:
        actions = f"continuous, {config.act_dim} dimensions" + (" in [-1, 1] (tanh)" if config.action_tanh else "")
    init = f"[`{base_model}`](https://huggingface.co/{base_model})" if base_model else "random initialization"
    if config.backbone_name_or_path and not base_model:
        init = f"`{config.backbone_name_or_path}`"
    rows = [
        ("Environment", f"`{config.env_id}`"),
        ("State dimension", config.state_dim),
        ("Actions", actions),
        (
            "Backbone",
            f"GPT-2, {config.n_layer} layers, hidden size {config.hidden_size}, {config.n_head} heads (from {init})",
        ),
        ("Parameters", f"{model.num_parameters():,}"),
        ("Context length K", f"{config.context_length} steps ({3 * config.context_length} tokens)"),
        ("Max episode length", config.max_ep_len),
        ("Return scale", f"{config.return_scale:g}"),
        ("Target returns", ", ".join(f"{t:g}" for t in targets)),
        ("Positional embedding", config.positional_embedding),
        ("State normalization", "mean/std in `config.json`" if config.state_mean is not None else "none"),
    ]
    if "lm_coef" in training:
        rows.append(("λ (language-modeling loss weight)", f"{training['lm_coef']:g}"))
    return rows


def _dataset_rows(stats: Mapping[str, Any]) -> list[tuple]:
    rows = []
    if "num_episodes" in stats:
        rows.append(("Episodes", f"{stats['num_episodes']:,}"))
    if "num_steps" in stats:
        rows.append(("Steps", f"{stats['num_steps']:,}"))
    if "return_mean" in stats:
        rows.append(
            ("Episode return (mean ± std)", f"{stats['return_mean']:.2f} ± {stats.get('return_std', 0.0):.2f}")
        )
    if "return_min" in stats and "return_max" in stats:
        rows.append(("Episode return (min / max)", f"{stats['return_min']:.2f} / {stats['return_max']:.2f}"))
    if "episode_length_mean" in stats:
        rows.append(("Episode length (mean)", f"{stats['episode_length_mean']:.1f}"))
    if "episode_length_max" in stats:
        rows.append(("Episode length (max)", stats["episode_length_max"]))
    return rows


def _training_rows(training: Mapping[str, Any]) -> list[tuple]:
    rows = []
    for name, label in _TRAINING_FIELDS.items():
        value = training.get(name)
        if value is None or (name == "lm_dataset" and not training.get("lm_coef")):
            continue
        rows.append((label, _format_value(value)))
    return rows


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def _episodes(per_target: dict[float, dict[str, Any]]) -> int | None:
    counts = {len(r["returns"]) for r in per_target.values() if r.get("returns") is not None}
    return counts.pop() if len(counts) == 1 else None
