"""`escalade evaluate --jobs N` on a regular file: forked processes read their own byte ranges.

The one parallel strategy: the file is cut in chunks on line boundaries, each worker evaluates its
chunks with `stream.evaluate_jsonl_block` and writes their answers in order, passing a token round
a ring of pipes; nothing is copied through the parent. Anything else (a pipe, a terminal, a codec in
which a newline byte may not be a newline, a process with other threads) is evaluated in one process.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import signal
import sys
import threading
import traceback
from datetime import datetime
from typing import IO

from escalade.core.policy import Policy
from escalade.evaluate.stream import (
    EXIT_BAD_LINES,
    EXIT_OK,
    evaluate_blocks,
    evaluate_jsonl_block,
    first_content,
    is_regular_file,
    newlines,
    text_blocks,
)


def _single_threaded() -> bool:
    """Forking a process that runs other threads can deadlock the child on a lock one of them held
    (e.g. when `main` is called from a test runner or a server); the CLI itself has one thread."""
    return threading.active_count() == 1


# -- the parallel path for a regular file: forked workers read their own byte ranges ------------------

CHUNK_BYTES = 1 << 19
_WORKER_CRASHED = 70  # a worker's exit status when it failed (its traceback is on stderr)
_WORKER_BROKEN_PIPE = 71  # … when the output was closed under it


def _pread_all(fd: int, start: int, end: int) -> bytes:
    parts = []
    while start < end:
        data = os.pread(fd, min(end - start, 1 << 24), start)
        if not data:
            break
        parts.append(data)
        start += len(data)
    return b"".join(parts)


def _line_start(fd: int, pos: int, base: int) -> int:
    """The first line start at or after `pos`: lines start at `base` and after each newline."""
    if pos <= base:
        return base
    probe = pos - 1  # a line starts at `pos` if the byte before it is a newline
    while True:
        data = os.pread(fd, 1 << 16, probe)
        if not data:
            return probe
        nl = data.find(b"\n")
        if nl >= 0:
            return probe + nl + 1
        probe += len(data)


def _fast_codec(encoding: str | None) -> bool:
    """Codecs in which a newline byte is always a newline character (chunks split on it decode alone)."""
    try:
        name = codecs.lookup(encoding or "").name
    except LookupError:
        return False
    return name in ("utf-8", "ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1252")


def can_evaluate_file_parallel(stream: IO[str], out: IO[str]) -> bool:
    """The forked file path needs a regular file in an ASCII-compatible codec, an output with a
    file descriptor, and fork."""
    if not hasattr(os, "fork") or sys.platform != "linux" or is_regular_file(stream) is not True:
        return False
    if not _single_threaded():
        return False
    try:
        out.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    return _fast_codec(getattr(stream, "encoding", None)) and _fast_codec(getattr(out, "encoding", None))


def evaluate_file_parallel(
    policy: Policy,
    at: datetime,
    stream: IO[str],
    out: IO[str],
    jobs: int,
    universal_newlines: bool = True,
    chunk_bytes: int = CHUNK_BYTES,
) -> int:
    """Same output, byte for byte, as `evaluate_stream(…, documents(stream), out)`, on `jobs` forked
    processes, for a regular file not read yet (see `can_evaluate_file_parallel`), whose newlines the
    stream reads as universal newlines (`open(path)`) or not (`sys.stdin`).

    The rest of the file from its current offset is cut in chunks of about `chunk_bytes`; a line
    belongs to the chunk its first byte is in. Worker w evaluates chunks w, w + jobs, … reading them
    itself, and writes each chunk's answers straight to the output when it holds the token, which
    then goes to the worker of the next chunk: in order, nothing copied through this process, and at
    most one chunk's answers per worker in memory.
    """
    fd = stream.fileno()
    base = os.lseek(fd, 0, os.SEEK_CUR)
    size = os.fstat(fd).st_size
    encoding, errors = stream.encoding, stream.errors or "strict"  # type: ignore[attr-defined]
    # The first non-blank line decides, as in `documents`: peek at it without moving the offset.
    pos, first = base, None
    while pos < size and first is None:
        nl = -1
        probe = pos
        while nl < 0 and probe < size:
            data = os.pread(fd, 1 << 16, probe)
            found = data.find(b"\n")
            nl = probe + found if found >= 0 else -1
            probe += len(data)
        end = size if nl < 0 else nl + 1
        try:
            text = newlines(_pread_all(fd, pos, end).decode(encoding, errors), universal_newlines)
        except UnicodeDecodeError:
            break  # the plain path reports it as it always has
        start = first_content(text)
        if start >= 0:
            first_nl = text.find("\n", start)
            first = text[start:] if first_nl < 0 else text[start : first_nl + 1]
        pos = end
    if first is None:
        return evaluate_blocks(policy, at, text_blocks(stream), out)
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return evaluate_blocks(policy, at, text_blocks(stream), out)

    out.flush()
    out_fd = out.fileno()
    out_encoding, out_errors = out.encoding, out.errors or "strict"  # type: ignore[attr-defined]
    chunks = max(1, -(-(size - base) // chunk_bytes))
    jobs = max(1, min(jobs, chunks))
    tokens = [os.pipe() for _ in range(jobs)]  # tokens[w]: worker w may write
    pids: list[int] = []
    try:
        for w in range(jobs):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - measured in the child, reported through the exit status
                code = _WORKER_CRASHED
                try:
                    for i, (r, wr) in enumerate(tokens):
                        if i != w:
                            os.close(r)
                        if i != (w + 1) % jobs:
                            os.close(wr)
                    code = _file_worker(
                        policy, at, fd, base, size, chunk_bytes, w, jobs, chunks,
                        (encoding, errors, universal_newlines), (out_fd, out_encoding, out_errors),
                        tokens[w][0], tokens[(w + 1) % jobs][1],
                    )
                except BaseException:  # anything: say it, and tell the parent through the status
                    traceback.print_exc()
                finally:
                    os._exit(code)
            pids.append(pid)
    finally:
        for r, wr in tokens:
            os.close(r)
            os.close(wr)
    codes = []
    try:
        for pid in pids:
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    except BaseException:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        raise
    # The workers read the file without moving its offset: it is all read now.
    os.lseek(fd, 0, os.SEEK_END)
    if _WORKER_BROKEN_PIPE in codes:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
    if any(code not in (EXIT_OK, EXIT_BAD_LINES) for code in codes):
        print("escalade: un processus d'évaluation a échoué", file=sys.stderr)
        return EXIT_BAD_LINES
    return max(codes, default=EXIT_OK)


def _file_worker(
    policy: Policy,
    at: datetime,
    fd: int,
    base: int,
    size: int,
    chunk_bytes: int,
    w: int,
    jobs: int,
    chunks: int,
    codec: tuple[str, str, bool],
    output: tuple[int, str, str],
    token_in: int,
    token_out: int,
) -> int:
    out_fd, out_encoding, out_errors = output
    encoding, errors, universal = codec
    status = EXIT_OK
    for k in range(w, chunks, jobs):
        start = _line_start(fd, base + k * chunk_bytes, base)
        end = size if k + 1 == chunks else _line_start(fd, base + (k + 1) * chunk_bytes, base)
        answers: list[str] = []
        if start < end:
            text = newlines(_pread_all(fd, start, end).decode(encoding, errors), universal)
            status = max(status, evaluate_jsonl_block(policy, at, text, answers))
        if answers:
            answers.append("")
        payload = memoryview("\n".join(answers).encode(out_encoding, out_errors))
        if k > 0 and not os.read(token_in, 1):
            return _WORKER_CRASHED  # the worker before this one died: stop too
        try:
            while payload:
                payload = payload[os.write(out_fd, payload) :]
        except BrokenPipeError:
            return _WORKER_BROKEN_PIPE
        del answers, payload
        if k + 1 < chunks:
            os.write(token_out, b"x")
    return status


