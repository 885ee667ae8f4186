"""Quality of the baselines on CartPole-v1 (run by hand; not unit tests).

- `online_dqn`: online DQN with the RL Zoo's tuned hyperparameters (`scripts/configs/dqn/cartpole-v1.yaml`), per
  seed: the env steps at which the greedy policy first averages ≥ 475 over 100 episodes (evaluated every
  `--eval_every` gradient steps), within 100k env steps. Reports the median over seeds.
- `reinforce`: REINFORCE (`scripts/configs/reinforce/cartpole-v1.yaml`), env steps to the same criterion.
- `offline`: on a CartPole medium-replay dataset (every episode of an SB3 DQN run, as `make demo` collects it),
  offline DQN vs Decision Transformer vs behaviour cloning (the DT without return conditioning), same data and
  evaluation (100 episodes, seeds 0..99).

    python benchmarks/baselines_cartpole.py --part online_dqn --seeds 0 1 2
    python benchmarks/baselines_cartpole.py --part reinforce --seeds 0 1 2
    python benchmarks/baselines_cartpole.py --part offline [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml
from reporting import write_results  # benchmarks/ is on sys.path when a script runs
from transformers import TrainerCallback, set_seed

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel, evaluate
from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel
from hf_decision.resources import cache_dir
from hf_decision.trainers import (
    DecisionTransformerTrainer,
    DecisionTransformerTrainingConfig,
    DQNConfig,
    DQNTrainer,
    ReinforceConfig,
    ReinforceTrainer,
)

CONFIGS = Path(__file__).resolve().parents[1] / "scripts" / "configs"
ENV_ID, SOLVED = "CartPole-v1", 475.0
QUIET = {"report_to": [], "disable_tqdm": True, "save_strategy": "no", "logging_steps": 10**9}


class StopWhenSolved(TrainerCallback):
    """Every `every` steps, evaluate 100 episodes; record (env steps, mean); stop once the mean reaches SOLVED."""

    def __init__(self, trainer, every: int):
        self.trainer, self.every, self.curve = trainer, every, []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every:
            return
        mean = evaluate(self.trainer.model, ENV_ID, n_episodes=100, num_envs=10, seed=10_000)["mean_return"]
        self.trainer.model.train()
        self.curve.append((self.trainer.online_source.env_steps, mean))
        control.should_training_stop = mean >= SOLVED


def training_kwargs(config: str, drop: tuple[str, ...]) -> dict:
    values = yaml.safe_load((CONFIGS / config).read_text())
    return {k: v for k, v in values.items() if k not in drop}


def trainer_kwargs(device: str) -> dict:
    """Quiet Trainer settings on `device` (the Trainer takes a visible GPU unless told `use_cpu`)."""
    return QUIET | {"use_cpu": device == "cpu"}


def online_run(algo: str, seed: int, max_env_steps: int, eval_every: int, tmp: Path, device: str) -> dict:
    set_seed(seed)
    if algo == "online_dqn":
        kwargs = training_kwargs("dqn/cartpole-v1.yaml", ("hidden_sizes", "activation", "final_eval_episodes"))
        args = DQNConfig(
            **(kwargs | trainer_kwargs(device) | {"output_dir": str(tmp), "seed": seed, "eval_env_steps": 0})
        )
        rounds = (max_env_steps - args.learning_starts) // args.train_frequency
        args.max_steps = rounds * args.gradient_steps  # the budget in env steps, as gradient steps
        trainer = DQNTrainer(QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[256, 256])), args)
    else:
        kwargs = training_kwargs("reinforce/cartpole-v1.yaml", ("hidden_sizes", "activation", "final_eval_episodes"))
        args = ReinforceConfig(
            **(
                kwargs
                | trainer_kwargs(device)
                | {"output_dir": str(tmp), "seed": seed, "eval_env_steps": 0, "max_steps": 10**6}
            )
        )
        trainer = ReinforceTrainer(PolicyModel(PolicyConfig(state_dim=4, act_dim=2, activation="tanh")), args)
    stopper = StopWhenSolved(trainer, eval_every)
    trainer.add_callback(stopper)
    if algo == "reinforce":  # REINFORCE has no step budget of its own: stop at the env-step budget
        trainer.add_callback(EnvStepBudget(trainer, max_env_steps))
    start = time.perf_counter()
    trainer.train()
    solved = [steps for steps, mean in stopper.curve if mean >= SOLVED]
    return {
        "seed": seed,
        "env_steps_to_solve": solved[0] if solved else None,
        "curve": stopper.curve,
        "seconds": time.perf_counter() - start,
    }


class EnvStepBudget(TrainerCallback):
    def __init__(self, trainer, max_env_steps: int):
        self.trainer, self.max_env_steps = trainer, max_env_steps

    def on_step_end(self, args, state, control, **kwargs):
        if self.trainer.online_source.env_steps >= self.max_env_steps:
            control.should_training_stop = True


def offline_comparison(seed: int, steps: dict[str, int], tmp: Path, device: str) -> dict:
    from hf_decision.collection import collect_d4rl_family
    from hf_decision.data import TrajectoryStore, load_trajectories

    folder = cache_dir() / f"cartpole-family-8000-seed{seed}"
    if not (folder / "cartpole-medium-replay" / "state.json").exists():
        collect_d4rl_family(ENV_ID, folder, train_steps=8000, steps_per_dataset=2000, num_envs=4, seed=seed)
    store = TrajectoryStore.from_dataset(load_trajectories(folder / "cartpole-medium-replay"))
    stats = store.statistics()
    rows = {}
    set_seed(seed)
    dqn = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[256, 256], env_id=ENV_ID))
    dqn_kwargs = training_kwargs(
        "dqn/cartpole-v1-offline.yaml", ("dataset_name_or_path", "hidden_sizes", "final_eval_episodes")
    )
    args = DQNConfig(
        **(dqn_kwargs | trainer_kwargs(device) | {"output_dir": str(tmp / "dqn"), "seed": seed, "eval_env_steps": 0})
    )
    args.max_steps = steps["dqn"]
    start = time.perf_counter()
    DQNTrainer(dqn, args, train_dataset=store).train()
    rows["DQN (offline)"] = (dqn, None, time.perf_counter() - start)
    for name, condition in (("Decision Transformer", True), ("BC (DT without returns)", False)):
        set_seed(seed)
        config = DecisionTransformerConfig(
            state_dim=4,
            act_dim=2,
            action_space="discrete",
            max_ep_len=500,
            context_length=20,
            return_scale=100.0,
            env_id=ENV_ID,
            condition_on_returns=condition,
            n_layer=3,
            hidden_size=128,
            n_head=1,
        )
        args = DecisionTransformerTrainingConfig(
            output_dir=str(tmp / name[:2]),
            max_steps=steps["dt"],
            warmup_steps=100,
            seed=seed,
            **trainer_kwargs(device),
        )
        model = DecisionTransformerModel(config)
        start = time.perf_counter()
        DecisionTransformerTrainer(model, args, store).train()
        rows[name] = (model.eval(), [500.0], time.perf_counter() - start)
    results = {}
    for name, (model, target, seconds) in rows.items():
        r = evaluate(model, ENV_ID, target_return=target, n_episodes=100, num_envs=10, seed=0)
        results[name] = {"mean": r["mean_return"], "std": r["std_return"], "train_seconds": seconds}
    return {"dataset": {k: stats[k] for k in ("num_episodes", "num_steps", "return_mean", "return_max")}, **results}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["online_dqn", "reinforce", "offline"], required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max_env_steps", type=int, default=100_000, help="Env-step budget of the online runs.")
    parser.add_argument("--eval_every", type=int, default=None, help="Gradient steps between evaluations.")
    parser.add_argument("--dqn_steps", type=int, default=20_000, help="Offline DQN gradient steps.")
    parser.add_argument("--dt_steps", type=int, default=1_500, help="DT and BC gradient steps.")
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument("--output_dir", default="benchmarks/results")
    args = parser.parse_args()
    tmp = cache_dir() / "benchmark-runs"
    if args.part == "offline":
        result = offline_comparison(args.seeds[0], {"dqn": args.dqn_steps, "dt": args.dt_steps}, tmp, args.device)
        d = result["dataset"]
        table = (
            f"CartPole-v1 medium-replay ({d['num_episodes']} episodes, mean return {d['return_mean']:.1f}, max "
            f"{d['return_max']:.0f}); 100 evaluation episodes; DQN {args.dqn_steps} steps, DT/BC {args.dt_steps} "
            "steps (DT at target 500)\n\n| Method | Return (mean ± std) | Training time |\n| --- | ---: | ---: |\n"
        )
        for name, r in result.items():
            if name != "dataset":
                table += f"| {name} | {r['mean']:.1f} ± {r['std']:.1f} | {r['train_seconds']:.0f} s |\n"
        write_results(args.output_dir, "baselines_cartpole_offline", {"device": args.device} | result, table)
        return result
    eval_every = args.eval_every or (1280 if args.part == "online_dqn" else 5)
    runs = [
        online_run(args.part, seed, args.max_env_steps, eval_every, tmp / args.part, args.device)
        for seed in args.seeds
    ]
    solved = [r["env_steps_to_solve"] for r in runs]
    median = statistics.median(s if s is not None else float("inf") for s in solved)
    result = {"part": args.part, "runs": runs, "median_env_steps_to_solve": median, "target": SOLVED}
    table = (
        f"{args.part} on CartPole-v1: env steps until the greedy/mode policy averages ≥ {SOLVED:g} over 100 "
        f"episodes (budget {args.max_env_steps:,})\n\n"
        "| Seed | Env steps to solve | Wall time |\n| ---: | ---: | ---: |\n"
    )
    for r in runs:
        steps = f"{r['env_steps_to_solve']:,}" if r["env_steps_to_solve"] is not None else "not solved"
        table += f"| {r['seed']} | {steps} | {r['seconds']:.0f} s |\n"
    table += f"| median | {median:,} | |\n" if median != float("inf") else "| median | not solved | |\n"
    write_results(args.output_dir, f"baselines_cartpole_{args.part}", {"device": args.device} | result, table)
    return result


if __name__ == "__main__":
    main()
