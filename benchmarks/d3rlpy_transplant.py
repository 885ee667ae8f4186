"""Experiment E3 of the d3rlpy question: the same trained weights, evaluated by d3rlpy and by hf_decision.

Per seed, `d3rlpy_worker.py` trains d3rlpy 2.8.0's Decision Transformer with the `gap` budget's recipe (Hopper
medium, 300 steps, lr 6e-4 with 30 warmup steps, batch 64, K = 20), evaluates it with d3rlpy's own
`StatefulTransformerWrapper` (`--episodes` episodes at the env config's target, episode j reset with seed `seed + j`)
and exports it. `transplant` moves the weights one to one into hf_decision's `DecisionTransformerModel`: d3rlpy's
separate query, key and value projections into GPT-2's fused `c_attn`, its `nn.Linear` weights transposed into
GPT-2's `Conv1D`, its timestep embedding shifted by one row (d3rlpy counts timesteps from 1), its observation scaler
into `state_mean` / `state_std` (`std + eps`), its reward multiplier into `return_scale`, GPT-2's positional
embedding zeroed and its LayerNorm eps set to d3rlpy's 0.003. The export's check set (64 histories of the data, short
left-padded ones among them) must give d3rlpy's actions through our model; then `hf_decision.evaluation.evaluate`
plays the same episodes with the same seeds. If the two evaluations of the same weights agree, our evaluation loop is
ruled out as the source of a gap between the libraries, and the gap is in training.

Each seed's result is a JSON under `<output_dir>/d3rlpy_transplant/`, committed as it lands; `--cached_only` renders
the table (IQM and mean over seeds with 95 % stratified-bootstrap CIs, rliable) from them.

    python benchmarks/d3rlpy_transplant.py --seeds 0 1 2 3 4 5 6 7 --threads 1
    python benchmarks/d3rlpy_transplant.py --cached_only
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import d3rlpy_peers
import numpy as np
import results_runs
import torch
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from results_report import REPS
from results_table import BUDGETS, RunCache, add_run_cache_arguments, peer_spec

from hf_decision.aggregation import interval_estimates, probability_of_improvement
from hf_decision.evaluation import evaluate, normalized_score
from hf_decision.models.decision_transformer import DecisionTransformerConfig, DecisionTransformerModel

CHECK_TOLERANCE = 1e-4  # max |Δ action| on the check set; float32 rounding gives about 1e-7
D3RLPY_LAYER_NORM_EPS = 0.003  # d3rlpy's GPT-2 blocks and final LayerNorm; its embedding LayerNorm keeps 1e-5
EVALUATIONS = {"d3rlpy": "d3rlpy's `StatefulTransformerWrapper`", "ours": "hf_decision `evaluate`, same weights"}


def transplant(arrays: Mapping[str, np.ndarray], meta: Mapping, n_head: int, target_returns: list[float]):
    """A `DecisionTransformerModel` (eval mode) computing what the exported d3rlpy `ContinuousDecisionTransformer`
    computes. `arrays` holds its `state_dict` as `weight/<name>` and the scaler's `observation_mean` /
    `observation_std`; `meta` the worker's `export` entry. Raises if a d3rlpy weight is left unused."""
    weights = {
        k.removeprefix("weight/"): torch.from_numpy(np.array(v))
        for k, v in arrays.items()
        if k.startswith("weight/") and not k.endswith("._mask")  # the causal masks are buffers, not weights
    }
    n_layer = sum(1 for k in weights if k.endswith("._layer_norm1.weight"))
    state = weights["_encoder._layers.0.weight"]
    std = np.asarray(arrays["observation_std"], dtype=np.float64) + meta["observation_eps"]
    config = DecisionTransformerConfig(
        state_dim=state.shape[1],
        act_dim=weights["_output.weight"].shape[0],
        hidden_size=state.shape[0],
        n_layer=n_layer,
        n_head=n_head,
        activation_function=meta["activation"],
        context_length=meta["context_size"],
        max_ep_len=meta["max_timestep"] - 1,
        return_scale=1.0 / meta["reward_multiplier"],
        state_mean=np.asarray(arrays["observation_mean"], dtype=np.float64).tolist(),
        state_std=std.tolist(),
        layer_norm_epsilon=D3RLPY_LAYER_NORM_EPS,
        target_returns=target_returns,
    )
    model = DecisionTransformerModel(config).eval()
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        used.add(name)
        return weights[name]

    def linear(module, prefix: str, transpose: bool = False) -> None:
        weight = take(f"{prefix}.weight")
        module.weight.copy_(weight.T if transpose else weight)
        module.bias.copy_(take(f"{prefix}.bias"))

    with torch.no_grad():
        timesteps = take("_position_encoding._embed.weight")
        model.embed_timestep.weight.copy_(timesteps[1 : config.max_ep_len + 1])  # our step t is d3rlpy's t + 1
        linear(model.embed_return, "_rtg_embed")
        linear(model.embed_state, "_encoder._layers.0")
        linear(model.embed_action, "_action_embed")
        linear(model.embed_ln, "_embed_ln")
        linear(model.predict_action, "_output")
        model.transformer.wpe.weight.zero_()
        for i, block in enumerate(model.transformer.h):
            prefix = f"_gpt2._transformer.{i}"
            attention = f"{prefix}._attention"
            qkv = [take(f"{attention}._{p}.weight") for p in "qkv"]
            block.attn.c_attn.weight.copy_(torch.cat(qkv).T)
            block.attn.c_attn.bias.copy_(torch.cat([take(f"{attention}._{p}.bias") for p in "qkv"]))
            linear(block.attn.c_proj, f"{attention}._proj", transpose=True)
            linear(block.ln_1, f"{prefix}._layer_norm1")
            linear(block.ln_2, f"{prefix}._layer_norm2")
            linear(block.mlp.c_fc, f"{prefix}._mlp._l1", transpose=True)
            linear(block.mlp.c_proj, f"{prefix}._mlp._l2", transpose=True)
        linear(model.transformer.ln_f, "_gpt2._layer_norm")
    unused = sorted(set(weights) - used)
    if unused:
        raise ValueError(f"d3rlpy weights with no place in the transplant: {unused}")
    return model


