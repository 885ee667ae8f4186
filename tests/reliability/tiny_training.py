"""Train the tiny DT of `tests/trainers` (`make_trainer`) in a process of its own, for the kill/resume and the
multi-process tests:

    python -m tests.reliability.tiny_training OUTPUT_DIR [--max_steps 30] [--save_steps 10] [--resume]
        [--block_at STEP --block_in step|save] [--per_device_batch 16] [--window_sampling length]
    torchrun --nproc_per_node 2 -m tests.reliability.tiny_training OUTPUT_DIR --per_device_batch 8 ...

Runs with `full_determinism` (deterministic algorithms, seeded). Appends one `step loss` line per optimizer step to
`OUTPUT_DIR/losses.txt` (the loss as `float.hex`, so it round-trips bit for bit; in a multi-process run, the mean over
processes), flushed at once so the lines survive a SIGKILL, and saves the final model to `OUTPUT_DIR/final`.
`--block_at N` prints `BLOCKED <N>` and waits forever at step N: at the end of the step (`--block_in step`) or in
the middle of writing `checkpoint-N` (`--block_in save`), for the caller to kill the process there.
`--nan_at N [--nan_rank R]` makes the loss of step N NaN on process R (every process when R < 0).
`--online` fine-tunes a stochastic DT online instead (`make_online_trainer` of `tests/trainers`: rollouts in the
SignReward env into a trajectory replay buffer, 4 gradient steps per round of 2 episodes).
"""

from __future__ import annotations

import argparse
import math
import os
import threading
from pathlib import Path

from transformers import TrainerCallback

from tests.trainers.tasks import make_trainer
from tests.trainers.test_online_decision_trainer import make_online_trainer


class LossFile(TrainerCallback):
    def __init__(self, path: Path, is_main: bool):
        self.file = path.open("a", buffering=1) if is_main else None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.file is not None and logs and "loss" in logs:
            self.file.write(f"{state.global_step} {float(logs['loss']).hex()}\n")


class BlockAtStep(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            block(self.step)


def poison_step(trainer, step: int) -> None:
    """NaN action predictions, hence a NaN loss, in the training forward of optimizer step `step` (1-based)."""

    def hook(module, args, output):
        return output * math.nan if module.training and trainer.state.global_step == step - 1 else output

    trainer.model.predict_action.register_forward_hook(hook)


def block(step: int) -> None:
    print(f"BLOCKED {step}", flush=True)
    threading.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--max_steps", type=int, default=30)
    parser.add_argument("--save_steps", type=int, default=10)
    parser.add_argument("--per_device_batch", type=int, default=16)
    parser.add_argument("--window_sampling", default="length")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--block_at", type=int, default=None)
    parser.add_argument("--block_in", choices=("step", "save"), default="step")
    parser.add_argument("--nan_at", type=int, default=None)
    parser.add_argument("--nan_rank", type=int, default=-1)
    parser.add_argument("--nonfinite_loss", default="raise")
    parser.add_argument("--online", action="store_true")
    args = parser.parse_args()

    online = dict(gradient_steps_per_round=4) if args.online else dict(window_sampling=args.window_sampling)
    trainer = (make_online_trainer if args.online else make_trainer)(
        args.output_dir,
        max_steps=args.max_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        per_device_train_batch_size=args.per_device_batch,
        **online,
        full_determinism=True,
        ddp_backend="gloo" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        nonfinite_loss=args.nonfinite_loss,
    )
    if args.nan_at is not None and args.nan_rank in (-1, trainer.args.process_index):
        poison_step(trainer, args.nan_at)
    trainer.add_callback(LossFile(args.output_dir / "losses.txt", trainer.is_world_process_zero()))
    if args.block_at is not None and args.block_in == "step":
        trainer.add_callback(BlockAtStep(args.block_at))
    if args.block_at is not None and args.block_in == "save":
        save_extra_state = trainer.save_extra_state

        def save_then_block(folder):
            save_extra_state(folder)
            if trainer.state.global_step == args.block_at:
                block(args.block_at)

        trainer.save_extra_state = save_then_block
    trainer.train(resume_from_checkpoint=True if args.resume else None)
    trainer.save_model(str(args.output_dir / "final"))


if __name__ == "__main__":
    main()
