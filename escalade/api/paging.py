"""Page-number pagination: `?page=1&page_size=50` → {count, count_exact, page, page_size, items}.

The count is exact up to `bulk.EXACT_UP_TO` rows, and beyond that PostgreSQL's planner estimate,
flagged `count_exact: false` (`bulk.count_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

from escalade.bulk import count_of

MAX_PAGE_SIZE = 200


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Numéro de page, à partir de 1.")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Éléments par page (200 au plus).")


def page_of(queryset: QuerySet[Any], query: PageQuery, render: Callable[[Any], Any]) -> dict[str, Any]:
    start = (query.page - 1) * query.page_size
    count, exact = count_of(queryset)
    return paged(query, count, exact, [render(item) for item in queryset[start : start + query.page_size]])


def paged(query: PageQuery, count: int, exact: bool, items: list[Any]) -> dict[str, Any]:
    """The body of a page of `items` out of `count` rows (exact or estimated)."""
    return {"count": count, "count_exact": exact, "page": query.page, "page_size": query.page_size, "items": items}
