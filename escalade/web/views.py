"""The pages: each view parses the request, calls a service, and renders. No state changes here."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from escalade.accounts.models import User
from escalade.bulk import count_of
from escalade.core.contract import FactsError
from escalade.core.render import procedure_html_body
from escalade.errors import ServiceError, incident_not_found
from escalade.escalations.record import incident_record
from escalade.escalations.services import (
    acknowledge_escalation,
    get_visible_escalation,
    request_escalation,
    visible_escalations,
)
from escalade.incidents.evaluation import evaluation_now
from escalade.incidents.models import Channel, Customer, Incident, Status
from escalade.incidents.services import apply_event, get_visible_incident
from escalade.mail.imap import status as mailbox_status
from escalade.mail.services import pending_for_staff
from escalade.policies import store
from escalade.reports import compute as reports
from escalade.reports import summary
from escalade.sync.services import status as sync_status
from escalade.web import charts, present
from escalade.web.forms import (
    DashboardFilter,
    EscalateForm,
    LookupForm,
    PhoneEscalationForm,
    PortalFilter,
    ReportFilter,
    priority_choices,
)
from escalade.web.present import priority_label

View = Callable[..., HttpResponse]


def not_found(request: HttpRequest, number: str | None = None) -> HttpResponse:
    """Unknown and out of scope are the same page: nothing tells one from the other."""
    if number:
        message = _("Aucun incident ne porte le numéro de requête « %(number)s ».") % {"number": number}
    else:
        message = _("Cette page n'existe pas ou ne vous est pas accessible.")
    form = LookupForm(initial={"request_number": number or ""})
    return render(request, "web/not_found.html", {"message": message, "form": form}, status=404)


def locked_out(request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None) -> HttpResponse:
    """Too many wrong passwords for this account from this address (django-axes): a 429 that says
    for how long, in the person's language."""
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    page = render(request, "web/locked_out.html",
                  {"minutes": max(1, wait // 60), "organisation": store.default_policy().organisation}, status=429)
    page["Retry-After"] = str(wait)
    return page


def _find(user: Any, number: str) -> Incident:
    """The incident behind a number in a URL; anything that cannot be a request number is unknown
    (and never reaches the database: PostgreSQL refuses NUL characters)."""
    try:
        number = store.checked_request_number(number)
    except FactsError:
        raise incident_not_found(number) from None
    return get_visible_incident(user, number)


def staff_only(view: View) -> View:
    """Staff pages: for customers and partners they do not exist (404, like anything out of scope)."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_internal:  # type: ignore[union-attr]
            return not_found(request)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("dashboard" if request.user.is_internal else "portal")  # type: ignore[union-attr]


# -- the escalation portal ------------------------------------------------------------------------


PORTAL_ROWS = 50


def _meant_number(user: User, typed: str) -> str | None:
    """"1003" may be REQ-1003 or a helpdesk's 1003: the first of the numbers the person may mean that
    is an incident they see (one query)."""
    candidates = store.request_number_guesses(typed)
    seen = set(Incident.objects.visible_to(user).filter(
        request_number__in=candidates).values_list("request_number", flat=True))
    return next((c for c in candidates if c in seen), None)


@login_required
@require_GET
def portal(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = LookupForm(request.GET or None)
    if form.is_bound and form.is_valid():
        number = _meant_number(user, form.data["request_number"])  # type: ignore[arg-type]
        if number is None:
            return not_found(request, form.cleaned_data["request_number"])
        return redirect("portal_incident", number=number)
    customers = [(c.code, c.name) for c in Customer.objects.visible_to(user)]  # type: ignore[arg-type]
    own = getattr(user, "customer", None)  # a customer's user filters by its own policy's priorities
    shown = PortalFilter(request.GET if "shown" in request.GET else None, customers=customers,
                         policy=own.policy if own is not None else None)
    choice = shown.cleaned_data if shown.is_valid() else {"shown": "open", "customer": "", "priority": ""}
    # Open ones first, then the newest resolved: two index scans (customer, opened_at) rather than a
    # sort of every incident of the organisation (5,000 of them at a million).
    mine = Incident.objects.visible_to(user).order_by("-opened_at")  # type: ignore[arg-type]
    if choice.get("customer"):
        mine = mine.filter(customer__code=choice["customer"])
    if choice.get("priority"):
        mine = mine.filter(priority=choice["priority"])
    incidents: list[Incident] = []
    if choice["shown"] in ("open", "all", ""):
        # their pauses in one query: each is evaluated below for its "Escalade" column
        incidents = list(mine.filter(resolved_at__isnull=True).prefetch_related("pauses")[:PORTAL_ROWS])
    if choice["shown"] in ("resolved", "all") and len(incidents) < PORTAL_ROWS:
        incidents += mine.filter(resolved_at__isnull=False)[:PORTAL_ROWS - len(incidents)]
    # When each can be escalated: the core's answer for the open ones (a resolved one never can).
    now = timezone.now()
    when = {i.pk: evaluation_now(i, now).escalation for i in incidents if i.resolved_at is None}
    escalations = visible_escalations(user).order_by("-granted_at")[:20]  # type: ignore[arg-type]
    return render(request, "web/portal.html", {
        "form": form,
        "shown": shown,
        "incidents": [(i, when.get(i.pk)) for i in incidents],
        "now": now,
        "escalations": escalations,
        "status_open": Status.RESOLVED,
    }, status=400 if form.is_bound else 200)


def _card_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    policy = incident.policy
    now = timezone.now()
    card = present.card(policy, incident, evaluation_now(incident, now))
    return {
        "card": card,
        "incident": incident,
        "now": now,
        "escalations": incident.escalations.order_by("level"),
    }


def _escalate_form(card: present.Card, data: Any = None) -> EscalateForm:
    """Any level open now may be asked (an escalated one again is a repeat); the list offers those
    not escalated yet."""
    return EscalateForm(data, levels=card.levels, offered=card.offered_levels)


def _portal_incident_page(request: HttpRequest, number: str, template: str) -> HttpResponse:
    incident = _find(request.user, number)
    context = _card_context(request, incident)
    context["form"] = _escalate_form(context["card"])
    return render(request, template, context)


@login_required
@require_GET
def portal_incident(request: HttpRequest, number: str) -> HttpResponse:
    return _portal_incident_page(request, number, "web/portal_incident.html")


@login_required
@require_GET
def portal_incident_live(request: HttpRequest, number: str) -> HttpResponse:
    """The card, the escalations and the form as they are now (the page refreshes them in place)."""
    return _portal_incident_page(request, number, "web/_portal_live.html")


@login_required
@require_POST
def escalate(request: HttpRequest, number: str) -> HttpResponse:
    user = request.user
    incident = _find(user, number)
    context = _card_context(request, incident)
    form = _escalate_form(context["card"], request.POST)
    if not form.is_valid():
        context["form"] = form
        return render(request, "web/portal_incident.html", context, status=400)
    try:
        outcome = request_escalation(
            user=user,  # type: ignore[arg-type]
            request_number=incident.request_number,
            reason=form.cleaned_data["reason"],
            level=form.cleaned_data["level"],
            now=timezone.now(),
            channel=Channel.WEB,
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise  # one page for unknown and out of scope (web.middleware)
        form.add_error(None, exc.detail)
        context["form"] = form
        response = render(request, "web/portal_incident.html", context, status=exc.status)
        if "retry_after" in exc.extra:
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response
    if outcome.escalation is None:
        context = _card_context(request, incident)
        context["form"] = _escalate_form(context["card"])
        context["refusal"] = outcome.check.message
        return render(request, "web/portal_incident.html", context, status=409)
    if not outcome.created:
        messages.info(request, _("Ce niveau était déjà escaladé : votre demande a été ajoutée à son historique."))
    return redirect("escalation", escalation_id=outcome.escalation.pk)


@login_required
@require_GET
def escalation(request: HttpRequest, escalation_id: int) -> HttpResponse:
    esc = get_visible_escalation(request.user, escalation_id)  # type: ignore[arg-type]
    policy = esc.incident.policy
    contacts = [present.contact_view(policy, c) for c in policy.contacts_for(esc.level, esc.incident.track)]
    return render(request, "web/escalation.html", {"escalation": esc, "contacts": contacts, "organisation": policy.organisation})


# -- the incident page ------------------------------------------------------------------------------


@login_required
@require_GET
def incident(request: HttpRequest, number: str) -> HttpResponse:
    found = _find(request.user, number)
    context = _card_context(request, found)
    policy = found.policy
    statuses = context["card"].evaluation.commitments.all()
    context["explanations"] = [e for e in (present.explain(policy, s, found.opened_at) for s in statuses) if e]
    context["timeline"] = found.timeline.select_related(None).order_by("occurred_at", "id")
    context["pauses"] = found.pauses.all()
    context["track_label"] = getattr(policy.tracks.get(found.track), "label", found.track)
    context["priorities"] = priority_choices(policy)
    return render(request, "web/incident.html", context)


@login_required
@require_GET
def incident_record_page(request: HttpRequest, number: str) -> HttpResponse:
    """The printable record (the same document as the API's JSON), for an SLA dispute."""
    found = _find(request.user, number)
    now = timezone.now()
    return render(request, "web/record.html", {
        "incident": found,
        "record": incident_record(found, now),
        "now": now,
        "timeline": found.timeline.select_related(None).order_by("id"),
        "requests": found.escalation_requests.select_related("escalation").order_by("id"),
    })


# -- the staff dashboard ------------------------------------------------------------------------------


def _filtered_open(request: HttpRequest) -> tuple[DashboardFilter, QuerySet[Incident]]:
    customers = [(c.code, c.name) for c in Customer.objects.visible_to(request.user)]  # type: ignore[arg-type]
    form = DashboardFilter(request.GET or None, customers=customers)
    now = timezone.now()
    incidents = Incident.objects.visible_to(request.user).filter(resolved_at__isnull=True).urgency_ordered(now)  # type: ignore[arg-type]
    if form.is_valid():
        data = form.cleaned_data
        if data["customer"]:
            incidents = incidents.filter(customer__code=data["customer"])
        if data["priority"]:
            incidents = incidents.filter(priority=data["priority"])
        if data["track"]:
            incidents = incidents.filter(track=data["track"])
        if data["state"] == "breached":
            incidents = incidents.filter(breached=0)
        elif data["state"] == "running":
            incidents = incidents.filter(breached=1).exclude(status=Status.PAUSED)
        elif data["state"] == "paused":
            incidents = incidents.filter(status=Status.PAUSED)
    return form, incidents


DASHBOARD_ROWS = 50  # a page of the most urgent: the operator works from the top, then pages on


@dataclass(frozen=True)
class RowsPage:
    number: int
    first: int  # 1-based positions shown, 0 when none
    last: int
    total: int
    exact: bool  # False: the total is PostgreSQL's estimate (beyond bulk.EXACT_UP_TO)
    previous_query: str  # the page links keep the filters
    next_query: str


def _dashboard_rows(request: HttpRequest) -> tuple[DashboardFilter, list[present.Card], RowsPage]:
    form, incidents = _filtered_open(request)
    now = timezone.now()
    total, exact = count_of(incidents)  # flat in the open count: no exact COUNT(*) of 200,000 rows
    pages = max(1, -(-total // DASHBOARD_ROWS))
    try:
        number = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        number = 1
    start = (number - 1) * DASHBOARD_ROWS  # the urgency index serves the offset in order
    rows = [present.card(i.policy, i, evaluation_now(i, now))
            for i in incidents.prefetch_related("pauses")[start:start + DASHBOARD_ROWS]]

    def query(page: int) -> str:
        params = request.GET.copy()
        params["page"] = str(page)
        return params.urlencode()

    page = RowsPage(number=number, first=start + 1 if rows else 0, last=start + len(rows), total=total, exact=exact,
                    previous_query=query(number - 1) if number > 1 else "",
                    next_query=query(number + 1) if number < pages else "")
    return form, rows, page


FEED_ACKNOWLEDGED = 8
FEED_ACKNOWLEDGED_WITHIN = timedelta(days=7)  # older acknowledgements are history, not news


def _feed(request: HttpRequest) -> dict[str, Any]:
    """Every escalation still to acknowledge (oldest first), apart from the latest acknowledged
    ones of the last week; the highest level of the policy (the director) stands out."""
    escalations = visible_escalations(request.user)  # type: ignore[arg-type]
    pending = list(escalations.filter(acknowledged_at__isnull=True).order_by("granted_at")[:100])
    done = list(escalations.filter(acknowledged_at__gte=timezone.now() - FEED_ACKNOWLEDGED_WITHIN)
                .order_by("-acknowledged_at")[:FEED_ACKNOWLEDGED])
    return {"pending": pending, "done": done, "top_level": max(store.levels_in_force(), default=0)}


@staff_only
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, rows, page = _dashboard_rows(request)
    now = timezone.now()
    return render(request, "web/dashboard.html", {
        "filter": form, "rows": rows, "total": page.total, "rows_page": page, "feed": _feed(request),
        "phone_form": PhoneEscalationForm(), "now": now, "mail": pending_for_staff(),
        "sync_problem": _problem(sync_status("rt", now) if settings.ESCALADE_RT_URL else None),
        "mailbox_problem": _problem(mailbox_status(now)),
    })


def _problem(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A feed's status (the helpdesk sync, the procedure's mailbox; None where not configured) when it
    lags or its last pass failed: what the dashboard warns of, with the lag in whole minutes."""
    if state is None or (state["ok"] and not state["last_error"]):
        return None
    lag = state["lag_seconds"]
    return {**state, "lag_minutes": None if lag is None else int(lag // 60)}


@staff_only
@require_GET
def dashboard_feed(request: HttpRequest) -> HttpResponse:
    return render(request, "web/_feed.html", {"feed": _feed(request), "now": timezone.now()})


@staff_only
@require_GET
def dashboard_incidents(request: HttpRequest) -> HttpResponse:
    _form, rows, page = _dashboard_rows(request)
    return render(request, "web/_incident_rows.html", {"rows": rows, "total": page.total, "now": timezone.now()})


@staff_only
@require_POST
def acknowledge(request: HttpRequest, escalation_id: int) -> HttpResponse:
    esc, changed = acknowledge_escalation(user=request.user, escalation_id=escalation_id,  # type: ignore[arg-type]
                                          now=timezone.now(), channel=Channel.WEB)
    if request.headers.get("HX-Request"):
        return render(request, "web/_feed.html", {"feed": _feed(request), "now": timezone.now()})
    if changed:
        messages.success(request, _("Escalade %(number)s prise en compte.") % {"number": esc.number})
    if request.POST.get("next") == "escalation":  # from the escalation's own page: back to it
        return redirect("escalation", escalation_id=esc.pk)
    return redirect("dashboard")


# What staff record from an incident's page, and how each is said once done.
INCIDENT_ACTIONS = {
    "acknowledge": gettext_lazy("Prise en charge enregistrée."),
    "resolve": gettext_lazy("Résolution enregistrée."),
    "pause": gettext_lazy("Mise en attente client enregistrée."),
    "resume": gettext_lazy("Reprise enregistrée."),
    "reopen": gettext_lazy("Réouverture enregistrée."),
    "change_priority": gettext_lazy("Changement de priorité enregistré."),
}


@staff_only
@require_POST
def incident_event(request: HttpRequest, number: str) -> HttpResponse:
    """The incident page's buttons: the same events as the API, recorded in the member's name."""
    incident = _find(request.user, number)
    kind = request.POST.get("kind", "")
    if kind not in INCIDENT_ACTIONS:
        messages.error(request, _("Action inconnue."))
        return redirect("incident", number=incident.request_number)
    try:
        apply_event(incident, kind, user=request.user, channel=Channel.WEB, now=timezone.now(),  # type: ignore[arg-type]
                    priority=request.POST.get("priority") or None)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, str(INCIDENT_ACTIONS[kind]))
    return redirect("incident", number=incident.request_number)


@staff_only
@require_POST
def phone_escalation(request: HttpRequest) -> HttpResponse:
    form = PhoneEscalationForm(request.POST)
    if not form.is_valid():
        form.focus_first_error()
        return _dashboard_with_phone_form(request, form, 400)
    data = form.cleaned_data
    try:
        outcome = request_escalation(
            user=request.user,  # type: ignore[arg-type]
            # the number typed as staff see it ("1003" for REQ-1003), else the form's reading of it
            request_number=_meant_number(request.user, request.POST["request_number"])  # type: ignore[arg-type]
            or data["request_number"], reason=data["reason"], level=data["level"],
            now=timezone.now(), channel=Channel.PHONE, on_behalf_of=data["caller"],
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise  # one page for unknown and out of scope (web.middleware)
        return _dashboard_with_phone_form(request, form, exc.status, refusal=exc.detail)
    if outcome.escalation is None:
        # The operator's work stays in the form; the refused call is in the incident's history.
        return _dashboard_with_phone_form(request, form, 409, refusal=outcome.check.message,
                                          refused_number=outcome.incident.request_number)
    messages.success(request, _("Escalade %(number)s enregistrée (niveau %(level)d, par téléphone).")
                     % {"number": outcome.escalation.number, "level": outcome.escalation.level})
    return redirect("escalation", escalation_id=outcome.escalation.pk)


def _dashboard_with_phone_form(request: HttpRequest, form: PhoneEscalationForm, status: int, *,
                               refusal: str = "", refused_number: str = "") -> HttpResponse:
    """The dashboard again with the operator's form as it was sent, its errors or the refusal
    beside it (the page opens at the form: its action carries the #phone-title anchor)."""
    _f, rows, page = _dashboard_rows(request)
    return render(request, "web/dashboard.html", {
        "filter": DashboardFilter(customers=[]), "rows": rows, "total": page.total, "rows_page": page,
        "feed": _feed(request),
        "phone_form": form, "now": timezone.now(), "phone_refusal": refusal, "phone_refused_number": refused_number,
    }, status=status)


# -- the procedure --------------------------------------------------------------------------------


@require_GET
def procedure(request: HttpRequest) -> HttpResponse:
    """Public: the procedure written from the policy that the service enforces (for a customer's
    user, the policy of their contract)."""
    customer = getattr(request.user, "customer", None)
    policy = customer.policy if customer is not None else store.default_policy()
    return render(request, "web/procedure.html", {
        "body": procedure_html_body(policy), "organisation": policy.organisation,
    })


# -- reports ----------------------------------------------------------------------------------------


REPORT_PAGE_ROWS = 100


def _current_month(now: datetime) -> datetime:
    """The first instant of this month in the policy's zone: that month's figures are still partial."""
    return summary.months(now, 1, store.default_policy().timezone)[0].starts_at


def _month_label(month: datetime, current: datetime, fmt: str = "M Y") -> str:
    label = date_format(timezone.localtime(month, store.default_policy().timezone), fmt)
    return _("%(month)s (en cours)") % {"month": label} if month == current else label


def _report_rows(request: HttpRequest) -> tuple[ReportFilter, list[reports.ReportRow]]:
    form = ReportFilter(request.GET or None)
    months = form.cleaned_data["months"] if form.is_valid() else 3
    # Ended months without an open incident come from their sealed rows (computed once, kept while
    # none of their incidents changes); this month from the incidents.
    return form, summary.report(timezone.now(), months, store.default_policy().timezone, store.levels_in_force())


@staff_only
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    form, rows = _report_rows(request)
    # The charts sum each month (a bar per customer and priority made 7,000 bars over a year); the
    # table shows every group, a page at a time.
    months = reports.by_month(rows)
    current = _current_month(timezone.now())
    labels = [_month_label(m.month, current) for m in months]
    met_chart = charts.bar_chart(
        "met", _("Engagements respectés"), labels,
        [charts.Series(_("Prise en charge"), "s1", [m.take_charge_met_pct for m in months]),
         charts.Series(_("Résolution"), "s2", [m.resolution_met_pct for m in months])],
        100, "%",
    ) if rows else ""
    most = max((v for m in months for v in m.escalations), default=0)
    esc_chart = charts.bar_chart(
        "escalations", _("Escalades par niveau"), labels,
        [charts.Series(_("Niveau %(n)d") % {"n": n}, f"s{n + 2}", [float(m.escalations[n - 1]) for m in months])
         for n in store.levels_in_force()],
        max(most, 1), "",
    ) if rows else ""
    page = Paginator(rows, REPORT_PAGE_ROWS).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/reports.html", {
        "filter": form, "rows": page.object_list, "page": page, "total_rows": len(rows), "met_chart": met_chart,
        "esc_chart": esc_chart, "query": query.urlencode(),
        "levels": store.levels_in_force(),
        "month_labels": {r.month: _month_label(r.month, current) for r in page.object_list},
    })


def csv_header(levels: tuple[int, ...]) -> list[str]:
    return [
        "month", "customer", "customer_name", "priority", "incidents", "take_charge_met_pct",
        "resolution_met_pct", *(f"escalations_level_{level}" for level in levels),
        "take_charge_mean_minutes", "take_charge_p95_minutes", "resolution_mean_minutes",
        "resolution_p95_minutes",
    ]


# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # shown as text, as OWASP advises
    return value


def excel_header(levels: tuple[int, ...]) -> list[str]:
    return [
        _("Mois"), _("Code client"), _("Client"), _("Priorité"), _("Incidents"),
        _("Prise en charge respectée (%)"), _("Résolution respectée (%)"),
        *(_("Escalades niveau %(n)d") % {"n": level} for level in levels),
        _("Prise en charge : moyenne (min)"), _("Prise en charge : 95e centile (min)"),
        _("Résolution : moyenne (min)"), _("Résolution : 95e centile (min)"),
    ]


def _excel_number(value: float | None) -> str:
    return "" if value is None else charts.number_text(value)


def _report_excel(rows: list[reports.ReportRow]) -> HttpResponse:
    """For a spreadsheet in the page's language (French Excel: ';', decimal comma, a BOM so that it
    reads UTF-8), headers and labels for people; the plain CSV stays the machine-readable one."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="escalade-rapport-tableur.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";" if get_language() == "fr" else ",")
    writer.writerow(excel_header(store.levels_in_force()))
    current = _current_month(timezone.now())
    for r in rows:
        writer.writerow([_csv_value(v) for v in (
            _month_label(r.month, current, "F Y"), r.customer_code, r.customer_name, priority_label(r.priority),
            r.incidents, _excel_number(r.take_charge_met_pct), _excel_number(r.resolution_met_pct), *r.escalations,
            _excel_number(r.take_charge_mean_min), _excel_number(r.take_charge_p95_min),
            _excel_number(r.resolution_mean_min), _excel_number(r.resolution_p95_min),
        )])
    return response


@staff_only
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    _form, rows = _report_rows(request)
    if request.GET.get("format") == "tableur":
        return _report_excel(rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="escalade-rapport.csv"'
    writer = csv.writer(response)
    writer.writerow(csv_header(store.levels_in_force()))
    for r in rows:
        writer.writerow([_csv_value(v) for v in (
            timezone.localtime(r.month, store.default_policy().timezone).strftime("%Y-%m"), r.customer_code, r.customer_name, r.priority,
            r.incidents, r.take_charge_met_pct, r.resolution_met_pct, *r.escalations,
            r.take_charge_mean_min, r.take_charge_p95_min, r.resolution_mean_min, r.resolution_p95_min,
        )])
    return response
