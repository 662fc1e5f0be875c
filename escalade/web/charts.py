"""Horizontal bar charts as inline SVG, written on the server (no chart library in the page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # a class of app.css giving the colour; the legend also names it
    values: Sequence[float | None]


BAR, LABEL_W, CHART_W, PAD = 12, 230, 420, 8


def percent_text(value: float) -> str:
    """'66,7 %' (French), '66.7%' (English): one decimal, the page's separator."""
    return _("{value} %").format(value=number_format(value, 1))


def number_text(value: float) -> str:
    """'3', '52,5' (French), '52.5' (English): no decimal part for a whole number, else one."""
    return number_format(value, 0 if float(value).is_integer() else 1)


def _value_text(value: float, unit: str) -> str:
    return percent_text(value) if unit == "%" else number_text(value)


def bar_chart(key: str, title: str, labels: Sequence[str], series: Sequence[Series], maximum: float,
              unit: str) -> SafeString:
    """Grouped horizontal bars, one group per label; every bar carries its value as text too. `key`
    names the chart in the page (its title's id)."""
    row_h = 10 + len(series) * (BAR + 2)
    height = PAD * 2 + 24 + row_h * len(labels)
    width = LABEL_W + CHART_W + 70
    out = [
        f'<svg class="chart" role="img" aria-labelledby="chart-{escape(key)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{escape(key)}">{escape(title)}</title>',
    ]
    x = LABEL_W
    for s in series:
        out.append(f'<rect class="{s.css}" x="{x}" y="{PAD}" width="12" height="12"/>')
        out.append(f'<text x="{x + 16}" y="{PAD + 11}" class="legend">{escape(s.name)}</text>')
        x += 30 + 8 * len(s.name)
    top = PAD + 24
    for row, label in enumerate(labels):
        y = top + row * row_h
        out.append(f'<text x="{LABEL_W - 8}" y="{y + row_h / 2 + 4}" text-anchor="end" class="label">{escape(label)}</text>')
        for k, s in enumerate(series):
            value = s.values[row]
            by = y + 4 + k * (BAR + 2)
            if value is None:
                out.append(f'<text x="{LABEL_W + 4}" y="{by + BAR - 2}" class="value">—</text>')
                continue
            w = 0 if maximum <= 0 else max(CHART_W * min(value, maximum) / maximum, 1)
            out.append(f'<rect class="{s.css}" x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR}">'
                       f'<title>{escape(s.name)} : {escape(_value_text(value, unit))}</title></rect>')
            out.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{by + BAR - 2}" class="value">{escape(_value_text(value, unit))}</text>')
    out.append(f'<line x1="{LABEL_W}" y1="{top - 2}" x2="{LABEL_W}" y2="{height - PAD}" class="axis"/>')
    out.append("</svg>")
    return mark_safe("\n".join(out))  # every text above is escaped
