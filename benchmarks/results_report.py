"""From the runs of `results_table.py` to numbers, markdown tables and PNGs (learning curves, return conditioning).

Per (env, dataset) cell and over all cells, each row's D4RL-normalized scores are aggregated with `rliable`
(`hf_decision.aggregation`): the IQM and the mean, each with a 95 % stratified-bootstrap confidence interval, for the
final evaluation and for the best of the periodic evaluations separately (peers mix them), and the probability of
improvement for the comparisons in `PAIRS`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_decision.aggregation import interval_estimates, probability_of_improvement
from hf_decision.evaluation import normalized_score
from hf_decision.plots import draw_return_conditioning

PRETRAINED_ROWS = ("dt_pretrained", "dt_lm", "dt_lora")
# (X, Y): the probability that a run of X beats a run of Y, on final and on best scores.
PAIRS = (
    ("dt", "bc"),
    ("dt", "d3rlpy_dt"),
    ("dt_pretrained", "dt"),
    ("dt_lm", "dt_pretrained"),
    ("dt_lora", "dt_pretrained"),
    ("dt_no_timestep", "dt"),
    ("dt_no_timestep", "d3rlpy_dt"),
)
SCORES = ("final", "best")
REPS = 2000  # bootstrap resamples of every confidence interval
PROBE_KEYS = ("mean_abs_action", "rtg_x1.5", "timestep_plus_100")


def _stats(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": [float(v) for v in values]}


def aggregate_sweep(done: list[dict]) -> list[dict] | None:
    """Per target of the runs' final sweep: the seed mean and std of each run's mean return, and the run means."""
    sweeps = [r["sweep"] for r in done if r.get("sweep")]
    if not sweeps:
        return None
    targets = sorted({p["target_return"] for sweep in sweeps for p in sweep})
    points = []
    for target in targets:
        means = [p["mean_return"] for sweep in sweeps for p in sweep if p["target_return"] == target]
        points.append({"target_return": target, "runs": means, **_stats(means)})
    return points


def aggregate_row(env_id: str, runs: list[dict], reps: int = REPS) -> dict:
    """D4RL-normalized final and best scores per seed (with their rliable IQM and mean and 95 % CIs), the seed-mean
    curve, the target sweep and the mean wall time of one row."""
    done = [r for r in runs if "unavailable" not in r]
    if not done:
        return {"unavailable": runs[0]["unavailable"] if runs else "no runs"}
    scores = np.array([[normalized_score(env_id, p["mean_return"]) for p in r["curve"]] for r in done], dtype=float)
    row = {
        "final": _stats(list(scores[:, -1])),
        "best": _stats(list(scores.max(axis=1))),
        "steps": [p["step"] for p in done[0]["curve"]],
        "curve_mean": [float(v) for v in scores.mean(axis=0)],
        "curve_std": [float(v) for v in scores.std(axis=0)],
        "seconds_per_run": float(np.mean([r["seconds"] for r in done])),
        "seeds": [r["seed"] for r in done],
        "unavailable_seeds": {r["seed"]: r["unavailable"] for r in runs if "unavailable" in r},
        "sweep": aggregate_sweep(done),
    }
    probes = [r["probe"] for r in done if r.get("probe")]
    if probes:
        row["probe"] = {key: float(np.mean([p[key] for p in probes])) for key in PROBE_KEYS} | {"runs": len(probes)}
    estimates = interval_estimates({k: row[k]["values"] for k in SCORES}, reps=reps)
    for key in SCORES:
        row[key] |= _intervals(estimates[key])
    return row


def _intervals(estimates: dict) -> dict:
    """rliable's IQM and mean of one score kind, as `iqm` and `mean_ci` (`mean` is the plain seed mean)."""
    return {"iqm": estimates["iqm"].as_dict(), "mean_ci": estimates["mean"].as_dict()}


