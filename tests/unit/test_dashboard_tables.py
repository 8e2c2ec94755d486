"""Table cells learn their column's name at render time (core/dashboard/tables.py)."""

from core.dashboard.tables import label_table_cells

PAGE = """<table><thead><tr><th scope="col">Id</th><th scope="col" class="num">Amount <b>₹</b></th>
<th scope="col">Say "hi"</th></tr></thead><tbody>
<tr><td><code>pi_1</code></td><td class="num">₹1.00</td><td data-label="kept">x</td></tr>
<tr><th scope="row">Today</th><td>₹2.00</td><td>y</td></tr>
<tr><td colspan="3">No rows.</td></tr>
</tbody></table><table><tr><td>no head</td></tr></table>"""


def test_each_cell_gets_its_columns_label_and_nothing_else_changes() -> None:
    out = label_table_cells(PAGE)
    assert '<td data-label="Id"><code>pi_1</code></td>' in out
    assert '<td data-label="Amount ₹" class="num">₹1.00</td>' in out
    assert '<td data-label="kept">x</td>' in out  # a label given by hand is kept
    assert '<td data-label="Amount ₹">₹2.00</td><td data-label="Say &quot;hi&quot;">y</td>' in out  # after a row <th>
    assert '<td colspan="3">No rows.</td>' in out  # a message row is left alone
    assert "<table><tr><td>no head</td></tr></table>" in out  # a table without <thead> too
    assert label_table_cells(out) == out  # idempotent
