"""The one service behind the procedure's e-mail address: a message in, a decision and a reply out.

`receive` is called by the MTA pipe (`escalade mail receive`) and by the IMAP fetcher alike. It runs
in one transaction that records the message (unique on its Message-ID: a second delivery changes
nothing), asks for the escalation through `request_escalation` (channel `email`, as the portal and
the API do), appends the incident's timeline and puts the reply in the outbox, threaded on the
message (In-Reply-To, References).
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import hashlib
import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from escalade.accounts.models import User
from escalade.accounts.services import language_of
from escalade.accounts.throttle import spend
from escalade.core import inbound as rules
from escalade.core.policy import Policy
from escalade.errors import NotFound, ServiceError
from escalade.escalations.services import request_escalation
from escalade.incidents.models import Channel, EventKind
from escalade.incidents.timeline import record
from escalade.mail import texts
from escalade.mail.models import Decision, InboundMessage
from escalade.notifications.models import NotificationKind
from escalade.notifications.outbox import enqueue
from escalade.policies import store

CONFIRM_SALT = "escalade.mail.confirm"
CONFIRM_MAX_AGE = timedelta(days=2)
logger = logging.getLogger("escalade.mail")


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    duplicate: bool  # already received: nothing was decided or sent again


def head_items(raw: bytes) -> list[tuple[str, str]]:
    """The header fields, names in lower case (a broken body cannot stop them being read)."""
    head = email.message_from_bytes(raw[:256 * 1024], policy=email.policy.compat32, _class=Message)
    return [(name.lower(), str(value)) for name, value in head.items()]


def _headers(items: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in items:
        found.setdefault(name, value)
    found["from-address"] = parseaddr(found.get("from", ""))[1]
    return found


def _message_id(headers: dict[str, str], raw: bytes) -> str:
    # A message without one is identified by its bytes: the same delivery again is the same message.
    given = headers.get("message-id", "").strip()
    return given[:500] if given else f"<sha256-{hashlib.sha256(raw).hexdigest()}@received>"


class Unreadable(Exception):
    """The message has no text Escalade can read; `str()` says why, in the reader's language."""


def _text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        raise Unreadable(_("le message ne contient aucune partie texte"))
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError) as exc:
        raise Unreadable(_("son encodage est illisible ({error})").format(error=type(exc).__name__)) from None
    if not isinstance(content, str):
        raise Unreadable(_("le message ne contient aucune partie texte"))
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style).*?</\1>", "", content)))
    return content


def _subject(value: str) -> str:
    try:
        decoded = str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        decoded = value  # an unknown charset: the encoded words as they came
    return " ".join(decoded.split())


def receive(raw: bytes, *, now: datetime, source: str) -> Received:
    """Decide one message, once. Never raises for what a sender wrote: an unreadable message is
    recorded with decision `error` and answered briefly."""
    items = head_items(raw)
    headers = _headers(items)
    message_id = _message_id(headers, raw)
    existing = InboundMessage.objects.filter(message_id=message_id).first()
    if existing is not None:
        return Received(existing, True)
    try:
        with transaction.atomic():
            return Received(_decide(raw, items, headers, message_id, now, source), False)
    except IntegrityError:  # another process recorded the same delivery first
        return Received(InboundMessage.objects.get(message_id=message_id), True)
    except DatabaseError:
        raise  # the database is away: the message stays where it is, to be decided later
    except Exception:
        # A message that breaks the service must not block the mailbox nor vanish: recorded as
        # unreadable (to the error folder), with the traceback in the log.
        logger.exception("message %s : décision impossible", message_id)
        inbound = InboundMessage.objects.create(
            message_id=message_id, source=source, received_at=now, sender=headers["from-address"][:320],
            subject=_subject(headers.get("subject", ""))[:500], size=len(raw), decision=Decision.ERROR,
            code="internal_error", detail="Message que le service n'a pas pu traiter (voir le journal).")
        return Received(inbound, False)


