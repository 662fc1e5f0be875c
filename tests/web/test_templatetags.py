"""The feed's and the rows' helpers write what Django's `date` filter and `get_channel_display` write, and
the feed's items and the dashboard's rows the HTML their templates wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.utils import timezone, translation

from escalade.escalations.models import Escalation
from escalade.incidents.models import Channel
from escalade.web.templatetags.escalade_web import channel_label, day_month_time, day_time

# Around both of Paris's 2026 clock changes, midnight, the new year, and a non-UTC offset given in.
INSTANTS = [
    *(datetime(2026, 3, 29, 0, 30, tzinfo=UTC) + timedelta(minutes=20 * i) for i in range(9)),
    *(datetime(2026, 10, 25, 0, 0, tzinfo=UTC) + timedelta(minutes=20 * i) for i in range(9)),
    datetime(2026, 12, 31, 23, 0, 1, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Paris")),
]


def _render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC", "America/Cayenne"])
def test_day_time_and_day_month_time_write_djangos_date_formats_in_the_active_zone(zone):
    with timezone.override(ZoneInfo(zone)):
        for value in [*INSTANTS, None]:
            assert day_time(value) == _render('{{ v|date:"d/m/Y H:i" }}', v=value), value
            assert day_month_time(value) == _render('{{ v|date:"d/m H:i" }}', v=value), value
            assert (day_month_time(value) or "—") == _render('{{ v|date:"d/m H:i"|default:"—" }}', v=value)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_channel_label_is_the_models_display_in_the_active_language(language):
    with translation.override(language):
        for value in [*Channel.values, "inconnu"]:
            escalation = Escalation(channel=value)
            assert channel_label(escalation.channel) == _render("{{ e.get_channel_display }}", e=escalation)
    with translation.override("en"):  # each language its own labels, whichever was asked first
        assert channel_label("phone") == "phone"
    with translation.override("fr"):
        assert channel_label("phone") == "téléphone"


# _feed.html as a template with Django's own tags and filters, before its items were written in
# Python (escalade_web.feed_pending and feed_done): the reference for their HTML.
FEED_AS_A_TEMPLATE = """{% load i18n %}
<li class="feed-head" id="pending-count"><h3>{% blocktranslate count n=feed.pending|length trimmed %}À prendre en compte ({{ n }}){% plural %}À prendre en compte ({{ n }}){% endblocktranslate %}</h3></li>
{% for e in feed.pending %}
<li class="feed-item pending{% if e.level == feed.top_level %} top-level{% endif %}" id="esc-{{ e.pk }}">
  <p><a href="{% url 'escalation' e.pk %}"><strong>{{ e.number }}</strong></a> · <a href="{% url 'incident' e.incident.request_number %}">{{ e.incident.request_number }}</a> · {{ e.incident.customer.name }}</p>
  <p><strong class="level-badge">{% blocktranslate with level=e.level %}Niveau {{ level }}{% endblocktranslate %}</strong> · {{ e.granted_at|date:"d/m/Y H:i" }} · {{ e.get_channel_display }} · {{ e.requester_label }}</p>
  <p class="reason">« {{ e.reason|truncatechars:140 }} »</p>
  <form method="post" action="{% url 'acknowledge' e.pk %}" hx-post="{% url 'acknowledge' e.pk %}" hx-target="#feed" hx-swap="innerHTML">{% csrf_token %}
    <span class="state st-breached"><span aria-hidden="true" class="dot"></span>{% translate "À prendre en compte" %}</span>
    <button type="submit" class="primary small">{% blocktranslate with number=e.number %}Prendre en compte {{ number }}{% endblocktranslate %}</button>
  </form>
</li>
{% empty %}<li>{% translate "Aucune escalade à prendre en compte." %}</li>
{% endfor %}
{% if feed.done %}
<li class="feed-head"><h3>{% translate "Prises en compte cette semaine" %}</h3></li>
{% for e in feed.done %}
<li class="feed-item" id="esc-{{ e.pk }}">
  <p><a href="{% url 'escalation' e.pk %}"><strong>{{ e.number }}</strong></a> · <a href="{% url 'incident' e.incident.request_number %}">{{ e.incident.request_number }}</a> · {{ e.incident.customer.name }} · {% blocktranslate with level=e.level %}Niveau {{ level }}{% endblocktranslate %}</p>
  <p class="state st-met"><span aria-hidden="true" class="dot"></span>{% blocktranslate with who=e.acknowledged_label|default:"—" when=e.acknowledged_at|date:"d/m H:i" %}Prise en compte ({{ who }}, {{ when }}){% endblocktranslate %}</p>
