"""The checklist page's planned-vs-done chart: a pure function from the timeline frame and
translated labels to a figure (no database, no Streamlit)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import plotly.graph_objects as go


def timeline_figure(tl: pd.DataFrame, start: date, end: date, today: date, t: Callable[[str], str]) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=tl["date"], y=tl["planned"], name=t("sop.chart.planned"), line_shape="hv"))
    fig.add_trace(go.Scatter(x=tl["date"], y=tl["done"], name=t("sop.chart.done"), line_shape="hv", fill="tozeroy"))
    for day, label in ((start, "sop.chart.start"), (end, "sop.chart.end"), (today, "sop.chart.today")):
        fig.add_shape(type="line", x0=day.isoformat(), x1=day.isoformat(), y0=0, y1=1, yref="paper",
                      line={"dash": "dot", "width": 1, "color": "gray"})
        fig.add_annotation(x=day.isoformat(), y=1, yref="paper", text=t(label), showarrow=False, yanchor="bottom")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=t("sop.chart.title"),
                      yaxis_title=t("sop.chart.items"), legend={"orientation": "h"})
    return fig
