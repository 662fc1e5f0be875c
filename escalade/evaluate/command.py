"""`escalade evaluate [--policy FILE] [--at ISO-8601] [--jobs N] [FILE|-]`: choose how to read."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import IO

from escalade.core.policy import Policy
from escalade.evaluate.parallel import can_evaluate_file_parallel, evaluate_file_parallel
from escalade.evaluate.stream import (
    STDIN_UNIVERSAL_NEWLINES,
    documents,
    evaluate_blocks,
    evaluate_stream,
    is_regular_file,
    pipe_blocks,
    text_blocks,
)


def evaluate_input(policy: Policy, at: datetime, stream: IO[str], jobs: int | None, universal_newlines: bool) -> int:
    """Evaluate everything `stream` holds onto standard output; returns the exit status.

    A pipe or a terminal is read as a stream (SPEC §2): each line is answered as soon as it is read,
    and the answers are flushed whenever the input has nothing more for now. A regular file is read
    by blocks, split over `jobs` forked processes (default: one per CPU) where it can be.
    """
    out = sys.stdout
    if is_regular_file(stream) is False:
        binary = getattr(stream, "buffer", None)
        if binary is not None and hasattr(binary, "read1"):
            encoding, errors = stream.encoding, stream.errors or "strict"  # type: ignore[attr-defined]
            return evaluate_blocks(policy, at, pipe_blocks(binary, encoding, errors, universal_newlines, out), out)
        return evaluate_stream(policy, at, documents(stream), out)
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if jobs > 1 and can_evaluate_file_parallel(stream, out):
        return evaluate_file_parallel(policy, at, stream, out, jobs, universal_newlines)
    return evaluate_blocks(policy, at, text_blocks(stream), out)


def evaluate_path(policy: Policy, at: datetime, path: str | None, jobs: int | None) -> int | OSError:
    """`evaluate_input` on a file (or standard input for None and "-"); the OSError if it cannot be opened."""
    if path in (None, "-"):
        return evaluate_input(policy, at, sys.stdin, jobs, STDIN_UNIVERSAL_NEWLINES)
    try:
        stream = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        return exc
    with stream:  # an error while writing (a closed pipe) is no unreadable file
        return evaluate_input(policy, at, stream, jobs, True)
