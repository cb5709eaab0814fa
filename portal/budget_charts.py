"""Plotly figures for the budget page: pure functions from the views' frames and translated
labels to figures (no database, no Streamlit)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

MONEY = "¥%{y:,.2f}"


def burn_figure(df: pd.DataFrame, t: Callable[[str], str]) -> go.Figure:
    """Cumulative committed + paid by day, the projection to the end date, the cap and, when
    overrides raise it, the limit."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["date"], y=df["actual_yuan"], name=t("budget.chart.actual"), mode="lines+markers",
                             line={"shape": "hv", "width": 3}, hovertemplate=MONEY))
    if df["projected_yuan"].notna().any():
        fig.add_trace(go.Scatter(x=df["date"], y=df["projected_yuan"], name=t("budget.chart.projected"),
                                 mode="lines", line={"dash": "dash"}, hovertemplate=MONEY))
    fig.add_trace(go.Scatter(x=df["date"], y=df["cap_yuan"], name=t("budget.chart.cap"), mode="lines",
                             line={"color": "#d62728"}, hovertemplate=MONEY))
    if (df["limit_yuan"] != df["cap_yuan"]).any():
        fig.add_trace(go.Scatter(x=df["date"], y=df["limit_yuan"], name=t("budget.chart.limit"), mode="lines",
                                 line={"color": "#ff7f0e", "dash": "dot"}, hovertemplate=MONEY))
    fig.update_layout(xaxis_title=t("budget.chart.date"), yaxis_title=t("budget.chart.yuan"),
                      yaxis={"rangemode": "tozero", "tickformat": ",.0f"}, legend={"orientation": "h"},
                      margin={"t": 30, "b": 10})
    return fig


def plan_figure(by_cat: pd.DataFrame, t: Callable[[str], str]) -> go.Figure:
    """Per category: plan, actual (committed + paid) and plan still left, side by side."""
    names = [t(f"budget.cat.{c}") for c in by_cat["category"]]
    fig = go.Figure()
    for column, key, colour in (("plan_yuan", "budget.chart.plan", "#aec7e8"),
                                ("actual_yuan", "budget.chart.actual", "#1f77b4"),
                                ("plan_left_yuan", "budget.chart.plan_left", "#c7c7c7")):
        fig.add_trace(go.Bar(x=names, y=by_cat[column], name=t(key), marker={"color": colour}, hovertemplate=MONEY))
    fig.update_layout(barmode="group", yaxis={"tickformat": ",.0f"}, yaxis_title=t("budget.chart.yuan"),
                      legend={"orientation": "h"}, margin={"t": 30, "b": 10})
    return fig


def envelope_figure(overview: dict, t: Callable[[str], str]) -> go.Figure:
    """The whole envelope in one bar: used, still planned, and what is left of the limit."""
    used = overview["used_fen"] / 100
    planned = overview["planned_fen"] / 100
    left = overview["unplanned_fen"] / 100
    fig = go.Figure()
    for value, key, colour in ((used, "budget.chart.actual", "#1f77b4"), (planned, "budget.chart.planned", "#aec7e8"),
                               (left, "budget.chart.remaining", "#e5e5e5")):
        fig.add_trace(go.Bar(y=[""], x=[value], name=t(key), orientation="h", marker={"color": colour},
                             text=[f"¥{value:,.0f}"] if value else None, textposition="inside",
                             hovertemplate="¥%{x:,.2f}"))
    fig.add_vline(x=overview["limit_fen"] / 100, line_color="#d62728")
    fig.update_layout(barmode="stack", height=170, xaxis={"tickformat": ",.0f"},
                      legend={"orientation": "h", "traceorder": "normal"}, margin={"t": 10, "b": 10})
    return fig
