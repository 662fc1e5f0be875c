"""`{% url %}` answering again what Django's `reverse` answered for the same name and arguments.

A builtin of the template engine (settings.TEMPLATES), so it replaces Django's tag everywhere. Django
reverses each time: 23–56 µs a URL here (quoting and matching the pattern again), and the dashboard
writes 478 of them a page (its rows and its escalation feed, which every open dashboard asks for
every 3 seconds) for 20 ms of its time. `reverse` depends on nothing but its arguments, the URLconf
and the script prefix, so its answers are kept for those, the arguments being plain text or
integers (another object's text could change under the same key: it is reversed each time). The
rest is Django's `URLNode` as it is.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Node
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

register = template.Library()
KEPT = 4096  # URLs: a few hundred a page, a few pages in turn


@lru_cache(maxsize=KEPT)
def _reversed(view_name: str, args: tuple[str | int, ...], kwargs: tuple[tuple[str, str | int], ...],
              current_app: str | None, urlconf: Any, prefix: str) -> str:
    # `prefix` is part of the key only: `reverse` reads the same one (this thread's request's).
    return reverse(view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app)


# Text (a template's literals are SafeStrings) and integers: not bool, not a subclass with its own text.
_PLAIN = frozenset({str, SafeString, int})


def _plain(value: object) -> bool:
    return type(value) in _PLAIN


def kept_reverse(view_name: Any, args: list[Any], kwargs: dict[str, Any], current_app: str | None) -> str:
    """`reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)`, kept when it can be."""
    if (_plain(view_name) and all(map(_plain, args)) and all(map(_plain, kwargs.values()))
            and (current_app is None or _plain(current_app))):
        return _reversed(view_name, tuple(args), tuple(sorted(kwargs.items())), current_app, get_urlconf(),
                         get_script_prefix())
    return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


@receiver(setting_changed)
def _forget_on_new_urlconf(*, setting: str, **_: Any) -> None:
    if setting == "ROOT_URLCONF":  # Django clears its own URL caches then too
        _reversed.cache_clear()


class KeptURLNode(URLNode):
    def render(self, context: Context) -> str:
        # Django's URLNode.render with `kept_reverse` for `reverse`.
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = kept_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> Node:
    """Django's `{% url %}` (same syntax, parsed by Django), rendered by `KeptURLNode`."""
    node = django_url(parser, token)
    return KeptURLNode(node.view_name, node.args, node.kwargs, node.asvar)
