"""The dashboard's server-drawn charts: bars scale, labels are escaped, empty charts say so."""

from __future__ import annotations

from service.web import charts
from tests.pagetree import parse


def test_bars_scale_to_the_maximum_and_carry_their_figures() -> None:
    svg = parse(
        charts.bars("Automation", [charts.Bar("a", 0.5, "50%"), charts.Bar("b", 1.0, "100%")],
                    maximum=1.0)
    )  # fmt: skip
    root = svg.one("svg")
    assert root.get("role") == "img" and root.one("title").text() == "Automation"
    assert "a: 50%" in root.one("desc").text() and "b: 100%" in root.one("desc").text()
    widths = [float(r.get("width")) for r in root.find_all("rect")]
    assert widths[1] == 2 * widths[0] > 0
    assert [g.one("text").text() for g in root.find_all("g", cls="bar")] == ["a", "b"]


def test_labels_are_escaped() -> None:
    markup = str(charts.bars("<b>", [charts.Bar("<script>x</script>", 1.0, "1 & 2")]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "1 &amp; 2" in markup


def test_columns_stack_the_series_and_name_the_first_and_last_label() -> None:
    svg = parse(
        charts.columns("Volume", ["2026-01-01", "2026-01-02"], [("auto", [3, 1]), ("case", [1, 3])])
    ).one("svg")
    rects = [r for r in svg.find_all("rect") if r.get("class") in {"s0", "s1"} and r.find("title")]
    heights = [float(r.get("height")) for r in rects]
    # both columns total 4, the largest total: each column is the full height
    assert heights[0] + heights[1] == heights[2] + heights[3] == charts.COLUMN_HEIGHT
    texts = [t.text() for t in svg.find_all("text")]
    assert "2026-01-01" in texts and "2026-01-02" in texts and "auto" in texts


def test_an_empty_chart_says_there_is_nothing_yet() -> None:
    assert "nothing yet" in str(charts.bars("x", []))
    assert "nothing yet" in str(charts.columns("x", [], [("a", [])]))
