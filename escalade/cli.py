"""The `escalade` command.

`evaluate` and `policy` need no database and run on the core alone; every other command
(serve, worker, demo, migrate, check, import, customers, partners, users, tokens, …) is a Django
management command of one of the apps, reached through the same entry point.
"""

from __future__ import annotations

import argparse
import codecs
import collections
import contextlib
import errno
import io
import itertools
import json
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from escalade.core.contract import (
    FactsError,
    dumps_line,
    error_json,
    evaluation_line,
    facts_from_json,
    parse_instant,
)
from escalade.core.escalation import evaluate
from escalade.core.policy import Policy, PolicyError

EXIT_OK, EXIT_BAD_LINES, EXIT_UNUSABLE = 0, 1, 2
CORE_COMMANDS = ("evaluate", "policy")


def _load_policy(path: str | None) -> Policy:
    from escalade.policies import load_policy

    return load_policy(path)


def _fail(message: str) -> int:
    print(f"escalade: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def _documents(stream: Iterable[str]) -> Iterator[tuple[object, FactsError | None]]:
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
            if any(_is_object_line(line) for line in rest):  # JSON Lines with an unreadable first line
                yield None, FactsError("invalid_json", f"JSON illisible : {first_error.msg}.")
                yield from _line_documents(rest)
                return
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg} (ligne {exc.lineno}).")
        return
    yield from _line_documents(lines)


def _is_object_line(line: str) -> bool:
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
                # == dumps_line(evaluation_json(…)), written directly (see contract.evaluation_line)
                write(evaluation_line(policy, evaluate(policy, facts, at)) + "\n")
                continue
            except FactsError as exc:
                error = exc
        write(dumps_line(error_json(raw, error)) + "\n")
        status = EXIT_BAD_LINES
    return status


# -- JSON Lines by blocks: what `evaluate_stream(…, _line_documents(lines), …)` does, faster -----------

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


def _first_content(text: str) -> int:
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
    """`evaluate_stream(policy, at, _documents(stream), out)` for a stream read as blocks of whole lines.

    The first non-blank line decides as in `_documents`: JSON Lines are evaluated block by block and
    each block's answers written at once; anything else is read whole and handed to `_documents`.
    """
    blocks = iter(blocks)
    for block in blocks:
        start = _first_content(block)
        if start >= 0:
            break
    else:
        return EXIT_OK
    block = block[start:]
    nl = block.find("\n")
    try:
        json.loads(block if nl < 0 else block[: nl + 1])
    except json.JSONDecodeError:  # one document spread over lines, or a broken first line
        return evaluate_stream(policy, at, _documents(io.StringIO(block + "".join(blocks))), out)
    status = EXIT_OK
    for text in itertools.chain((block,), blocks):
        answers: list[str] = []
        status = max(status, evaluate_jsonl_block(policy, at, text, answers))
        if answers:
            answers.append("")
            out.write("\n".join(answers))
    return status


BLOCK_CHARS = 1 << 18


def _text_blocks(stream: IO[str], size: int = BLOCK_CHARS) -> Iterator[str]:
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


def _newlines(text: str, universal: bool) -> str:
    """The text as a text stream reads it: with universal newlines ("\r\n" and "\r" read as "\n",
    what `open()` does), or as it is (newline="\n", what `sys.stdin` does on POSIX)."""
    if universal and "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# sys.stdin reads with newline="\n" but on Windows; a file opened by `open(path)` with universal newlines.
STDIN_UNIVERSAL_NEWLINES = sys.platform == "win32"


