"""The `escalade` command: parsers and dispatch only.

`evaluate` and `policy` need no database and run on the core alone (the engine is
`escalade.evaluate`); every other command is a Django management command of `escalade.ops`,
reached through the same entry point under the user's word for it (`escalade check REQ-1042`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from escalade.core import render
from escalade.core.contract import FactsError, parse_instant
from escalade.core.policy import Policy, PolicyError
from escalade.evaluate.command import evaluate_path
from escalade.evaluate.stream import EXIT_OK, EXIT_UNUSABLE
from escalade.policies import load_policy, publish

CORE_COMMANDS = ("evaluate", "policy")
# The user's words for the commands whose Django names must not shadow Django's own.
ALIASES = {"check": "check_incident", "import": "import_incidents"}
DATABASE_COMMANDS = (
    "serve", "worker", "demo", "migrate", "check", "import", "customers", "partners", "users", "tokens", "mail", "sync",
)


def _fail(message: str) -> int:
    print(f"escalade: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        return _fail(f"politique inutilisable :\n{exc}")
    try:
        at = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    except FactsError as exc:
        return _fail(exc.message)
    if args.jobs is not None and args.jobs < 1:
        return _fail("--jobs doit valoir au moins 1")
    status = evaluate_path(policy, at, args.file, args.jobs)
    if isinstance(status, OSError):
        return _fail(f"fichier illisible « {args.file} » : {status.strerror}")
    return status


def cmd_policy(args: argparse.Namespace) -> int:
    try:
        policy: Policy = load_policy(args.file if args.action == "validate" else args.policy)
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
        return _render(policy, args)
    return EXIT_OK


def _render(policy: Policy, args: argparse.Namespace) -> int:
    publish.use_language(args.language)
    if args.format == "pdf":
        document = publish.procedure_pdf(policy)
    elif args.format == "html":
        document = render.procedure_html(policy).encode()
    else:
        document = render.procedure_markdown(policy).encode()
    if args.output:
        try:
            Path(args.output).write_bytes(document)
        except OSError as exc:
            return _fail(f"fichier impossible à écrire « {args.output} » : {exc.strerror}")
    elif args.format == "pdf" and sys.stdout.isatty():
        return _fail("un PDF ne s'affiche pas dans un terminal : --output FICHIER, ou redirigez la sortie")
    else:
        sys.stdout.buffer.write(document if args.format == "pdf" else document + b"\n")
        sys.stdout.flush()
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalade",
        description="Escalade : la procédure d'escalade des incidents, appliquée.",
        epilog="Autres commandes (base de données) : " + ", ".join(DATABASE_COMMANDS)
        + ". `escalade help` les liste toutes ; `escalade COMMANDE --help` décrit l'une d'elles.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="évalue des incidents (JSON ou JSON Lines), sans base")
    ev.add_argument("--policy", help="fichier de politique (défaut : ESCALADE_POLICY, sinon celle fournie avec Escalade)")
    ev.add_argument("--at", help="instant d'évaluation ISO-8601 avec décalage (défaut : maintenant)")
    ev.add_argument(
        "--jobs",
        type=int,
        help="processus d'évaluation en parallèle pour un fichier (défaut : nombre de processeurs) ; "
        "un tube ou un terminal est lu par un seul, qui répond à chaque ligne dès qu'elle est lue",
    )
    ev.add_argument("file", nargs="?", help="fichier d'entrée, ou - pour l'entrée standard")
    ev.set_defaults(handler=cmd_evaluate)
    pol = sub.add_parser("policy", help="valide, résume ou publie une politique ; load, list, show NOM, diff, "
                         "export, apply : ses versions enregistrées (base de données)")
    pol_sub = pol.add_subparsers(dest="action", required=True)
    validate = pol_sub.add_parser("validate", help="vérifie un fichier de politique")
    validate.add_argument("file", nargs="?")
    show = pol_sub.add_parser("show", help="résumé lisible de la politique d'un fichier (show NOM : d'une version enregistrée)")
    show.add_argument("--policy")
    rend = pol_sub.add_parser("render", help="la procédure publiée (Markdown, HTML ou PDF)")
    rend.add_argument("--policy")
    rend.add_argument("--format", choices=("md", "html", "pdf"), default="md")
    rend.add_argument("--language", choices=("fr", "en"), default="fr", help="langue du texte (fr par défaut)")
    rend.add_argument("--output", "-o", help="fichier à écrire (sinon la sortie standard)")
    pol.set_defaults(handler=cmd_policy)
    return parser


# Options of Django's own `check` (which then stays Django's), and options that take a value.
SYSTEM_CHECK_OPTIONS = ("--deploy", "--tag", "-t", "--list-tags", "--database", "--fail-level")
VALUE_OPTIONS = ("-v", "--verbosity", "--settings", "--pythonpath", "--at", "--tag", "-t", "--database",
                 "--fail-level", "--policy", "--version")


def _positionals(args: Sequence[str]) -> list[str]:
    found, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in VALUE_OPTIONS  # "--at=…" carries its value
        else:
            found.append(arg)
    return found


def django_argv(argv: Sequence[str]) -> list[str]:
    """The Django command line for a database command: `check` with a request number is the
    incident check (alone, or with the system check's options, it stays Django's); `import FILE`
    is the incident import."""
    name, rest = argv[0], list(argv[1:])
    if name == "check" and (any(a.split("=")[0] in SYSTEM_CHECK_OPTIONS for a in rest) or not _positionals(rest)):
        return [name, *rest]
    return [ALIASES.get(name, name), *rest]


def _django(argv: Sequence[str]) -> int:
    # Imported here, not at the top: `evaluate` and `policy` start without Django's machinery.
    from django.core.management import execute_from_command_line

    execute_from_command_line(["escalade", *django_argv(argv)])
    return EXIT_OK


STORED_POLICY_ACTIONS = ("load", "list", "diff", "export", "apply")


def _stored_policy_action(argv: Sequence[str]) -> bool:
    """`policy load|list|diff|export|apply`, and `policy show NAME`, are about the versions in the
    database; `validate`, `render` and `show` without a name read a file."""
    if len(argv) < 2 or argv[0] != "policy":
        return False
    return argv[1] in STORED_POLICY_ACTIONS or (argv[1] == "show" and bool(_positionals(argv[2:])))


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Every command reads its settings (ESCALADE_POLICY, …) from escalade.settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalade.settings")
    parser = _parser()
    if not args_list:
        parser.print_help()
        return EXIT_OK
    if args_list[0] not in CORE_COMMANDS and not args_list[0].startswith("-"):
        return _django(args_list)
    if _stored_policy_action(args_list):
        return _django(["policies", *args_list[1:]])
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
