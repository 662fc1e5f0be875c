"""Policy versions in the admin: read, compared with the version in force, and saved as new versions
(as TOML, with the validator's messages at their paths; or the contacts alone, in a form). A
version is never changed or deleted."""

from __future__ import annotations

import difflib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from escalade.core.policy import PolicyError, policy_from_toml
from escalade.errors import ServiceError
from escalade.policies import services, store
from escalade.policies.models import PolicyVersion, digest_of


def text_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=before_name, tofile=after_name))


class VersionForm(forms.ModelForm):
    """A new version: its text is checked by the core's loader; the difference with the version in
    force is shown, and the save needs a second, confirmed submit."""

    text = forms.CharField(label=_("Texte TOML"), strip=False,  # the text is stored byte for byte
                           widget=forms.Textarea(attrs={"rows": 40, "cols": 110, "spellcheck": "false",
                                                        "style": "font-family: monospace"}))
    confirmed = forms.BooleanField(label=_("J'ai relu les changements : enregistrer cette version"), required=False,
                                   help_text=_("Les incidents ouverts gardent la version de leur ouverture ; les "
                                               "contacts et les règles de notification de la nouvelle version "
                                               "s'appliquent à tous."))

    class Meta:
        model = PolicyVersion
        fields = ("name", "text", "comment")

    diff: str = ""

    def clean_name(self) -> str:
        try:
            return services.check_name(self.cleaned_data["name"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.detail) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name, text = data.get("name"), data.get("text")
        if not name or text is None:
            return data
        text = text.replace("\r\n", "\n")  # a browser's textarea sends CRLF
        data["text"] = text
        try:
            policy_from_toml(text)
        except PolicyError as exc:
            # Each problem at its field's path, as `escalade policy validate` writes it, on the text.
            self.add_error("text", [str(issue) for issue in exc.issues])
            return data
        latest = PolicyVersion.objects.filter(name=name).order_by("-number").first()
        if latest is not None and latest.digest == digest_of(text):
            raise forms.ValidationError(_("Ce texte est celui de la version %(n)d en vigueur : rien à enregistrer.")
                                        % {"n": latest.number})
        self.diff = text_diff(latest.text, text, f"{name} v{latest.number}", str(_("nouvelle version"))) if latest else ""
        if not data.get("confirmed"):
            raise forms.ValidationError(_("Vérifiez les changements ci-dessous, puis cochez la confirmation."))
        return data


class ContactsForm(forms.Form):
    level = forms.IntegerField(label=_("niveau"), min_value=1)
    track = forms.CharField(label=_("filière"), initial="all", help_text=_("une filière de la politique, ou « all »"))
    name = forms.CharField(label=_("nom"))
    role = forms.CharField(label=_("fonction"), required=False)
    team = forms.CharField(label=_("équipe"), required=False)
    phones = forms.CharField(label=_("téléphones"), help_text=_("séparés par des virgules"))
    email = forms.EmailField(label=_("e-mail"))
    apprise = forms.CharField(label=_("URL apprise"), required=False, help_text=_("séparées par des espaces"))
    language = forms.ChoiceField(label=_("langue des alertes"), required=False,
                                 choices=[("", _("par défaut (français)")), *settings.LANGUAGES])


ContactsFormSet = forms.formset_factory(ContactsForm, extra=1, can_delete=True)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    form = VersionForm
    list_display = ("name", "number", "in_force", "created_at", "author", "comment")
    list_filter = ("name",)
    readonly_fields = ("name", "number", "digest", "created_at", "author", "comment", "text_shown", "actions_shown")
    fields = readonly_fields
    add_form_template = "admin/policies/policyversion/add_form.html"

    @admin.display(description=_("en vigueur"), boolean=True)
    def in_force(self, version: PolicyVersion) -> bool:
        return store.latest(version.name).id == version.pk

    @admin.display(description=_("enregistrée par"))
    def author(self, version: PolicyVersion) -> str:
        return version.created_by.get_username() if version.created_by else version.created_by_label

    @admin.display(description=_("texte TOML"))
    def text_shown(self, version: PolicyVersion) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', version.text)

    @admin.display(description=_("nouvelle version"))
    def actions_shown(self, version: PolicyVersion) -> str:
        add = reverse("admin:policies_policyversion_add") + f"?from={version.pk}"
        contacts = reverse("admin:policies_policyversion_contacts", args=[version.pk])
        return format_html('<a href="{}">{}</a> · <a href="{}">{}</a>', add, _("à partir de ce texte"),
                           contacts, _("en changeant les contacts"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name", "text", "comment", "confirmed") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        source = PolicyVersion.objects.filter(pk=request.GET.get("from") or 0).first()
        if source is None:
            source = PolicyVersion.objects.filter(name=store.default_name()).order_by("-number").first()
        return {"name": source.name, "text": source.text} if source else {"name": store.default_name()}

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a version is a commitment made: a change is a new version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PolicyVersion, form: Any, change: bool) -> None:
        version, _policy, _created = services.save_version(obj.name, obj.text, user=request.user, comment=obj.comment)
        obj.pk, obj.number = version.pk, version.number
        obj._state.adding = False

    def get_urls(self) -> list[Any]:
        own = [path("<int:pk>/contacts/", self.admin_site.admin_view(self.contacts_view),
                    name="policies_policyversion_contacts")]
        return own + super().get_urls()

    def contacts_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The contacts of a version, edited in a form; saved as the next version of its policy."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        version = get_object_or_404(PolicyVersion, pk=pk)
        initial = [{**c, "phones": ", ".join(c.get("phones", [])), "apprise": " ".join(c.get("apprise", []))}
                   for c in services.contacts_of(version.text)]
        formset = ContactsFormSet(request.POST or None, initial=initial)
        issues: list[str] = []
        if request.method == "POST" and formset.is_valid():
            contacts = [{**f.cleaned_data, "phones": [p.strip() for p in f.cleaned_data["phones"].split(",") if p.strip()],
                         "apprise": f.cleaned_data["apprise"].split()}
                        for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            for contact in contacts:
                contact.pop("DELETE", None)
            text = services.with_contacts(version.text, contacts)
            try:
                saved, _policy, created = services.save_version(version.name, text, user=request.user,
                                                                comment=str(_("contacts modifiés")))
            except PolicyError as exc:
                issues = [str(issue) for issue in exc.issues]
            else:
                if created:
                    self.message_user(request, _("Version %(n)d de « %(name)s » enregistrée.")
                                      % {"n": saved.number, "name": saved.name}, messages.SUCCESS)
                else:
                    self.message_user(request, _("Contacts inchangés : rien à enregistrer."), messages.INFO)
                return HttpResponseRedirect(reverse("admin:policies_policyversion_change", args=[saved.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "version": version,
                   "formset": formset, "issues": issues, "title": _("Contacts de %(v)s") % {"v": version}}
        return TemplateResponse(request, "admin/policies/policyversion/contacts.html", context)
