"""Save a checkpoint when the run is asked to stop: a cluster that preempts a job sends SIGTERM, then SIGKILL after
a grace period. Without this the work since the last checkpoint is lost.

`SaveOnSigterm` catches SIGTERM during `RLTrainer.train`; at the end of the optimizer step in progress the trainer
saves `checkpoint-N` (atomically, as every checkpoint) and stops; then `train` restores the previous handler and
sends SIGTERM again, so the process ends as it was asked to (or the caller's own handler runs). With several
processes, all of them agree on the step (one all-gather of a flag per step), so they save the same checkpoint.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class SaveOnSigterm(TrainerCallback):
    """See the module docstring; `install` / `uninstall` around training, `received` after it."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.received = False
        self.previous = None

    def install(self) -> bool:
        """Catch SIGTERM (only the main thread can); False where it cannot."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        return True

    def uninstall(self) -> None:
        signal.signal(signal.SIGTERM, self.previous if self.previous is not None else signal.SIG_DFL)

    def resend(self) -> None:
        """SIGTERM again, now to the handler that was there before training."""
        os.kill(os.getpid(), signal.SIGTERM)

    def _handle(self, signum, frame) -> None:
        self.received = True
        logger.warning("SIGTERM: saving a checkpoint at the end of this optimizer step, then stopping")

    def on_step_end(self, args, state, control, **kwargs):
        received = self.received
        if self.trainer.accelerator.num_processes > 1:
            flag = torch.tensor([int(received)], device=args.device)
            received = bool(self.trainer.accelerator.gather(flag).any())
        if received:
            self.received = True
            control.should_save = True
            control.should_training_stop = True
        return control
