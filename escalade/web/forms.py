"""Forms: they parse and check what people type; the services decide."""

from __future__ import annotations

import html
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from escalade.core.contract import FactsError
from escalade.core.policy import Policy
from escalade.policies import store


class Select(forms.Select):
    """Django's select, written in Python: Django's template includes two templates per option,
    and the dashboard's list of 200 customers took 16-24 ms to write (0.9 ms here). The same HTML, but
    for the blank lines Django leaves between options."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{_text(widget["name"])}"{_attributes(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_text(group_name)}">')
            parts.extend(f'\n  <option value="{html.escape(str(o["value"]))}"{_attributes(o["attrs"])}>'
                         f'{_text(o["label"])}</option>' for o in options)
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every part above is escaped


def _text(value: Any) -> str:
    """As a template writes a value: escaped unless marked safe (Django's `conditional_escape`,
    without its lazy-argument wrapper, most of the time it took)."""
    return str(value.__html__()) if hasattr(value, "__html__") else html.escape(str(value))


def _attributes(attrs: dict[str, Any]) -> str:
    """As Django's attrs.html writes them: in their order, True as a bare name, False left out."""
    return "".join(f" {_text(name)}" if value is True else f' {_text(name)}="{html.escape(str(value))}"'
                   for name, value in attrs.items() if value is not False)


def _check_number(value: str) -> str:
    """The most likely number a person meant ("req 1003" → "REQ-1003"); `request_number_candidates`
    gives the others."""
    candidates = store.request_number_guesses(value)
    try:
        return store.checked_request_number(candidates[0] if candidates else value)
    except FactsError:  # the core decides; the page says it in the page's language
        raise forms.ValidationError(
            _("« %(value)s » n'est pas un numéro de requête valide (exemple : %(example)s).")
            % {"value": value.strip(), "example": store.default_policy().request_number_example}
        ) from None


class RequestNumberField(forms.CharField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("label", _("Numéro de requête"))
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault(
            "error_messages",
            {"required": _("Le numéro de requête de l'incident est obligatoire.")},
        )
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> str:
        return _check_number(super().clean(value))


class LookupForm(forms.Form):
    request_number = RequestNumberField(
        help_text=_("Indiqué dans l'accusé de réception de votre incident, par exemple REQ-1042."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false"}),
    )


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'escalade"),
        max_length=2000,
        # kept as typed when the card refreshes itself around it
        widget=forms.Textarea(attrs={"rows": 3, "hx-preserve": "true"}),
        error_messages={"required": _("Le motif de l'escalade est obligatoire.")},
    )
    level = forms.TypedChoiceField(label=_("Niveau"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: object, levels: tuple[int, ...] = (), offered: tuple[int, ...] | None = None,
                 **kwargs: object) -> None:
        """`levels` may be asked (an escalated one again is a repeat the service answers); only
        `offered` (those not yet escalated) are in the list."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["level"]
        choices = [("", _("le plus haut niveau possible"))]
        choices += [(str(n), _("niveau %(n)d") % {"n": n}) for n in (levels if offered is None else offered)]
        field.choices = choices  # type: ignore[attr-defined]
        accepted = {"", *(str(n) for n in levels)}
        field.valid_value = lambda value: str(value) in accepted  # type: ignore[attr-defined]


class PhoneEscalationForm(forms.Form):
    request_number = RequestNumberField()
    caller = forms.CharField(
        label=_("Appelant (nom et organisation)"), max_length=150,
        error_messages={"required": _("Indiquez qui a appelé.")},
    )
    reason = forms.CharField(
        label=_("Motif donné par l'appelant"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Le motif de l'escalade est obligatoire.")},
    )
    level = forms.TypedChoiceField(label=_("Niveau demandé"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", _("le plus haut niveau possible"))]
        choices += [(str(n), _("niveau %(n)d") % {"n": n}) for n in store.levels_in_force()]  # the policies' levels
        self.fields["level"].choices = choices  # type: ignore[attr-defined]

    def focus_first_error(self) -> None:
        """The page opens on the first field to correct, not at the top of the body."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return


STATE_CHOICES = [
    ("", _("Tous")),
    ("breached", _("Délai dépassé")),
    ("running", _("Dans les délais")),
    ("paused", _("En attente client")),
]


def priority_choices(policy: Policy | None = None) -> list[tuple[str, str]]:
    """A policy's priorities as a list offers them, key and the policy's own label: an incident's
    policy's, else those of every policy in force (filters over all contracts)."""
    if policy is not None:
        return [(key, rule.label) for key, rule in policy.priorities.items()]
    return store.labels_in_force("priorities")


class DashboardFilter(forms.Form):
    customer = forms.ChoiceField(label=_("Client"), required=False, widget=Select)
    priority = forms.ChoiceField(label=_("Priorité"), required=False, widget=Select)
    state = forms.ChoiceField(label=_("État"), required=False, choices=STATE_CHOICES, widget=Select)
    track = forms.ChoiceField(label=_("Filière"), required=False, widget=Select)

    def __init__(self, *args: object, customers: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["customer"].choices = [("", _("Tous")), *customers]  # type: ignore[attr-defined]
        self.fields["priority"].choices = [("", _("Toutes")), *priority_choices()]  # type: ignore[attr-defined]
        tracks = store.labels_in_force("tracks")
        self.fields["track"].choices = [("", _("Toutes")), *tracks]  # type: ignore[attr-defined]


class PortalFilter(forms.Form):
    """'Vos incidents': open ones (default), resolved ones or all; a partner also picks a customer."""

    shown = forms.ChoiceField(label=_("Incidents"), required=False, choices=[
        ("open", _("ouverts")), ("resolved", _("résolus")), ("all", _("tous"))], widget=Select)
    customer = forms.ChoiceField(label=_("Client"), required=False, widget=Select)
    priority = forms.ChoiceField(label=_("Priorité"), required=False, widget=Select)

    def __init__(self, *args: object, customers: list[tuple[str, str]], policy: Policy | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if len(customers) > 1:
            self.fields["customer"].choices = [("", _("Tous")), *customers]  # type: ignore[attr-defined]
        else:
            del self.fields["customer"]  # one's own organisation: nothing to choose
        self.fields["priority"].choices = [("", _("Toutes")), *priority_choices(policy)]  # type: ignore[attr-defined]


class ReportFilter(forms.Form):
    months = forms.TypedChoiceField(
        label=_("Période"), coerce=int, required=False, empty_value=3, initial="3",
        choices=[("1", _("1 mois")), ("3", _("3 mois")), ("6", _("6 mois")), ("12", _("12 mois"))],
    )
