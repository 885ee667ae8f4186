"""One row of the bad-input table (`test_bad_input.py`): a call that must raise `error` with a message matching
`match` (a regular expression naming the episode, column, field, file or tensor, and expected vs got)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Case:
    call: Callable[[Path], object]
    error: type[Exception]
    match: str
