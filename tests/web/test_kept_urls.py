"""`{% url %}` answers what Django's tag answers, and answers it again without reversing."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch, path

from escalade.web.templatetags import kept_urls

ARGS = ["GEN-1", "REQ 2026/0001", "é ü &<script>", "//evil", "x?y#z", "%2F", 42, 0, -1, True, 3.5, None, ""]
NAMES = ["incident", "portal_incident", "escalation", "acknowledge", "ack", "dashboard"]


def _django(source: str, **context: object) -> str:
    """The same template through Django's own `{% url %}` (an engine with no builtins of ours)."""
    return Engine().from_string(source).render(Context(context))


def _ours(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)  # type: ignore[arg-type]


def _both(source: str, **context: object) -> tuple[str | type[Exception], str | type[Exception]]:
    results = []
    for render in (_django, _ours, _ours):  # ours twice: reversed, then kept
        try:
            results.append(render(source, **context))
        except NoReverseMatch:
            results.append(NoReverseMatch)
    assert results[1] == results[2]
    return results[0], results[1]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("arg", ARGS)
def test_the_tag_writes_what_djangos_writes_for_every_argument(name, arg):
    django, ours = _both("<a href='{% url name arg %}'>", name=name, arg=arg)
    assert ours == django


def test_the_tag_keeps_djangos_as_variable_keyword_arguments_and_escaping():
    assert _both("{% url 'incident' number=n as u %}[{{ u }}]", n="A&B") == (("[/incidents/A&amp;B/]",) * 2)
    assert _both("{% url 'incident' 'a/b' as u %}[{{ u }}]", ) == ("[]", "[]")  # no match, as variable: empty
    assert _both("{% autoescape off %}{% url 'incident' n %}{% endautoescape %}", n="A&B")[1] == "/incidents/A&B/"


def test_a_url_is_reversed_once_then_kept():
    kept_urls._reversed.cache_clear()
    _ours("{% url 'incident' n %}{% url 'incident' n %}", n="REQ-9")
    info = kept_urls._reversed.cache_info()
    assert (info.misses, info.hits) == (1, 1)


class Named:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_an_argument_that_is_not_plain_text_or_a_number_is_reversed_each_time():
    """Its text may change while it stays equal (a model instance keeps its id): never kept."""
    kept_urls._reversed.cache_clear()
    named = Named("A")
    assert _ours("{% url 'incident' n %}", n=named) == "/incidents/A/"
    named.text = "B"
    assert _ours("{% url 'incident' n %}", n=named) == "/incidents/B/"
    assert kept_urls._reversed.cache_info().currsize == 0


def view(request):  # pragma: no cover - never called
    raise AssertionError


urlpatterns = [path("ailleurs/<str:number>/", view, name="incident")]


def test_another_urlconf_or_script_prefix_is_answered_for_itself():
    from django.urls import set_script_prefix

    assert _ours("{% url 'incident' 'X' %}") == "/incidents/X/"
    with override_settings(ROOT_URLCONF=__name__):
        assert _ours("{% url 'incident' 'X' %}") == "/ailleurs/X/"
    assert _ours("{% url 'incident' 'X' %}") == "/incidents/X/"
    set_script_prefix("/escalade/")
    try:
        assert _ours("{% url 'incident' 'X' %}") == "/escalade/incidents/X/"
    finally:
        set_script_prefix("/")


def test_the_admins_namespaced_urls_follow_the_current_app():
    request = RequestFactory().get("/admin/")
    request.current_app = "admin"
    source = "{% url 'admin:index' %}|{% url 'admin:incidents_incident_changelist' %}"
    ours = engines["django"].from_string(source).render({}, request)
    assert ours == Engine().from_string(source).render(Context({"request": request})) == "/admin/|/admin/incidents/incident/"
