"""Every table's cells learn their column's name (`data-label`) when the page is rendered, so on a
phone the stylesheet can show each row as a card of "label: value" lines instead of cutting off
columns (base.html, `@media (max-width: 600px)`).

Done once here rather than by hand in every template: the templates are ours and regular (a
`<thead>` of `<th>` cells, then `<tbody>` rows of `<td>` cells, no nested tables), which is what
these patterns rely on. A cell that already has a `data-label`, and a row with a `colspan` cell
(an empty-list message), are left alone.
"""

from __future__ import annotations

import re
from html import escape

_TABLE = re.compile(r"(<table\b[^>]*>)(.*?)(</table>)", re.S)
_TH = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
_TAGS = re.compile(r"<[^>]+>")
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S)
_TD = re.compile(r"<td\b(?![^>]*data-label)")


def _label_rows(body: str, labels: list[str]) -> str:
    def row(match: re.Match[str]) -> str:
        text = match.group(0)
        if "colspan" in text or "<th" in text:  # a message row, or a row headed by a <th scope="row">
            return text if "colspan" in text else _cells(text, labels[1:])
        return _cells(text, labels)

    return _ROW.sub(row, body)


def _cells(row: str, labels: list[str]) -> str:
    index = iter(range(len(labels)))

    def cell(_: re.Match[str]) -> str:
        i = next(index, None)
        return f'<td data-label="{labels[i]}"' if i is not None else "<td"

    return _TD.sub(cell, row)


def label_table_cells(html: str) -> str:
    def table(match: re.Match[str]) -> str:
        opening, inner, closing = match.groups()
        head, sep, body = inner.partition("</thead>")
        if not sep:
            return match.group(0)
        labels = [escape(_TAGS.sub("", th).strip(), quote=True) for th in _TH.findall(head)]
        return opening + head + sep + _label_rows(body, labels) + closing

    return _TABLE.sub(table, html)
