"""What the DQN and REINFORCE commands share: the model's MLP arguments, evaluation after training, results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_decision.evaluation import evaluate


@dataclass
class MLPArguments:
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64], metadata={"help": "Hidden layer widths."})
    activation: str = field(default="relu", metadata={"help": "relu, tanh, gelu or silu."})


def finish(trainer, env_id: str | None, final_eval_episodes: int, seed: int) -> dict[str, Any]:
    """Save the model, evaluate it in `env_id` (when given), write and print `results.json`."""
    output = Path(trainer.args.output_dir)
    trainer.save_model(str(output))
    results: dict[str, Any] = {"train": {"global_step": trainer.state.global_step}}
    if trainer.online_source is not None:
        results["train"]["env_steps"] = trainer.online_source.env_steps
    if env_id and final_eval_episodes > 0:
        model = trainer.accelerator.unwrap_model(trainer.model).eval()
        result = evaluate(
            model, env_id, n_episodes=final_eval_episodes, num_envs=min(10, final_eval_episodes), seed=seed
        )
        results["evaluation"] = result
        print(
            f"{env_id}: return {result['mean_return']:.1f} ± {result['std_return']:.1f} "
            f"over {final_eval_episodes} episodes"
        )
    (output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"Saved the model to {output}")
    return results