def improvements(rows: dict, scores_of, reps: int = REPS) -> dict:
    """`{"X > Y": {"final": P, "best": P}}` (P as value/low/high) for every pair in `PAIRS` present in `rows`;
    `scores_of(row, key)` gives a row's `[runs, tasks]` scores."""
    out = {}
    for x, y in PAIRS:
        if x in rows and y in rows and "unavailable" not in rows[x] and "unavailable" not in rows[y]:
            out[f"{x} > {y}"] = {
                key: probability_of_improvement(scores_of(x, key), scores_of(y, key), reps=reps).as_dict()
                for key in SCORES
            }
    return out


def aggregate(runs: dict, env_ids, reps: int = REPS) -> dict:
    """`{env: {dataset: {"data": ..., "rows": {row: numbers}, "improvement": {...}}}}`; the GPT-2 rows also get
    `steps_to_dt_final`, the first evaluation step at which their seed-mean score is at least the random-init DT's
    final seed-mean score (None when they never reach it)."""
    cells: dict = {}
    for env_id in env_ids:
        for kind, cell in runs.get(env_id, {}).items():
            rows = {row: aggregate_row(env_id, seeds, reps) for row, seeds in cell["rows"].items()}
            reference = rows.get("dt", {}).get("final", {}).get("mean")
            for row in PRETRAINED_ROWS:
                r = rows.get(row, {})
                if reference is not None and "curve_mean" in r:
                    hits = [s for s, m in zip(r["steps"], r["curve_mean"], strict=True) if m >= reference]
                    r["steps_to_dt_final"] = hits[0] if hits else None
            improvement = improvements(rows, lambda row, key, rows=rows: rows[row][key]["values"], reps)
            entry = {"data": cell["data"], "rows": rows, "improvement": improvement}
            if cell.get("dataset_returns") is not None:
                entry["dataset_returns"] = cell["dataset_returns"]
            cells.setdefault(env_id, {})[kind] = entry
    return cells


def overall(cells: dict, reps: int = REPS) -> dict:
    """Over every cell: for each row present in all of them, its `[runs, cells]` matrix of final and best scores
    (the first `n` seeds of each cell, `n` the fewest any cell has), its rliable IQM / mean with 95 % CIs, and the
    probabilities of improvement. Empty with fewer than two cells."""
    flat = [cell for by_kind in cells.values() for cell in by_kind.values()]
    if len(flat) < 2:
        return {}
    names = [row for row in flat[0]["rows"] if all("final" in c["rows"].get(row, {}) for c in flat)]
    matrices: dict = {}
    for row in names:
        n = min(len(c["rows"][row]["seeds"]) for c in flat)
        matrices[row] = {key: np.array([c["rows"][row][key]["values"][:n] for c in flat]).T for key in SCORES}
    rows = {}
    for row, by_key in matrices.items():
        estimates = interval_estimates(by_key, reps=reps)
        rows[row] = {"runs_per_cell": int(by_key["final"].shape[0])} | {
            key: _intervals(estimates[key]) for key in SCORES
        }
    return {
        "cells": [f"{env} {kind}" for env, by_kind in cells.items() for kind in by_kind],
        "rows": rows,
        "improvement": improvements(matrices, lambda row, key: matrices[row][key], reps),
    }


def _interval(d: dict) -> str:
    return f"{d['value']:.1f} [{d['low']:.1f}, {d['high']:.1f}]"


