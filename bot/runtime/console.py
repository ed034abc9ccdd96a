"""What every `leadbot` command says when it cannot go on."""

from __future__ import annotations

import sys


def fail(message: str, code: int = 2) -> int:
    """2: Leadbot cannot start the command (config, database); 1: the input itself is bad."""
    print(f"leadbot: {message}", file=sys.stderr)
    return code