def reply_language(user: User | None, headers: dict[str, str]) -> str:
    """The language of the answer: the one the user chose, else the one the message says it is
    written in (Content-Language, then Accept-Language), else the organisation's."""
    if user is not None and user.language:
        return user.language
    known = dict(settings.LANGUAGES)
    for name in ("content-language", "accept-language"):
        for tag in headers.get(name, "").split(","):
            code = tag.split(";")[0].strip().lower().split("-")[0]
            if code in known:
                return code
    return language_of(None)


def _decide(raw: bytes, items: list[tuple[str, str]], headers: dict[str, str], message_id: str,
            now: datetime, source: str) -> InboundMessage:
    sender = headers["from-address"].strip().lower()
    user = _user(sender) if sender else None
    with translation.override(reply_language(user, headers)):
        return _decide_as(raw, items, headers, message_id, now, source, sender, user)


def _decide_as(raw: bytes, items: list[tuple[str, str]], headers: dict[str, str], message_id: str,
               now: datetime, source: str, sender: str, user: User | None) -> InboundMessage:
    policy = _policy_of_sender(user)
    subject = _subject(headers.get("subject", ""))
    refs = " ".join((headers.get("references", "") + " " + message_id).split())[-2000:]
    inbound = InboundMessage(message_id=message_id, source=source, received_at=now, sender=sender[:320],
                             subject=subject[:500], size=len(raw), references=refs)
    if rules.is_automatic(headers, settings.ESCALADE_MAIL_ADDRESS) or not sender:
        return _save(inbound, Decision.AUTOMATIC, "automatic", "Message automatique : jamais de réponse.")
    try:
        if len(raw) > settings.ESCALADE_MAIL_MAX_BYTES:
            raise Unreadable(_("il dépasse la taille acceptée ({size} Mo)").format(size=len(raw) // (1024 * 1024)))
        text = _text(raw)
    except Unreadable as exc:
        _save(inbound, Decision.ERROR, "unreadable", f"Message illisible : {exc}.")
        _reply(inbound, sender, subject, texts.unreadable(policy, str(exc)), now)
        return inbound
    words = rules.own_words(text)
    numbers = rules.find_request_numbers(policy, subject, words)
    inbound.reason = words[:5000]
    inbound.requested_level = rules.find_level(subject + "\n" + words, policy.levels)
    inbound.user = user
    inbound.sender_verified = rules.dmarc_passed(
        [value for name, value in items if name == "authentication-results"],
        settings.ESCALADE_MAIL_TRUSTED_AUTHSERV,
    )
    if not numbers:
        _save(inbound, Decision.NO_NUMBER, "request_number_required", "Aucun numéro de requête.")
        _reply(inbound, sender, subject, texts.no_number(policy), now)
        return inbound
    if len(numbers) > 1:
        _save(inbound, Decision.SEVERAL_NUMBERS, "several_request_numbers", ", ".join(numbers))
        _reply(inbound, sender, subject, texts.several(policy, numbers), now)
        return inbound
    inbound.request_number = numbers[0]
    if inbound.user is None:
        _save(inbound, Decision.UNKNOWN, "unknown_sender", "Expéditeur inconnu.")
        _reply(inbound, sender, subject, texts.unknown(policy), now)
        return inbound
    if not inbound.sender_verified:
        # A From address can be forged: the request waits for its owner, at the address we know.
        _save(inbound, Decision.AWAITING_CONFIRMATION, "confirmation_required", "Expéditeur non vérifié (DMARC).")
        link = settings.BASE_URL + reverse("mail_confirm", args=[confirmation_token(inbound.pk)])
        _reply(inbound, inbound.user.email, subject, texts.confirm(policy, inbound.request_number, link), now)
        return inbound
    return _escalate(inbound, policy, now)


def _user(address: str) -> User | None:
    users = list(User.objects.filter(email__iexact=address, is_active=True)[:2])
    return users[0] if len(users) == 1 else None  # an address shared by two accounts proves neither


def _save(inbound: InboundMessage, decision: str, code: str, detail: str) -> InboundMessage:
    inbound.decision, inbound.code, inbound.detail = decision, code, detail[:2000]
    inbound.save()
    return inbound


def _policy_of_sender(user: User | None) -> Policy:
    """A customer's user writes under their contract's policy (its numbers, its levels, its words)."""
    customer = getattr(user, "customer", None)
    return customer.policy if customer is not None else store.default_policy()


def _escalate(inbound: InboundMessage, policy: Policy, now: datetime) -> InboundMessage:
    user = inbound.user
    assert user is not None
    reason = inbound.reason or inbound.subject or _("Escalade demandée par e-mail.")
    try:
        outcome = request_escalation(user=user, request_number=inbound.request_number, reason=reason, now=now,
                                     level=inbound.requested_level, channel=Channel.EMAIL, sender_verified=True)
    except NotFound:
        _save(inbound, Decision.UNKNOWN, "incident_not_found", "Numéro inconnu ou hors périmètre.")
        _reply(inbound, inbound.sender, inbound.subject, texts.unknown(policy), now)
        return inbound
    except ServiceError as exc:
        _save(inbound, Decision.THROTTLED if exc.status == 429 else Decision.REFUSED, exc.code, exc.detail)
        _reply(inbound, inbound.sender, inbound.subject, texts.service_error(policy, exc.detail), now)
        return inbound
    inbound.incident, inbound.escalation = outcome.incident, outcome.escalation
    if outcome.escalation is None:
        decision, text = Decision.REFUSED, texts.refused(policy, outcome, now)
    elif outcome.created:
        decision, text = Decision.GRANTED, texts.granted(policy, outcome.escalation, user)
    else:
        decision, text = Decision.REPEATED, texts.repeated(policy, outcome.escalation)
    _save(inbound, decision, outcome.check.code, outcome.check.message)
    record(outcome.incident, EventKind.MAIL_RECEIVED, now, user=user, channel=Channel.EMAIL,
           sender=inbound.sender, subject=inbound.subject, decision=decision, message=inbound.pk)
    _reply(inbound, inbound.sender, inbound.subject, text, now)
    return inbound


def _reply(inbound: InboundMessage, to: str, subject: str, text: str, now: datetime) -> None:
    """The answer, in the outbox with the decision; at most so many per sender (a loop with another
    robot that escapes `is_automatic` dies out here)."""
    try:
        spend("mail_replies_per_sender", to.lower()[:150], now, "")
    except ServiceError:
        InboundMessage.objects.filter(pk=inbound.pk).update(detail=inbound.detail + " (réponse limitée)")
        return
    subject = subject if subject.lower().startswith(("re:", "re :")) else f"Re: {subject}".strip()
    enqueue(kind=NotificationKind.MAIL_REPLY, key=f"mail:{inbound.pk}", recipient=to,
            incident=inbound.incident, escalation=inbound.escalation, now=now,
            context={"subject": subject or "Re:", "text": text, "in_reply_to": inbound.message_id,
                     "references": inbound.references})


def confirmation_token(inbound_id: int) -> str:
    return signing.dumps({"m": inbound_id}, salt=CONFIRM_SALT)


def awaiting(token: str) -> InboundMessage:
    """The message a confirmation link names; NotFound when forged, expired or not waiting."""
    try:
        pk = int(signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)["m"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("confirmation_not_found", _("Ce lien de confirmation est invalide ou expiré.")) from None
    inbound = InboundMessage.objects.select_related("user").filter(pk=pk).first()
    if inbound is None or inbound.user is None:
        raise NotFound("confirmation_not_found", _("Ce lien de confirmation est invalide ou expiré."))
    return inbound


def confirm(token: str, now: datetime) -> InboundMessage:
    """The owner of the address followed the link: the request is decided as if DMARC had passed.
    Twice is once."""
    pk = awaiting(token).pk
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("user").get(pk=pk)
        if inbound.decision != Decision.AWAITING_CONFIRMATION:
            return inbound
        inbound.confirmed_at = now
        # The answer goes to the address we know, not to the (possibly forged) sender's.
        assert inbound.user is not None
        inbound.sender = inbound.user.email.lower()
        with translation.override(inbound.user.language or translation.get_language()):
            return _escalate(inbound, _policy_of_sender(inbound.user), now)


def pending_for_staff() -> list[InboundMessage]:
    """What staff should look at: requests waiting for their sender's confirmation, unreadable ones."""
    return list(InboundMessage.objects.filter(decision__in=(Decision.AWAITING_CONFIRMATION, Decision.ERROR))
                .order_by("-received_at")[:20])

