from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from escalade.notifications.models import DeliveryStatus, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("kind", "channel", "recipient", "status", "attempts", "next_attempt_at", "sent_at",
                    "last_error")
    list_filter = ("status", "kind", "channel")
    search_fields = ("recipient", "idempotency_key")
    readonly_fields = ("idempotency_key", "created_at", "sent_at", "attempts", "last_error")
    actions = ["retry"]

    @admin.action(description="Renvoyer les notifications abandonnées sélectionnées")
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        # A dead letter gets a fresh set of attempts once the cause (address, server) is fixed.
        count = queryset.filter(status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_until=None
        )
        self.message_user(request, f"{count} notification(s) remise(s) en file d'envoi.", messages.SUCCESS)
