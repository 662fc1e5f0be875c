"""Reading `escalade evaluate` input as a stream and answering each document.

The first non-blank line decides (SPEC §2): if it parses on its own, the input is JSON Lines and
each line gets its answer line; otherwise the whole input is one JSON document. Pipes and terminals
are answered line by line as input arrives; files are read by blocks of whole lines.
"""

from __future__ import annotations

import codecs
import io
import itertools
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

from escalade.core.contract import FactsError, error_json, facts_from_json
from escalade.core.escalation import evaluate
from escalade.core.policy import Policy
from escalade.evaluate.lines import dumps_line, evaluation_line

EXIT_OK, EXIT_BAD_LINES, EXIT_UNUSABLE = 0, 1, 2


def documents(stream: Iterable[str]) -> Iterator[tuple[object, FactsError | None]]:
    """One JSON object (possibly spread over lines) or JSON Lines, read as a stream.

    The first non-blank line decides: if it parses on its own, the input is JSON Lines.
    Otherwise the whole input is read as one document.
    """
    lines = iter(stream)
    for first in lines:
        if first.strip():
            break
    else:
        return
    try:
        yield json.loads(first), None
    except json.JSONDecodeError as first_error:
        text = first + "".join(lines)
        try:
            yield json.loads(text), None
        except json.JSONDecodeError as exc:
            rest = text[len(first) :].splitlines()
            if any(is_object_line(line) for line in rest):  # JSON Lines with an unreadable first line
                yield None, FactsError("invalid_json", f"JSON illisible : {first_error.msg}.")
                yield from line_documents(rest)
                return
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg} (ligne {exc.lineno}).")
        return
    yield from line_documents(lines)


def is_object_line(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def evaluate_stream(
    policy: Policy, at: datetime, documents: Iterable[tuple[object, FactsError | None]], out: IO[str]
) -> int:
    """Evaluate each document, one output line each; returns the exit status."""
    status = EXIT_OK
    write = out.write
    for raw, error in documents:
        if error is None:
            try:
                facts = facts_from_json(policy, raw, at)
                write(evaluation_line(policy, evaluate(policy, facts, at)) + "\n")
                continue
            except FactsError as exc:
                error = exc
        write(dumps_line(error_json(raw, error)) + "\n")
        status = EXIT_BAD_LINES
    return status


# -- JSON Lines by blocks: what `evaluate_stream(…, line_documents(lines), …)` does, faster -----------

_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # what json.loads runs, unwrapped
_JSON_SPACE = " \t\n\r"


def evaluate_jsonl_block(policy: Policy, at: datetime, text: str, out: list[str]) -> int:
    """Append to `out` the output line (without its newline) of each non-blank line of `text`.

    `text` is whole lines of JSON Lines as a text stream reads them (newlines already "\n"; only the
    last may lack its newline). Exactly what `evaluate_stream` writes for the same lines; returns the
    exit status.
    """
    status = EXIT_OK
    append = out.append
    lines = text.split("\n")
    final = len(lines) - 1  # lines[final] is "" when the text ends with a newline, else it has none
    for i, line in enumerate(lines):
        try:  # json.loads(line), without its checks in the usual case
            raw, end = _scan_json(line, 0)
            if end != len(line) and line[end:].strip(_JSON_SPACE):
                raise ValueError("extra data")
        except (StopIteration, ValueError):
            if not line.strip():
                continue
            try:  # the line as read, with its newline: the error message depends on it
                raw = json.loads(line if i == final else line + "\n")
            except json.JSONDecodeError as exc:
                error = FactsError("invalid_json", f"JSON illisible : {exc.msg}.")
                append(dumps_line(error_json(None, error)))
                status = EXIT_BAD_LINES
                continue
        try:
            facts = facts_from_json(policy, raw, at)
        except FactsError as exc:
            append(dumps_line(error_json(raw, exc)))
            status = EXIT_BAD_LINES
            continue
        append(evaluation_line(policy, evaluate(policy, facts, at)))
    return status


def first_content(text: str) -> int:
    """Offset of the first non-blank line of `text`, or -1."""
    pos = 0
    while pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl + 1
        if text[pos:end].strip():
            return pos
        pos = end
    return -1


def evaluate_blocks(policy: Policy, at: datetime, blocks: Iterable[str], out: IO[str]) -> int:
    """`evaluate_stream(policy, at, documents(stream), out)` for a stream read as blocks of whole lines.

    The first non-blank line decides as in `documents`: JSON Lines are evaluated block by block and
    each block's answers written at once; anything else is read whole and handed to `documents`.
    """
    blocks = iter(blocks)
    for block in blocks:
        start = first_content(block)
        if start >= 0:
            break
    else:
        return EXIT_OK
    block = block[start:]
    nl = block.find("\n")
    try:
        json.loads(block if nl < 0 else block[: nl + 1])
    except json.JSONDecodeError:  # one document spread over lines, or a broken first line
        return evaluate_stream(policy, at, documents(io.StringIO(block + "".join(blocks))), out)
    status = EXIT_OK
    for text in itertools.chain((block,), blocks):
        answers: list[str] = []
        status = max(status, evaluate_jsonl_block(policy, at, text, answers))
        if answers:
            answers.append("")
            out.write("\n".join(answers))
    return status


BLOCK_CHARS = 1 << 18


def text_blocks(stream: IO[str], size: int = BLOCK_CHARS) -> Iterator[str]:
    """A text stream as blocks of whole lines (the last one may lack its newline)."""
    rest = ""
    while chunk := stream.read(size):
        chunk = rest + chunk if rest else chunk
        cut = chunk.rfind("\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest


def newlines(text: str, universal: bool) -> str:
    """The text as a text stream reads it: with universal newlines ("\r\n" and "\r" read as "\n",
    what `open()` does), or as it is (newline="\n", what `sys.stdin` does on POSIX)."""
    if universal and "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# sys.stdin reads with newline="\n" but on Windows; a file opened by `open(path)` with universal newlines.
STDIN_UNIVERSAL_NEWLINES = sys.platform == "win32"


def pipe_blocks(
    binary: IO[bytes], encoding: str, errors: str, universal: bool, out: IO[str]
) -> Iterator[str]:
    """Whole lines as soon as they arrive from a pipe or a terminal; `out` is flushed before each
    wait for more input, so whoever writes a line and waits gets its answer."""
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    rest = ""
    while True:
        out.flush()
        chunk = binary.read1(1 << 16)  # type: ignore[attr-defined]  # what is there, waiting only if nothing
        text = rest + decoder.decode(chunk, final=not chunk)
        if not chunk:
            if text:
                yield newlines(text, universal)
            return
        # A "\r" at the very end may be the first half of "\r\n": keep it with the rest.
        cut = text.rfind("\n", 0, len(text) - 1 if text.endswith("\r") else len(text)) + 1
        rest = text[cut:]
        if cut:
            yield newlines(text[:cut], universal)


def is_regular_file(stream: IO[str]) -> bool | None:
    """Is the stream a regular file (True), a pipe or terminal (False), or not a file at all (None)?"""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return None
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return None


def line_documents(lines: Iterable[str]) -> Iterator[tuple[object, FactsError | None]]:
    """What `documents` yields for the lines after the first, once the input is known to be JSON Lines."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line), None
        except json.JSONDecodeError as exc:
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg}.")


