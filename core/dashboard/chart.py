"""A bar chart as inline SVG, drawn on the server: no JavaScript, readable by screen readers."""

from __future__ import annotations

from collections.abc import Callable
from html import escape


def bar_chart(
    points: list[tuple[str, int]],
    *,
    title: str,
    accent: str,
    axis_label: Callable[[int], str] = str,
    width: int = 640,
    height: int = 220,
) -> str:
    """`points` are (ISO day, value) in order. The SVG keeps its aspect ratio (text is never
    stretched) and takes the page's text colour, so it reads in light and dark mode. The value
    axis shows 0, half and the top with `axis_label`; every fifth day is labelled."""
    pad_left, pad_right, pad_bottom, pad_top = 92, 12, 24, 12
    plot_h = height - pad_bottom - pad_top
    base = height - pad_bottom
    top = max((v for _, v in points), default=0) or 1
    slot = (width - pad_left - pad_right) / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for share in (0, 0.5, 1):  # value gridlines with their labels
        y = base - plot_h * share
        parts.append(
            f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width - pad_right}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="{0.35 if share == 0 else 0.12}"/>'
            f'<text x="{pad_left - 6}" y="{y + 3.5:.1f}" font-size="11" text-anchor="end" fill="currentColor">'
            f"{escape(axis_label(round(top * share)) if points else '0')}</text>"
        )
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = pad_left + i * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{escape(accent)}">'
            f"<title>{escape(label)}: {escape(axis_label(value))}</title></rect>"
        )
        if i % 5 == 0 or i == len(points) - 1:  # every fifth day labelled, so labels never overlap
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 7}" font-size="11" text-anchor="middle" '
                f'fill="currentColor">{escape(label[5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