</li>
{% endfor %}
{% endif %}
"""


def _escalation(pk: int, level: int, **values: object) -> Escalation:
    from escalade.incidents.models import Customer, Incident

    customer = Customer(name=values.pop("customer", "Client A & fils <SARL>"))
    incident = Incident(request_number=values.pop("number", f"REQ-{pk}"), customer=customer)
    return Escalation(pk=pk, level=level, incident=incident, granted_at=datetime(2026, 10, 25, 0, 40, tzinfo=UTC),
                      channel=values.pop("channel", "phone"), requester_label='Jeanne "J." d\'Arc & co',
                      reason=values.pop("reason", "Coupure <script>alert(1)</script> « totale » " + "x" * 150),
                      **values)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_feeds_items_are_the_html_its_template_wrote(language):
    pending = [_escalation(1, 1), _escalation(22, 3, channel="inconnu", reason="court", number="A B ?&é"),
               _escalation(333, 2, channel="email")]
    done = [_escalation(4, 3, acknowledged_label="", acknowledged_at=datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
            _escalation(5, 1, acknowledged_label="<b>Sam</b>", acknowledged_at=datetime(2026, 3, 29, 1, 0, tzinfo=UTC))]
    for feed in ({"pending": pending, "done": done, "top_level": 3}, {"pending": [], "done": [], "top_level": 0}):
        context = {"feed": feed, "csrf_token": "jeton-csrf"}
        with translation.override(language), timezone.override(ZoneInfo("Europe/Paris")):
            ours = engines["django"].get_template("web/_feed.html").render(context)
            reference = engines["django"].from_string(FEED_AS_A_TEMPLATE).render(context)
        assert ours == reference
        assert ("&lt;script&gt;" in ours and 'id="esc-333"' in ours and "top-level" in ours) or not feed["pending"]


# _incident_rows.html as a template with Django's own tags and filters, before its rows were written
# in Python (dashboard_row).
ROWS_AS_A_TEMPLATE = """{% load i18n escalade_web %}
{% for card in rows %}{% with i=card.incident %}
<tr class="row-{{ card.worst_state }}">
  <td><a href="{% url 'incident' i.request_number %}">{{ i.request_number }}</a><br><span class="muted">{{ i.title|truncatechars:48 }}</span></td>
  <td>{{ i.customer.name }}</td>
  <td><span class="prio prio-{{ i.priority }}">{{ card.priority_label }}</span></td>
  {% for c in card.commitments %}
  <td>{{ c.due_at|date:"d/m H:i"|default:"—" }}<br>{% state_badge c.state c.state_label %}<br>{% clock c now %}</td>
  {% endfor %}
  {% if card.no_resolution_commitment %}<td class="muted">{% translate "sans GTR" %}</td>{% endif %}
  <td data-label="{% translate 'Niveau ouvert' %}">{% if card.allowed %}<strong>{% blocktranslate with level=card.level %}niveau {{ level }}{% endblocktranslate %}</strong>{% else %}—{% endif %}</td>
  <td data-label="{% translate 'Niveau escaladé' %}">{% if i.escalated_level %}{% blocktranslate with level=i.escalated_level %}niveau {{ level }}{% endblocktranslate %}{% if i.awaiting_ack %}<br><span class="state st-breached"><span aria-hidden="true" class="dot"></span>{% translate "à prendre en compte" %}</span>{% endif %}{% else %}—{% endif %}</td>
</tr>
{% endwith %}{% empty %}
<tr><td colspan="7">{% translate "Aucun incident ouvert." %}</td></tr>
{% endfor %}
"""


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_dashboards_rows_are_the_html_their_template_wrote(incidents, world, language):
    """Breached, running and paused commitments, a contract without GTR, an open level, an
    escalation awaiting acknowledgement and a title to shorten."""
    from django.test import RequestFactory

    from escalade.escalations.services import request_escalation
    from escalade.incidents.services import IncidentInput, apply_event, upsert_incident
    from escalade.web import views

    upsert_incident(IncidentInput(request_number="REQ-1005", customer="client-a", priority="high",
                                  opened_at=timezone.now() - timedelta(minutes=30), title="<b>Titre</b> " + "t" * 60,
                                  gtr=False),
                    user=None, channel="api", now=timezone.now())
    request_escalation(user=world.users["staff"], request_number="REQ-1001", reason="x", now=timezone.now())
    apply_event(incidents["running"], "pause", user=world.users["staff"], channel="web", now=timezone.now())
    request = RequestFactory().get("/tableau-de-bord/incidents/")
    request.user = world.users["staff"]
    with translation.override(language), timezone.override(ZoneInfo("Europe/Paris")):
        rows = views._dashboard_rows(request)[1]
        context = {"rows": rows, "now": timezone.now()}
        ours = engines["django"].get_template("web/_incident_rows.html").render(context)
        reference = engines["django"].from_string(ROWS_AS_A_TEMPLATE).render(context)
        assert ours == reference
        assert engines["django"].get_template("web/_incident_rows.html").render({"rows": []}) == engines[
            "django"].from_string(ROWS_AS_A_TEMPLATE).render({"rows": []})
    assert len(rows) == 5 and "&lt;b&gt;" in ours and "st-breached" in ours and ours.count("<tr") == 5
    assert {c.state for card in rows for c in card.commitments} >= {"breached", "running", "paused"}
    assert any(card.no_resolution_commitment for card in rows) and any(card.allowed for card in rows)