@torch.no_grad()
def check_actions(model: DecisionTransformerModel, arrays: Mapping[str, np.ndarray]) -> dict:
    """Our model's newest action on the export's check set (left-padded histories, raw observations and
    returns-to-go, d3rlpy's timesteps from 1) against d3rlpy's `predict`: the max and mean absolute difference."""
    config = model.config
    lengths = torch.from_numpy(np.array(arrays["check/lengths"]))
    context = arrays["check/observations"].shape[1]
    mask = (torch.arange(context)[None] >= context - lengths[:, None]).long()
    mean, std = torch.tensor(config.state_mean), torch.tensor(config.state_std)
    states = (torch.from_numpy(np.array(arrays["check/observations"])).double() - mean) / std
    returns = torch.from_numpy(np.array(arrays["check/returns_to_go"]))[..., None] / config.return_scale
    timesteps = (torch.from_numpy(np.array(arrays["check/timesteps"])) - 1).clamp(min=0)
    out = model(
        states=(states * mask[..., None]).float(),
        actions=torch.from_numpy(np.array(arrays["check/actions"])) * mask[..., None],
        returns_to_go=(returns * mask[..., None]).float(),
        timesteps=timesteps * mask,
        attention_mask=mask,
    )
    difference = (out.action_preds[:, -1] - torch.from_numpy(np.array(arrays["check/predicted"]))).abs()
    return {
        "windows": int(len(lengths)),
        "short_windows": int((lengths < context).sum()),
        "max_abs_diff": float(difference.max()),
        "mean_abs_diff": float(difference.mean()),
    }


def run_seed(python: Path, files: list[str], env_id: str, config: dict, args, seed: int) -> dict:
    """Train and evaluate d3rlpy's DT in its worker, transplant it, check it and evaluate it here."""
    budget = BUDGETS["gap"]
    with tempfile.TemporaryDirectory(prefix="d3rlpy-transplant-") as tmp:
        export = Path(tmp) / "model.npz"
        spec = peer_spec("d3rlpy_dt", files, env_id, config, budget, seed, args.device)
        spec |= {"eval_every": budget.steps, "eval_episodes": args.episodes, "export": str(export)}
        start = time.perf_counter()
        outcome = d3rlpy_peers.run_peer(python, spec)
        with np.load(export) as loaded:
            arrays = dict(loaded)
    model = transplant(arrays, outcome["export"], config["n_head"], [config["target_return"]])
    check = check_actions(model, arrays)
    if check["max_abs_diff"] > CHECK_TOLERANCE:  # a wrong transplant: comparing its evaluation would mean nothing
        raise RuntimeError(f"the transplanted model misses d3rlpy's actions by up to {check['max_abs_diff']:.2e}")
    ours = evaluate(model, env_id, config["target_return"], n_episodes=args.episodes, seed=seed)
    theirs = outcome["curve"][-1]
    return {
        "seed": seed,
        "d3rlpy": {"returns": theirs["returns"], "lengths": theirs["lengths"]},
        "ours": {"returns": [float(r) for r in ours["returns"]], "lengths": [int(n) for n in ours["lengths"]]},
        "check": check,
        "export": outcome["export"],
        "versions": outcome["versions"],
        "seconds": time.perf_counter() - start,
    }


