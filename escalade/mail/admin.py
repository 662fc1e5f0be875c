from __future__ import annotations

from django.contrib import admin

from escalade.incidents.admin import ReadOnly
from escalade.mail.models import InboundMessage, Mailbox


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("received_at", "sender", "subject", "request_number", "decision", "sender_verified")
    list_filter = ("decision", "source", "sender_verified")
    search_fields = ("sender", "subject", "request_number", "message_id")
    date_hierarchy = "received_at"


@admin.register(Mailbox)
class MailboxAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("url", "last_fetch_at", "last_success_at", "fetched", "errors", "last_error")
