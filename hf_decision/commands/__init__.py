"""Command-line programs (also installed as console scripts); `scripts/` holds thin wrappers around them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def console_script(cli: Callable[..., Any]) -> Callable[[], None]:
    """`cli` as a console-script entry point. A command's `cli` returns its results to a Python caller (a dict, or a
    trainer and a dict); the installed script calls `sys.exit(entry())`, which would turn any such value into exit
    status 1 and print it, so the entry point drops it: success exits 0, an exception exits 1 with its traceback."""

    @functools.wraps(cli)
    def entry() -> None:
        cli()

    return entry