def render(env_id: str, runs: list[dict], header: str) -> tuple[dict, str]:
    """Per evaluation loop, IQM and mean over seeds of the seed's mean normalized return; P(ours > d3rlpy's) over
    seeds; how far apart the two loops' returns of the same episode are."""
    scores = {
        name: [float(np.mean(normalized_score(env_id, np.asarray(r[name]["returns"])))) for r in runs]
        for name in EVALUATIONS
    }
    estimates = interval_estimates(scores, reps=REPS)
    improvement = probability_of_improvement(scores["ours"], scores["d3rlpy"], reps=REPS)
    paired = np.concatenate([np.abs(np.subtract(r["ours"]["returns"], r["d3rlpy"]["returns"])) for r in runs])
    same_length = np.concatenate([np.equal(r["ours"]["lengths"], r["d3rlpy"]["lengths"]) for r in runs])
    check = max(r["check"]["max_abs_diff"] for r in runs)
    lines = [
        header,
        "",
        "| Evaluation of the same weights | Seeds | IQM [95 % CI] | Mean [95 % CI] | Per seed (mean over episodes) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, label in EVALUATIONS.items():
        iqm, mean = estimates[name]["iqm"], estimates[name]["mean"]
        lines.append(
            f"| {label} | {len(runs)} | {iqm.value:.1f} [{iqm.low:.1f}, {iqm.high:.1f}] "
            f"| {mean.value:.1f} [{mean.low:.1f}, {mean.high:.1f}] | {' / '.join(f'{v:.1f}' for v in scores[name])} |"
        )
    lines += [
        "",
        f"P(hf_decision's evaluation > d3rlpy's) over seeds: {improvement.value:.2f} "
        f"[{improvement.low:.2f}, {improvement.high:.2f}]. Same episode, both loops: |Δ return| median "
        f"{np.median(paired):.1f}, max {paired.max():.1f}; {int(same_length.sum())} of {len(same_length)} episodes "
        f"of the same length. Transplant check: max |Δ action| {check:.1e} over "
        f"{sum(r['check']['windows'] for r in runs)} histories of the data "
        f"({sum(r['check']['short_windows'] for r in runs)} of them shorter than K, left-padded).",
    ]
    summary = {
        "scores": scores,
        "estimates": {name: {k: v.as_dict() for k, v in e.items()} for name, e in estimates.items()},
        "improvement": improvement.as_dict(),
        "median_abs_return_difference": float(np.median(paired)),
        "max_abs_action_difference": check,
    }
    return summary, "\n".join(lines) + "\n"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env_id", default="Hopper-v5", help="An env with shared data (Hopper-v5).")
    parser.add_argument("--dataset", default="medium", help="Its dataset.")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(8)))
    parser.add_argument("--episodes", type=int, default=20, help="Evaluation episodes per seed, in each loop.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads here and in the worker.")
    parser.add_argument("--d3rlpy_venv", default=None, help="d3rlpy's venv (default: made in the cache).")
    add_run_cache_arguments(parser)
    args = parser.parse_args()
    results_runs.use_threads(args.threads)
    config = results_runs.env_config(args.env_id)
    settings = {
        "recipe": "gap",
        "steps": BUDGETS["gap"].steps,
        "episodes": args.episodes,
        "target_return": config["target_return"],
        "d3rlpy": d3rlpy_peers.D3RLPY_SPEC,
        "device": args.device,
    }
    cache = RunCache(Path(args.output_dir) / "d3rlpy_transplant", args.rerun)
    python = files = None
    runs = []
    for seed in args.seeds:
        key = (args.env_id, args.dataset, "d3rlpy_dt", seed)
        cached = cache.get(key, settings)
        if cached is None and not args.cached_only:
            if python is None:
                python = d3rlpy_peers.ensure_venv(args.d3rlpy_venv)
                source, _ = results_runs.dataset_source(args.env_id, args.dataset, None)
                if source is None:
                    parser.error(f"no shared data for {args.env_id} {args.dataset}")
                files = results_runs.parquet_files(source, f"{args.env_id}-{args.dataset}", cache.folder)
            cached = run_seed(python, files, args.env_id, config, args, seed) | {"settings": settings}
            cache.put(key, cached)
        if cached is not None:
            runs.append(cached)
    if not runs:
        parser.error("no runs to render")
    header = (
        f"E3, {args.env_id} {args.dataset}: d3rlpy {runs[0]['versions']['d3rlpy']}'s DT trained {settings['steps']} "
        f"steps with the `gap` recipe, evaluated by d3rlpy and, transplanted, by hf_decision; D4RL-normalized return "
        f"at target {config['target_return']:g}, {args.episodes} episodes per seed in each loop (episode j reset "
        f"with seed `seed + j` in both); seeds {', '.join(str(r['seed']) for r in runs)}. IQM and mean over seeds "
        "with 95 % stratified-bootstrap CIs (rliable, 2,000 resamples)."
    )
    summary, table = render(args.env_id, runs, header)
    result = {"header": header, "settings": settings, **summary}
    write_results(args.output_dir, "d3rlpy_transplant", result, table)
    return result


if __name__ == "__main__":
    main()
