from django.contrib import admin

from escalade.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("kind", "channel", "recipient", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "kind", "channel")
    search_fields = ("recipient", "idempotency_key")
    readonly_fields = ("idempotency_key", "created_at", "sent_at", "attempts", "last_error")