def _pipe_blocks(
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
                yield _newlines(text, universal)
            return
        # A "\r" at the very end may be the first half of "\r\n": keep it with the rest.
        cut = text.rfind("\n", 0, len(text) - 1 if text.endswith("\r") else len(text)) + 1
        rest = text[cut:]
        if cut:
            yield _newlines(text[:cut], universal)


def _is_regular_file(stream: IO[str]) -> bool | None:
    """Is the stream a regular file (True), a pipe or terminal (False), or not a file at all (None)?"""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return None
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return None


# -- the parallel path: JSON Lines split in chunks, evaluated by a pool of workers, written in order --

CHUNK_LINES = 2_000
_worker_state: tuple[Policy, datetime] | None = None


def _init_worker(policy_path: str | None, at: datetime) -> None:
    global _worker_state
    _worker_state = (_load_policy(policy_path), at)


def _evaluate_chunk(lines: list[str]) -> tuple[str, int]:
    """A chunk of JSON Lines (none of them the first line) → its output text and exit status."""
    assert _worker_state is not None
    policy, at = _worker_state
    # A plain StringIO: no per-chunk class or closure whose reference cycle would keep the chunk's
    # output alive until a full garbage collection.
    out = io.StringIO()
    status = evaluate_stream(policy, at, _line_documents(lines), out)
    return out.getvalue(), status


def _line_documents(lines: Iterable[str]) -> Iterator[tuple[object, FactsError | None]]:
    """What `_documents` yields for the lines after the first, once the input is known to be JSON Lines."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line), None
        except json.JSONDecodeError as exc:
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg}.")


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while True:
        chunk = list(itertools.islice(lines, size))
        if not chunk:
            return
        yield chunk


def evaluate_parallel(
    policy: Policy, policy_path: str | None, at: datetime, stream: IO[str], out: IO[str], jobs: int
) -> int:
    """Same output, byte for byte, as `evaluate_stream(…, _documents(stream), out)`, on `jobs` processes.

    The first non-blank line decides as in `_documents`; JSON Lines go to the pool in chunks, with at
    most a few chunks per worker in flight, so memory stays flat whatever the input size.
    """
    import multiprocessing

    lines = iter(stream)
    head: list[str] = []
    for first in lines:
        head.append(first)
        if first.strip():
            break
    else:
        return EXIT_OK
    try:
        json.loads(first)
    except json.JSONDecodeError:  # one document spread over lines: nothing to split
        return evaluate_stream(policy, at, _documents(itertools.chain(head, lines)), out)
    status = evaluate_stream(policy, at, _documents(iter(head)), out)
    pending: collections.deque[Any] = collections.deque()
    with multiprocessing.get_context(_pool_start_method()).Pool(
        jobs, initializer=_init_worker, initargs=(policy_path, at)
    ) as pool:
        for chunk in _chunks(lines, CHUNK_LINES):
            pending.append(pool.apply_async(_evaluate_chunk, (chunk,)))
            if len(pending) >= jobs * 3:
                text, chunk_status = pending.popleft().get()
                out.write(text)
                status = max(status, chunk_status)
        while pending:
            text, chunk_status = pending.popleft().get()
            out.write(text)
            status = max(status, chunk_status)
    return status


def _single_threaded() -> bool:
    """Forking a process that runs other threads can deadlock the child on a lock one of them held
    (e.g. when `main` is called from a test runner or a server); the CLI itself has one thread."""
    return threading.active_count() == 1


def _pool_start_method() -> str:
    if sys.platform != "linux":
        return "spawn"
    return "fork" if _single_threaded() else "forkserver"


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
    if not hasattr(os, "fork") or sys.platform != "linux" or _is_regular_file(stream) is not True:
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
    """Same output, byte for byte, as `evaluate_stream(…, _documents(stream), out)`, on `jobs` forked
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
    # The first non-blank line decides, as in `_documents`: peek at it without moving the offset.
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
            text = _newlines(_pread_all(fd, pos, end).decode(encoding, errors), universal_newlines)
        except UnicodeDecodeError:
            break  # the plain path reports it as it always has
        start = _first_content(text)
        if start >= 0:
            first_nl = text.find("\n", start)
            first = text[start:] if first_nl < 0 else text[start : first_nl + 1]
        pos = end
    if first is None:
        return evaluate_blocks(policy, at, _text_blocks(stream), out)
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return evaluate_blocks(policy, at, _text_blocks(stream), out)

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
                    import traceback

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
            text = _newlines(_pread_all(fd, start, end).decode(encoding, errors), universal)
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        policy = _load_policy(args.policy)
    except PolicyError as exc:
        return _fail(f"politique inutilisable :\n{exc}")
    try:
        at = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    except FactsError as exc:
        return _fail(exc.message)
    if args.jobs is not None and args.jobs < 1:
        return _fail("--jobs doit valoir au moins 1")

    def run(stream: IO[str], universal_newlines: bool) -> int:
        out = sys.stdout
        regular = _is_regular_file(stream)
        if regular is False and args.jobs is None:
            # A pipe or a terminal, read as a stream (SPEC §2): each line is answered as soon as it is
            # read, and the answers are flushed whenever the input has nothing more for now.
            binary = getattr(stream, "buffer", None)
            if binary is not None and hasattr(binary, "read1"):
                encoding, errors = stream.encoding, stream.errors or "strict"  # type: ignore[attr-defined]
                blocks = _pipe_blocks(binary, encoding, errors, universal_newlines, out)
                return evaluate_blocks(policy, at, blocks, out)
            return evaluate_stream(policy, at, _documents(stream), out)
        jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
        if jobs == 1:
            return evaluate_blocks(policy, at, _text_blocks(stream), out)
        if can_evaluate_file_parallel(stream, out):
            return evaluate_file_parallel(policy, at, stream, out, jobs, universal_newlines)
        return evaluate_parallel(policy, args.policy, at, stream, out, jobs)

    if args.file in (None, "-"):
        return run(sys.stdin, STDIN_UNIVERSAL_NEWLINES)
    try:
        stream = open(args.file, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        return _fail(f"fichier illisible « {args.file} » : {exc.strerror}")
    with stream:  # an error while writing (a closed pipe) is no unreadable file
        return run(stream, True)


def cmd_policy(args: argparse.Namespace) -> int:
    from escalade.core import render

    try:
        policy = _load_policy(args.file if args.action == "validate" else args.policy)
    except PolicyError as exc:
        print("Politique invalide :", file=sys.stderr)
        for issue in exc.issues:
            print(f"  - {issue}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.action == "validate":
        print(f"Politique valide : {policy.organisation}, {len(policy.priorities)} priorités, "
              f"{len(policy.contacts)} contacts.")
    elif args.action == "show":
        print(render.summary(policy))
    else:
        print(render.procedure_html(policy) if args.format == "html" else render.procedure_markdown(policy))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalade",
        description="Escalade : la procédure d'escalade des incidents, appliquée.",
        epilog="Autres commandes (base de données) : serve, worker, demo, migrate, check, import, "
        "customers, partners, users, tokens. `escalade help` les liste toutes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="évalue des incidents (JSON ou JSON Lines), sans base")
    ev.add_argument("--policy", help="fichier de politique (défaut : ESCALADE_POLICY ou HIPCOM)")
    ev.add_argument("--at", help="instant d'évaluation ISO-8601 avec décalage (défaut : maintenant)")
    ev.add_argument(
        "--jobs",
        type=int,
        help="processus d'évaluation en parallèle (défaut : nombre de processeurs pour un fichier ; "
        "un seul pour un tube ou un terminal, qui reçoivent chaque réponse dès sa ligne lue)",
    )
    ev.add_argument("file", nargs="?", help="fichier d'entrée, ou - pour l'entrée standard")
    ev.set_defaults(handler=cmd_evaluate)
    pol = sub.add_parser("policy", help="valide, résume ou publie la politique")
    pol_sub = pol.add_subparsers(dest="action", required=True)
    validate = pol_sub.add_parser("validate", help="vérifie un fichier de politique")
    validate.add_argument("file", nargs="?")
    show = pol_sub.add_parser("show", help="résumé lisible de la politique")
    show.add_argument("--policy")
    rend = pol_sub.add_parser("render", help="la procédure publiée, en français")
    rend.add_argument("--policy")
    rend.add_argument("--format", choices=("md", "html"), default="md")
    pol.set_defaults(handler=cmd_policy)
    return parser


def _django(argv: Sequence[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalade.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError:  # pragma: no cover - Django is a hard dependency
        return _fail("Django n'est pas installé")
    execute_from_command_line(["escalade", *argv])
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in CORE_COMMANDS and not args_list[0].startswith("-"):
        return _django(args_list)
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: 2 for unusable arguments, 0 for --help
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # `escalade evaluate … | head` is fine
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
