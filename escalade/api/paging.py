"""Page-number pagination: `?page=1&page_size=50` → {count, page, page_size, items}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

MAX_PAGE_SIZE = 200


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Numéro de page, à partir de 1.")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Éléments par page (200 au plus).")


def page_of(queryset: QuerySet[Any], query: PageQuery, render: Callable[[Any], Any]) -> dict[str, Any]:
    start = (query.page - 1) * query.page_size
    return {
        "count": queryset.count(),
        "page": query.page,
        "page_size": query.page_size,
        "items": [render(item) for item in queryset[start : start + query.page_size]],
    }
