"""The daily report page's 7-day trend chart: a pure function from the trend frame (columns
already named for display) to a figure (no database, no Streamlit)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def trend_figure(shown: pd.DataFrame) -> go.Figure:
    fig = px.line(shown, x="period", y=[c for c in shown.columns if c != "period"], markers=True)
    fig.update_layout(xaxis_title=None, yaxis_title=None, legend_title=None, height=320)
    return fig
