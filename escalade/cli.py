"""The `escalade` command.

`evaluate` and `policy` need no database and run on the core alone; every other command
(serve, worker, demo, migrate, check, import, customers, partners, users, tokens, …) is a Django
management command of one of the apps, reached through the same entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from escalade.core.contract import (
    FactsError,
    error_json,
    evaluation_json,
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
    except json.JSONDecodeError:
        text = first + "".join(lines)
        try:
            yield json.loads(text), None
        except json.JSONDecodeError as exc:
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg} (ligne {exc.lineno}).")
        return
    for line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line), None
        except json.JSONDecodeError as exc:
            yield None, FactsError("invalid_json", f"JSON illisible : {exc.msg}.")


def evaluate_stream(
    policy: Policy, at: datetime, documents: Iterable[tuple[object, FactsError | None]], out: IO[str]
) -> int:
    """Evaluate each document, one output line each; returns the exit status."""
    status = EXIT_OK
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    write = out.write
    for raw, error in documents:
        result: dict[str, Any]
        if error is None:
            try:
                facts = facts_from_json(policy, raw, at)
                result = evaluation_json(policy, evaluate(policy, facts, at))
            except FactsError as exc:
                error = exc
        if error is not None:
            result = error_json(raw, error)
            status = EXIT_BAD_LINES
        write(dumps(result) + "\n")
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
    if args.file in (None, "-"):
        return evaluate_stream(policy, at, _documents(sys.stdin), sys.stdout)
    try:
        with open(args.file, encoding="utf-8") as stream:
            return evaluate_stream(policy, at, _documents(stream), sys.stdout)
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
