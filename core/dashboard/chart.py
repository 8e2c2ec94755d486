"""A bar chart as inline SVG, drawn on the server: no JavaScript, readable by screen readers."""

from __future__ import annotations

from html import escape


def bar_chart(points: list[tuple[str, int]], *, title: str, accent: str, width: int = 640, height: int = 200) -> str:
    """`points` are (label, value) in order. The SVG keeps its aspect ratio (text is never
    stretched) and takes the page's text colour, so it reads in light and dark mode."""
    pad_left, pad_right, pad_bottom, pad_top = 16, 16, 22, 10
    plot_h = height - pad_bottom - pad_top
    base = height - pad_bottom
    top = max((v for _, v in points), default=0) or 1
    slot = (width - pad_left - pad_right) / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_left}" y1="{base}" x2="{width - pad_right}" y2="{base}" '
        'stroke="currentColor" stroke-opacity=".35"/>',
    ]
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = pad_left + i * slot + (slot - bar_w) / 2
        y = height - pad_bottom - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{escape(accent)}">'
            f"<title>{escape(label)}: {value / 100:,.2f}</title></rect>"
        )
        if i % 5 == 0 or i == len(points) - 1:  # every fifth day labelled, so labels never overlap
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" font-size="10" text-anchor="middle" '
                f'fill="currentColor">{escape(label[5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
