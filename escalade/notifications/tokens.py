"""The signed one-click acknowledgement link: who it was sent to, for which escalation."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from escalade.notifications import conf

SALT = "escalade.notifications.ack"


@dataclass(frozen=True)
class AckToken:
    escalation_id: int
    recipient_name: str
    recipient: str


def ack_token(escalation_id: int, recipient_name: str, recipient: str) -> str:
    return signing.dumps({"e": escalation_id, "n": recipient_name, "r": recipient}, salt=SALT, compress=True)


def read_ack_token(token: str) -> AckToken:
    """Raises signing.BadSignature (or SignatureExpired) when forged, altered or too old."""
    data = signing.loads(token, salt=SALT, max_age=conf.ack_link_max_age())
    return AckToken(int(data["e"]), str(data.get("n", "")), str(data.get("r", "")))
