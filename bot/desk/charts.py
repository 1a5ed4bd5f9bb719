"""The month's charts as SVG drawn on the server with pygal (no chart JavaScript): check-ins
per day, attendance per activity, acknowledgement rate per notice, points per building."""

from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

from handlers.desk_pages import Month
from handlers.i18n import Translator

STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1a1a1a",
              foreground_strong="#1a1a1a", foreground_subtle="#555555",
              colors=("#9b1c1c", "#1f5f99", "#2e7d32", "#6a1b9a"),
              font_family="sans-serif", label_font_size=12, major_label_font_size=12,
              value_font_size=14, title_font_size=18, legend_font_size=14,
              no_data_font_size=20)
# Drawn at about a phone's width, so that its words stay readable there.
SIZE = {"width": 400, "height": 300}


def _chart(kind: type[pygal.graph.graph.Graph], title: str,
           t: Translator) -> pygal.graph.graph.Graph:
    return kind(style=STYLE, title=title, disable_xml_declaration=True, js=(),
                show_legend=False, margin=8, x_label_rotation=0, print_values=False,
                no_data_text=t("desk.chart.no_data"), **SIZE)


def draw(t: Translator, month: Month) -> dict[str, Markup]:
    """Each chart as inline SVG markup, titled in the reader's language."""
    return {"checkins": _checkins(t, month), "attendance": _attendance(t, month),
            "acks": _acks(t, month), "points": _points(t, month)}


def _checkins(t: Translator, month: Month) -> Markup:
    chart = _chart(pygal.Bar, t("desk.chart.checkins"), t)
    chart.x_labels = [day if int(day) % 7 == 1 else "" for day, _ in month.checkins_per_day]
    chart.add(t("desk.chart.checkins_series"), [n for _, n in month.checkins_per_day])
    return _svg(chart)


def _attendance(t: Translator, month: Month) -> Markup:
    chart = _chart(pygal.HorizontalBar, t("desk.chart.attendance"), t)
    chart.show_legend = True
    chart.legend_at_bottom = True
    chart.x_labels = [title for title, _, _ in month.attendance]
    chart.add(t("desk.chart.signed_up"), [signed for _, signed, _ in month.attendance])
    chart.add(t("desk.chart.came"), [came for _, _, came in month.attendance])
    return _svg(chart)


def _acks(t: Translator, month: Month) -> Markup:
    return acks(t, month.ack_rates)


def acks(t: Translator, rates: list[tuple[str, float]]) -> Markup:
    """Acknowledgement rate (%) per notice, one bar each, labelled with the notice's start."""
    chart = _chart(pygal.HorizontalBar, t("desk.chart.acks"), t)
    chart.range = (0, 100)
    chart.x_labels = [text for text, _ in rates]
    chart.add(t("desk.chart.ack_series"), [round(rate * 100) for _, rate in rates])
    return _svg(chart)


def _points(t: Translator, month: Month) -> Markup:
    chart = _chart(pygal.Bar, t("desk.chart.points"), t)
    chart.x_labels = [building for building, _ in month.points_per_building]
    chart.add(t("desk.chart.points_series"), [n for _, n in month.points_per_building])
    return _svg(chart)


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    # pygal escapes the titles and labels it is given; the markup is ours to embed as it is.
    return Markup(chart.render(is_unicode=True))  # noqa: S704