def render_table(header: str, cells: dict, labels: dict[str, str], skipped: dict, summary: dict | None = None) -> str:
    lines = [
        header,
        "",
        "| Env | Dataset | Method | Seeds | Final: IQM [95 % CI] | Final: mean [95 % CI] | Best: IQM [95 % CI] "
        "| Steps to DT (random init) final | Wall time / run |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for env_id, by_kind in cells.items():
        for kind, cell in by_kind.items():
            for row, r in cell["rows"].items():
                method = f"| {env_id} | {kind} | {labels[row]} |"
                if "unavailable" in r:
                    lines.append(f"{method} — | unavailable: {r['unavailable']} | — | — | — | — |")
                    continue
                seeds = str(len(r["seeds"]))
                if r["unavailable_seeds"]:
                    seeds += f" ({len(r['unavailable_seeds'])} unavailable)"
                reach = "—"
                if "steps_to_dt_final" in r:
                    step = r["steps_to_dt_final"]
                    reach = f"{step:,}" if step is not None else f"not reached in {r['steps'][-1]:,}"
                final_iqm, final_mean, best_iqm = (
                    _interval(r["final"]["iqm"]),
                    _interval(r["final"]["mean_ci"]),
                    _interval(r["best"]["iqm"]),
                )
                lines.append(
                    f"{method} {seeds} | {final_iqm} | {final_mean} | {best_iqm} | {reach} | "
                    f"{r['seconds_per_run']:.0f} s |"
                )
    for env_id, by_kind in skipped.items():
        for kind, reason in by_kind.items():
            lines.append(f"| {env_id} | {kind} | all | — | skipped: {reason} | — | — | — | — |")
    lines += _improvement_lines(cells, labels, summary)
    lines += _probe_lines(cells, labels)
    lines += _overall_lines(summary, labels)
    lines += _sweep_lines(cells, labels)
    return "\n".join(lines) + "\n"


def _improvement_lines(cells: dict, labels: dict[str, str], summary: dict | None) -> list[str]:
    columns = [
        (f"{env} {kind}", cell["improvement"]) for env, by_kind in cells.items() for kind, cell in by_kind.items()
    ]
    if summary:
        columns.append(("all cells", summary["improvement"]))
    pairs = [pair for pair in (f"{x} > {y}" for x, y in PAIRS) if any(pair in found for _, found in columns)]
    if not pairs:
        return []
    lines = [
        "",
        "Probability of improvement P(X > Y) on final scores [95 % CI] (rliable; 0.5 = no difference; the CI "
        "excluding 0.5 is a significant difference):",
        "",
        "| X > Y | " + " | ".join(name for name, _ in columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    for pair in pairs:
        x, y = pair.split(" > ")
        values = [_interval_p(found[pair]["final"]) if pair in found else "—" for _, found in columns]
        lines.append(f"| {labels[x]} > {labels[y]} | " + " | ".join(values) + " |")
    return lines


def _probe_lines(cells: dict, labels: dict[str, str]) -> list[str]:
    rows = [
        (env, kind, row, r["probe"])
        for env, by_kind in cells.items()
        for kind, cell in by_kind.items()
        for row, r in cell["rows"].items()
        if r.get("probe")
    ]
    if not rows:
        return []
    lines = [
        "",
        "What the trained DT's newest action follows (seed mean over runs; 512 complete windows of the data): the "
        "mean absolute change of the action when every return-to-go is multiplied by 1.5, or every timestep moved "
        "100 steps later, against the mean absolute action:",
        "",
        "| Env | Dataset | Method | Runs | Mean abs. action | Change, return-to-go × 1.5 | Change, timestep + 100 |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for env, kind, row, p in rows:
        lines.append(
            f"| {env} | {kind} | {labels[row]} | {p['runs']} | {p['mean_abs_action']:.3f} | {p['rtg_x1.5']:.3f} "
            f"| {p['timestep_plus_100']:.3f} |"
        )
    return lines


def _interval_p(d: dict) -> str:
    return f"{d['value']:.2f} [{d['low']:.2f}, {d['high']:.2f}]"


def _overall_lines(summary: dict | None, labels: dict[str, str]) -> list[str]:
    if not summary:
        return []
    lines = [
        "",
        f"Over all cells ({', '.join(summary['cells'])}; rliable, stratified bootstrap over the runs of each cell):",
        "",
        "| Method | Runs per cell | Final: IQM [95 % CI] | Final: mean [95 % CI] | Best: IQM [95 % CI] |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row, r in summary["rows"].items():
        final, best = r["final"], r["best"]
        lines.append(
            f"| {labels[row]} | {r['runs_per_cell']} | {_interval(final['iqm'])} | {_interval(final['mean_ci'])} "
            f"| {_interval(best['iqm'])} |"
        )
    return lines


def _sweep_lines(cells: dict, labels: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for env_id, by_kind in cells.items():
        for kind, cell in by_kind.items():
            swept = {row: r["sweep"] for row, r in cell["rows"].items() if r.get("sweep")}
            if not swept:
                continue
            targets = sorted({p["target_return"] for sweep in swept.values() for p in sweep})
            returns = cell.get("dataset_returns")
            data = ""
            if returns:
                q10, q50, q90 = np.quantile(returns, (0.1, 0.5, 0.9))
                best = max(returns)
                data = f"; the data's episode returns: 10/50/90 % {q10:.0f} / {q50:.0f} / {q90:.0f}, best {best:.0f}"
            lines += [
                "",
                f"Return conditioning, {env_id} {kind}: achieved return at each target after training, mean ± std "
                f"over seeds{data}:",
                "",
                "| Method | " + " | ".join(f"{t:g}" for t in targets) + " |",
                "| --- |" + " ---: |" * len(targets),
            ]
            for row, sweep in swept.items():
                by_target = {p["target_return"]: p for p in sweep}
                values = [
                    f"{by_target[t]['mean']:.0f} ± {by_target[t]['std']:.0f}" if t in by_target else "—"
                    for t in targets
                ]
                lines.append(f"| {labels[row]} | " + " | ".join(values) + " |")
            bc = cell["rows"].get("bc", {})
            if "final" in bc:
                mean, std = _final_return(env_id, bc)
                values = " | ".join([f"{mean:.0f} ± {std:.0f}"] * len(targets))
                lines.append(f"| {labels['bc']} (ignores the target: its final evaluation) | {values} |")
    return lines


def _final_return(env_id: str, row: dict) -> tuple[float, float]:
    """A row's final return, seed mean and std, back from its normalized scores."""
    low, high = normalized_score(env_id, 0.0), normalized_score(env_id, 1.0)
    return (row["final"]["mean"] - low) / (high - low), row["final"]["std"] / (high - low)


def _figure(panels: int, width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("no plot: matplotlib is missing (pip install 'hf_decision[plots]')")
        return None, 0, 0
    columns = min(3, panels)
    rows = -(-panels // columns)
    figure = Figure(figsize=(width * columns, height * rows), dpi=100)
    FigureCanvasAgg(figure)
    return figure, rows, columns


def plot_curves(cells: dict, labels: dict[str, str], path: Path, title: str) -> Path | None:
    """One panel per (env, dataset): each row's seed-mean normalized score against the gradient step, ± std over
    seeds. None (and a note) when matplotlib is missing or there is nothing to draw."""
    panels = [(env_id, kind, cell) for env_id, by_kind in cells.items() for kind, cell in by_kind.items()]
    if not panels:
        return None
    figure, rows, columns = _figure(len(panels), 5.0, 3.6)
    if figure is None:
        return None
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


def plot_conditioning(cells: dict, labels: dict[str, str], path: Path, title: str) -> Path | None:
    """One panel per (env, dataset) with a target sweep: achieved return against target return for each DT row
    (mean ± std over seeds), BC's final return as the flat reference, the data's episode returns beside it."""
    panels = [
        (env_id, kind, cell)
        for env_id, by_kind in cells.items()
        for kind, cell in by_kind.items()
        if any(r.get("sweep") for r in cell["rows"].values())
    ]
    if not panels:
        return None
    figure, rows, columns = _figure(len(panels), 5.6, 4.0)
    if figure is None:
        return None
    for index, (env_id, kind, cell) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        curves = {
            labels[row]: {p["target_return"]: (p["mean"], p["std"]) for p in r["sweep"]}
            for row, r in cell["rows"].items()
            if r.get("sweep")
        }
        bc = cell["rows"].get("bc", {})
        flat = {labels["bc"]: _final_return(env_id, bc)} if "final" in bc else None
        draw_return_conditioning(
            axes, curves, dataset_returns=cell.get("dataset_returns"), flat=flat, title=f"{env_id} {kind}"
        )
    figure.suptitle(f"Achieved against target return, mean ± std over seeds ({title})", fontsize="medium")
    figure.tight_layout(rect=(0, 0, 0.95, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
