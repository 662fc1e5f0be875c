"""The French words of the answers to e-mails received at the procedure's address."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from escalade.accounts.models import User
from escalade.core.messages import format_duration, format_instant, national_phone
from escalade.core.policy import Policy
from escalade.escalations.models import Escalation
from escalade.escalations.services import EscalationOutcome


def _sign(policy: Policy, body: str) -> str:
    return f"Bonjour,\n\n{body.strip()}\n\n— {policy.organisation}, procédure d'escalade\n"


def _general_lines(policy: Policy) -> str:
    lines = [f"  - {track.label} : {national_phone(track.phone, policy.phone_region)}"
             for track in policy.tracks.values()]
    return "Nos lignes générales :\n" + "\n".join(lines)


def _contacts(policy: Policy, level: int, track: str) -> str:
    rows = []
    for contact in policy.contacts_for(level, track):
        phones = ", ".join(national_phone(p, policy.phone_region) for p in contact.phones)
        rows.append(f"  - {contact.name} ({contact.role}) : {phones}, {contact.email}")
    return "\n".join(rows)


def _rule(policy: Policy) -> str:
    return (f"La procédure demande que toute demande d'escalade porte le numéro de requête de l'incident "
            f"(par exemple {policy.request_number_example}). Il figure dans l'objet des messages du support "
            f"et sur le portail : {settings.BASE_URL}/portail/")


def no_number(policy: Policy) -> str:
    return _sign(policy, f"Votre message ne contient aucun numéro de requête.\n\n{_rule(policy)}\n\n"
                         "Répondez à ce message en indiquant le numéro de l'incident à escalader.")


def several(numbers: list[str]) -> str:
    quoted = ", ".join(numbers)
    return ("Bonjour,\n\nVotre message cite plusieurs numéros de requête (" + quoted + "). Une demande "
            "d'escalade porte sur un seul incident : répondez à ce message en n'indiquant que le numéro "
            "de l'incident à escalader.\n")


def unknown(policy: Policy) -> str:
    # The same words for an unknown sender, an unknown number and another customer's incident.
    return _sign(policy, "Nous ne pouvons pas donner suite à votre message : il ne correspond à aucun "
                         "incident que vous pouvez escalader depuis cette adresse.\n\n"
                         f"{_rule(policy)}\n\n{_general_lines(policy)}")


def unreadable(policy: Policy, why: str) -> str:
    return _sign(policy, f"Nous n'avons pas pu lire votre message : {why}. Écrivez-nous un message en "
                         "texte, sans pièce jointe volumineuse, avec le numéro de requête de l'incident.\n\n"
                         f"{_general_lines(policy)}")


def confirm(policy: Policy, number: str, link: str) -> str:
    return _sign(policy, f"Nous avons reçu une demande d'escalade pour l'incident {number} envoyée depuis "
                         "votre adresse, mais nous ne pouvons pas vérifier qu'elle vient de vous. Pour la "
                         f"confirmer, ouvrez ce lien :\n\n  {link}\n\nSi vous n'êtes pas à l'origine de ce "
                         "message, ignorez-le : rien ne sera fait.")


def service_error(policy: Policy, detail: str) -> str:
    return _sign(policy, f"Votre demande n'a pas pu être enregistrée : {detail}")


def granted(policy: Policy, escalation: Escalation, requester: User) -> str:
    incident = escalation.incident
    return _sign(policy, (
        f"Votre demande d'escalade pour l'incident {incident.request_number}"
        f"{f' ({incident.title})' if incident.title else ''} est "
        f"accordée au niveau {escalation.level} ({escalation.number}).\n\n"
        f"Les contacts de niveau {escalation.level} sont prévenus :\n"
        f"{_contacts(policy, escalation.level, incident.track)}\n\n"
        "Ils vont prendre en compte votre escalade ; sans prise en compte, ils sont relancés. Vous "
        "pouvez aussi les appeler directement."))


def repeated(policy: Policy, escalation: Escalation) -> str:
    incident = escalation.incident
    tz = policy.timezone
    ack = (f"Elle a été prise en compte le {format_instant(escalation.acknowledged_at, tz)}."
           if escalation.acknowledged_at else "Elle n'est pas encore prise en compte ; ses contacts sont relancés.")
    return _sign(policy, (
        f"Une escalade de niveau {escalation.level} ({escalation.number}) est déjà enregistrée pour "
        f"l'incident {incident.request_number} depuis le {format_instant(escalation.granted_at, tz)}. {ack}\n\n"
        f"Contacts de niveau {escalation.level} :\n{_contacts(policy, escalation.level, incident.track)}"))


def refused(policy: Policy, outcome: EscalationOutcome, now: datetime) -> str:
    decision = outcome.evaluation.escalation
    body = f"L'escalade de l'incident {outcome.incident.request_number} n'est pas possible maintenant.\n\n"
    body += outcome.check.message
    if decision.eligible_at is not None and decision.eligible_at > now:
        body += (f"\n\nEscalade possible à partir du {format_instant(decision.eligible_at, policy.timezone)}, "
                 f"dans {format_duration(decision.eligible_at - now)}.")
    return _sign(policy, body + "\n\n" + _general_lines(policy))
