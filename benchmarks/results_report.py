"""From the runs of `results_table.py` to numbers, a markdown table and a PNG of learning curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_decision.evaluation import normalized_score

PRETRAINED_ROWS = ("dt_pretrained", "dt_lm")


def _stats(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": [float(v) for v in values]}


def aggregate_row(env_id: str, runs: list[dict]) -> dict:
    """D4RL-normalized final and best scores over seeds, the seed-mean curve and the mean wall time of one row."""
    done = [r for r in runs if "unavailable" not in r]
    if not done:
        return {"unavailable": runs[0]["unavailable"] if runs else "no runs"}
    scores = np.array([[normalized_score(env_id, p["mean_return"]) for p in r["curve"]] for r in done], dtype=float)
    return {
        "final": _stats(list(scores[:, -1])),
        "best": _stats(list(scores.max(axis=1))),
        "steps": [p["step"] for p in done[0]["curve"]],
        "curve_mean": [float(v) for v in scores.mean(axis=0)],
        "curve_std": [float(v) for v in scores.std(axis=0)],
        "seconds_per_run": float(np.mean([r["seconds"] for r in done])),
        "seeds": [r["seed"] for r in done],
        "unavailable_seeds": {r["seed"]: r["unavailable"] for r in runs if "unavailable" in r},
    }


def aggregate(runs: dict, env_ids) -> dict:
    """`{env: {dataset: {"data": ..., "rows": {row: numbers}}}}`; the GPT-2 rows also get `steps_to_dt_final`, the
    first evaluation step at which their seed-mean score is at least the random-init DT's final seed-mean score
    (None when they never reach it)."""
    cells: dict = {}
    for env_id in env_ids:
        for kind, cell in runs.get(env_id, {}).items():
            rows = {row: aggregate_row(env_id, seeds) for row, seeds in cell["rows"].items()}
            reference = rows.get("dt", {}).get("final", {}).get("mean")
            for row in PRETRAINED_ROWS:
                r = rows.get(row, {})
                if reference is not None and "curve_mean" in r:
                    hits = [s for s, m in zip(r["steps"], r["curve_mean"], strict=True) if m >= reference]
                    r["steps_to_dt_final"] = hits[0] if hits else None
            cells.setdefault(env_id, {})[kind] = {"data": cell["data"], "rows": rows}
    return cells


def render_table(header: str, cells: dict, labels: dict[str, str], skipped: dict) -> str:
    lines = [
        header,
        "",
        "| Env | Dataset | Method | Final score | Best score | Steps to DT (random init) final | Wall time / run |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for env_id, by_kind in cells.items():
        for kind, cell in by_kind.items():
            for row, r in cell["rows"].items():
                method = f"| {env_id} | {kind} | {labels[row]} |"
                if "unavailable" in r:
                    lines.append(f"{method} unavailable: {r['unavailable']} | — | — | — |")
                    continue
                final, best = (f"{r[k]['mean']:.1f} ± {r[k]['std']:.1f}" for k in ("final", "best"))
                if len(r["seeds"]) == 1:
                    final, best = (f"{r[k]['mean']:.1f}" for k in ("final", "best"))
                if r["unavailable_seeds"]:
                    final += f" (seeds {', '.join(map(str, r['seeds']))} only)"
                reach = "—"
                if "steps_to_dt_final" in r:
                    step = r["steps_to_dt_final"]
                    reach = f"{step:,}" if step is not None else f"not reached in {r['steps'][-1]:,}"
                lines.append(f"{method} {final} | {best} | {reach} | {r['seconds_per_run']:.0f} s |")
    for env_id, by_kind in skipped.items():
        for kind, reason in by_kind.items():
            lines.append(f"| {env_id} | {kind} | all | skipped: {reason} | — | — | — |")
    return "\n".join(lines) + "\n"


def plot_curves(cells: dict, labels: dict[str, str], path: Path, title: str) -> Path | None:
    """One panel per (env, dataset): each row's seed-mean normalized score against the gradient step, ± std over
    seeds. None (and a note) when matplotlib is missing or there is nothing to draw."""
    panels = [(env_id, kind, cell) for env_id, by_kind in cells.items() for kind, cell in by_kind.items()]
    if not panels:
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("no learning-curve plot: matplotlib is missing (pip install 'hf_decision[plots]')")
        return None
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(5.0 * columns, 3.6 * rows), dpi=100)
    FigureCanvasAgg(figure)
    for index, (env_id, kind, cell) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        for row, r in cell["rows"].items():
            if "curve_mean" not in r:
                continue
            steps, mean, std = np.array(r["steps"]), np.array(r["curve_mean"]), np.array(r["curve_std"])
            (line,) = axes.plot(steps, mean, marker="o", markersize=3, label=labels[row])
            axes.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
        axes.set_title(f"{env_id} {kind}", fontsize="medium")
        axes.set_xlabel("gradient step")
        axes.set_ylabel("D4RL normalized score")
        axes.grid(alpha=0.3)
        if index == 0:
            axes.legend(fontsize="x-small")
    figure.suptitle(f"Learning curves, mean ± std over seeds ({title})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
