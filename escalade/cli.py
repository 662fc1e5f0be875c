"""The `escalade` command.

`evaluate` and `policy` need no database and run on the core alone; every other command
(serve, worker, demo, migrate, check, import, customers, partners, users, tokens, …) is a Django
management command of one of the apps, reached through the same entry point.
"""

from __future__ import annotations

import argparse
import collections
import io
import itertools
import json
import os
import sys
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


def _documents(stream: IO[str]) -> Iterator[tuple[object, FactsError | None]]:
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
    for line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line), None
        except json.JSONDecodeError as exc:
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg}.")


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
        return evaluate_stream(policy, at, _documents(itertools.chain(head, lines)), out)  # type: ignore[arg-type]
    status = evaluate_stream(policy, at, _documents(iter(head)), out)
    pending: collections.deque[Any] = collections.deque()
    with multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn").Pool(
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        policy = _load_policy(args.policy)
    except PolicyError as exc:
        return _fail(f"politique inutilisable :\n{exc}")
    try:
        at = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    except FactsError as exc:
        return _fail(exc.message)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        return _fail("--jobs doit valoir au moins 1")

    def run(stream: IO[str]) -> int:
        if jobs == 1:
            return evaluate_stream(policy, at, _documents(stream), sys.stdout)
        return evaluate_parallel(policy, args.policy, at, stream, sys.stdout, jobs)

    if args.file in (None, "-"):
        return run(sys.stdin)
    try:
        with open(args.file, encoding="utf-8") as stream:
            return run(stream)
    except OSError as exc:
        return _fail(f"fichier illisible « {args.file} » : {exc.strerror}")


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
        "--jobs", type=int, help="processus d'évaluation en parallèle (défaut : nombre de processeurs)"
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
