"""The administration of customers and incidents. History is append-only here too: incidents, their
pauses and their timeline are shown, never edited or deleted; facts change only through the actions
below, which call the services (so the timeline records them, in the administrator's name)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalade.errors import ServiceError
from escalade.incidents.models import (
    Channel,
    Contract,
    Customer,
    Incident,
    IncidentPause,
    Partner,
    TimelineEvent,
)
from escalade.incidents.services import apply_event
from escalade.policies import store
from escalade.policies.models import PolicyVersion


class ReadOnly:
    """Shown, never added, changed or deleted from the admin (the services write these rows)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class ContractForm(forms.ModelForm):
    """The contract's policy is one of those loaded (blank: the default one); a change applies to
    the incidents opened afterwards, the open ones keep their version (`escalade policy apply`)."""

    policy = forms.ChoiceField(label=_("politique"), required=False)

    class Meta:
        model = Contract
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = sorted(PolicyVersion.objects.values_list("name", flat=True).distinct())
        self.fields["policy"].choices = [  # type: ignore[attr-defined]
            ("", _("par défaut (%(name)s)") % {"name": store.default_name()}), *((n, n) for n in names)]


class ContractInline(admin.StackedInline):
    model = Contract
    form = ContractForm


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "partner")
    list_filter = ("partner",)
    search_fields = ("code", "name")
    inlines = [ContractInline]


class PauseInline(ReadOnly, admin.TabularInline):
    model = IncidentPause
    extra = 0
    fields = readonly_fields = ("start", "end")


class TimelineInline(ReadOnly, admin.TabularInline):
    model = TimelineEvent
    extra = 0
    fields = readonly_fields = ("kind", "occurred_at", "recorded_at", "actor_label", "channel", "data", "hash")


class _PolicyChoice(admin.SimpleListFilter):
    """A filter on a key the policy names (priority, track), shown with the policy's own labels."""

    field = ""

    def choices_of_policy(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return self.choices_of_policy()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class PriorityFilter(_PolicyChoice):
    title = _("priorité")
    parameter_name = field = "priority"

    def choices_of_policy(self) -> list[tuple[str, str]]:
        return store.labels_in_force("priorities")


class TrackFilter(_PolicyChoice):
    title = _("filière")
    parameter_name = field = "track"

    def choices_of_policy(self) -> list[tuple[str, str]]:
        return store.labels_in_force("tracks")


def _event_action(kind: str, description: Any) -> Any:
    @admin.action(description=description)
    def act(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset:
            try:
                apply_event(incident, kind, user=request.user, channel=Channel.WEB,  # type: ignore[arg-type]
                            now=timezone.now())
                done += 1
            except ServiceError as exc:
                modeladmin.message_user(request, f"{incident.request_number} : {exc.detail}", messages.WARNING)
        if done:
            modeladmin.message_user(request, f"{done} incident(s) : {str(description).lower()}.", messages.SUCCESS)

    act.__name__ = f"do_{kind}"
    return act


@admin.register(Incident)
class IncidentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "request_number", "customer", "priority_label", "track_label", "status",
        "take_charge_due_at", "resolution_due_at", "allowed_level", "escalated_level",
    )
    list_filter = ("status", PriorityFilter, TrackFilter, "customer")
    search_fields = ("request_number", "title")
    inlines = [PauseInline, TimelineInline]
    actions = [
        _event_action("acknowledge", _("Prendre en charge maintenant")),
        _event_action("resolve", _("Résoudre maintenant")),
        _event_action("reopen", _("Rouvrir maintenant")),
        # Incidents are archived, never deleted (the database refuses DELETE).
        _event_action("archive", _("Archiver (incidents résolus)")),
    ]

    @admin.display(description=_("priorité"), ordering="priority")
    def priority_label(self, incident: Incident) -> str:
        rule = incident.policy.priorities.get(incident.priority)
        return rule.label if rule is not None else incident.priority

    @admin.display(description=_("filière"), ordering="track")
    def track_label(self, incident: Incident) -> str:
        track = incident.policy.tracks.get(incident.track)
        return track.label if track is not None else incident.track

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
