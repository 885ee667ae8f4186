"""Trainer callbacks: periodic evaluation of the policy in its environment."""

from __future__ import annotations

import gymnasium as gym
from transformers import TrainerCallback

from hf_decision.evaluation import evaluate


class EnvironmentEvaluationCallback(TrainerCallback):
    """Every `args.eval_env_steps` optimizer steps (and at the end), roll the model out in `model.config.env_id` at
    each target return and log `eval_env/return@<target>`, its std and the normalized score where the env has a
    reference. `history` keeps every result (step, target, mean, std) for plots and model cards.
    """

    def __init__(self, args, trainer=None):
        if args.eval_env_steps < 1:
            raise ValueError(f"eval_env_steps must be >= 1 for environment evaluation, got {args.eval_env_steps}")
        self.every = args.eval_env_steps
        self.episodes = args.eval_env_episodes
        self.num_envs = args.eval_env_num_envs
        self.targets = args.eval_target_returns
        self.seed = args.seed
        self.trainer = trainer
        self.history: list[dict] = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        """Make the environment once before the first step, so a missing simulator fails now, not after training."""
        model = self.trainer.accelerator.unwrap_model(model) if self.trainer is not None else model
        env_id = getattr(model.config, "env_id", None) if model is not None else None
        if not env_id:
            raise ValueError("evaluation in the environment (eval_env_steps > 0) needs model.config.env_id")
        try:
            gym.make(env_id).close()
        except Exception as error:  # a missing dependency, an unknown id, ...: nothing has been trained yet
            hint = " Install MuJoCo with: pip install 'hf_decision[mujoco]'." if "mujoco" in str(error).lower() else ""
            raise RuntimeError(
                f"evaluation every {self.every} steps needs the environment {env_id!r}, which cannot be made here: "
                f"{error}.{hint} (Or train without it: eval_env_steps=0.)"
            ) from error

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self.run(state.global_step, model)

    def run(self, step: int, model) -> dict[str, float]:
        model = self.trainer.accelerator.unwrap_model(model) if self.trainer is not None else model
        config = model.config
        if not config.env_id:
            raise ValueError("evaluation in the environment needs model.config.env_id")
        was_training = model.training
        logs = {}
        try:
            result = evaluate(
                model,
                config.env_id,
                target_return=self.targets or getattr(config, "target_returns", None),
                n_episodes=self.episodes,
                num_envs=self.num_envs,
                seed=self.seed,
            )
        finally:
            model.train(was_training)
        per_target = result.get("per_target", {result["target_return"]: result})
        for target, r in per_target.items():
            at = "" if target is None else f"@{target:g}"
            logs[f"eval_env/return{at}"] = r["mean_return"]
            logs[f"eval_env/return_std{at}"] = r["std_return"]
            if r["normalized_score"] is not None:
                logs[f"eval_env/normalized_score{at}"] = r["normalized_score"]
            self.history.append(
                {"step": step, "target_return": target, "mean": r["mean_return"], "std": r["std_return"]}
            )
        if self.trainer is not None:
            self.trainer.log(logs)
        return logs
