"""The words of the answers to e-mails received at the procedure's address, in the active language
(the reader's: `mail.services` chooses it)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from escalade.accounts.models import User
from escalade.core.messages import format_duration, format_instant, national_phone
from escalade.core.policy import Policy
from escalade.escalations.models import Escalation
from escalade.escalations.services import EscalationOutcome


def _sign(policy: Policy, body: str) -> str:
    return _("Bonjour,\n\n{body}\n\n— {organisation}, procédure d'escalade\n").format(
        body=body.strip(), organisation=policy.organisation)


def _general_lines(policy: Policy) -> str:
    lines = [f"  - {track.label} : {national_phone(track.phone, policy.phone_region)}"
             for track in policy.tracks.values()]
    return _("Nos lignes générales :") + "\n" + "\n".join(lines)


def _contacts(policy: Policy, level: int, track: str) -> str:
    rows = []
    for contact in policy.contacts_for(level, track):
        phones = ", ".join(national_phone(p, policy.phone_region) for p in contact.phones)
        rows.append(f"  - {contact.name} ({contact.role}) : {phones}, {contact.email}")
    return "\n".join(rows)


def _rule(policy: Policy) -> str:
    return _("La procédure demande que toute demande d'escalade porte le numéro de requête de l'incident "
             "(par exemple {example}). Il figure dans l'objet des messages du support et sur le portail : "
             "{portal}").format(example=policy.request_number_example, portal=f"{settings.BASE_URL}/portail/")


def no_number(policy: Policy) -> str:
    return _sign(policy, _("Votre message ne contient aucun numéro de requête.") + f"\n\n{_rule(policy)}\n\n"
                 + _("Répondez à ce message en indiquant le numéro de l'incident à escalader."))


def several(policy: Policy, numbers: list[str]) -> str:
    return _sign(policy, _(
        "Votre message cite plusieurs numéros de requête ({numbers}). Une demande d'escalade porte sur un "
        "seul incident : répondez à ce message en n'indiquant que le numéro de l'incident à escalader."
    ).format(numbers=", ".join(numbers)))


def unknown(policy: Policy) -> str:
    # The same words for an unknown sender, an unknown number and another customer's incident.
    return _sign(policy, _("Nous ne pouvons pas donner suite à votre message : il ne correspond à aucun "
                           "incident que vous pouvez escalader depuis cette adresse.")
                 + f"\n\n{_rule(policy)}\n\n{_general_lines(policy)}")


def unreadable(policy: Policy, why: str) -> str:
    return _sign(policy, _("Nous n'avons pas pu lire votre message : {why}. Écrivez-nous un message en "
                           "texte, sans pièce jointe volumineuse, avec le numéro de requête de "
                           "l'incident.").format(why=why) + f"\n\n{_general_lines(policy)}")


def confirm(policy: Policy, number: str, link: str) -> str:
    return _sign(policy, _(
        "Nous avons reçu une demande d'escalade pour l'incident {number} envoyée depuis votre adresse, mais "
        "nous ne pouvons pas vérifier qu'elle vient de vous. Pour la confirmer, ouvrez ce lien :\n\n"
        "  {link}\n\nSi vous n'êtes pas à l'origine de ce message, ignorez-le : rien ne sera fait."
    ).format(number=number, link=link))


def service_error(policy: Policy, detail: str) -> str:
    return _sign(policy, _("Votre demande n'a pas pu être enregistrée : {detail}").format(detail=detail))


def granted(policy: Policy, escalation: Escalation, requester: User) -> str:
    incident = escalation.incident
    number = f"{incident.request_number} ({incident.title})" if incident.title else incident.request_number
    return _sign(policy, _(
        "Votre demande d'escalade pour l'incident {incident} est accordée au niveau {level} ({escalation}).\n\n"
        "Les contacts de niveau {level} sont prévenus :\n{contacts}\n\n"
        "Ils vont prendre en compte votre escalade ; sans prise en compte, ils sont relancés. Vous "
        "pouvez aussi les appeler directement."
    ).format(incident=number, level=escalation.level, escalation=escalation.number,
             contacts=_contacts(policy, escalation.level, incident.track)))


def repeated(policy: Policy, escalation: Escalation) -> str:
    incident = escalation.incident
    tz = policy.timezone
    ack = (_("Elle a été prise en compte le {at}.").format(at=format_instant(escalation.acknowledged_at, tz))
           if escalation.acknowledged_at
           else _("Elle n'est pas encore prise en compte ; ses contacts sont relancés."))
    return _sign(policy, _(
        "Une escalade de niveau {level} ({escalation}) est déjà enregistrée pour l'incident {number} "
        "depuis le {at}. {acknowledgement}\n\nContacts de niveau {level} :\n{contacts}"
    ).format(level=escalation.level, escalation=escalation.number, number=incident.request_number,
             at=format_instant(escalation.granted_at, tz), acknowledgement=ack,
             contacts=_contacts(policy, escalation.level, incident.track)))


def refused(policy: Policy, outcome: EscalationOutcome, now: datetime) -> str:
    decision = outcome.evaluation.escalation
    body = _("L'escalade de l'incident {number} n'est pas possible maintenant.").format(
        number=outcome.incident.request_number) + "\n\n" + outcome.check.message
    if decision.eligible_at is not None and decision.eligible_at > now:
        body += "\n\n" + _("Escalade possible à partir du {at}, dans {wait}.").format(
            at=format_instant(decision.eligible_at, policy.timezone), wait=format_duration(decision.eligible_at - now))
    return _sign(policy, body + "\n\n" + _general_lines(policy))
