from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from escalade.mail.models import InboundMessage, Mailbox


class ReadOnly(admin.ModelAdmin):
    """What was received and decided is history: shown, never edited here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly):
    list_display = ("received_at", "sender", "subject", "request_number", "decision", "sender_verified")
    list_filter = ("decision", "source", "sender_verified")
    search_fields = ("sender", "subject", "request_number", "message_id")
    date_hierarchy = "received_at"


@admin.register(Mailbox)
class MailboxAdmin(ReadOnly):
    list_display = ("url", "last_fetch_at", "last_success_at", "fetched", "errors", "last_error")
