"""Plotly figures for head office's views (pure: data in, figure out)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

LIGHTS = {"green": "🟢", "amber": "🟡", "red": "🔴", "grey": "⚪"}


def funnel_figure(df: pd.DataFrame, t: Callable[[str], str]) -> go.Figure:
    fig = go.Figure(go.Funnel(y=[t(f"phase.{p}") for p in df["phase"]], x=df["pilots"]))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=300)
    return fig


def heatmap_figure(grid: pd.DataFrame, stage_names: list[str]) -> go.Figure:
    """portfolio.heatmap's grid: branch rows marked 1 at their stage, or region rows whose cells
    count branches (written in the cell)."""
    counts = grid.index.name == "region"
    fig = go.Figure(go.Heatmap(z=grid.values, x=stage_names, y=list(grid.index), colorscale=[[0, "#F5F6F8"],
                                                                                            [1, "#B8232F"]],
                               showscale=False, xgap=2, ygap=2, texttemplate="%{z}" if counts else None))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=max(220, 28 * len(grid) + 60))
    return fig


def trend_figure(df: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Long [period, code, value] series as lines, one per code."""
    shown = df.assign(name=df["code"].map(lambda c: labels.get(c, c)))
    fig = px.line(shown, x="period", y="value", color="name", markers=True)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=320, legend_title_text="")
    return fig


def radar_figure(history: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for day, part in history.groupby("assessed_on"):
        fig.add_trace(go.Scatterpolar(r=list(part["score"]) + [part["score"].iloc[0]],
                                      theta=list(part["name"]) + [part["name"].iloc[0]], fill="toself",
                                      name=str(day)))
    fig.update_layout(polar={"radialaxis": {"range": [0, 5]}}, margin={"l": 30, "r": 30, "t": 30, "b": 30},
                      height=420)
    return fig


def timeline_figure(history: pd.DataFrame, stage_names: dict[int, str], t: Callable[[str], str]) -> go.Figure:
    shown = history.assign(stage_name=history["stage"].map(stage_names))
    labels = {c: t(f"programme.col.{c}") for c in ("assessed_on", "stage", "note")}
    labels["stage_name"] = labels["stage"]
    fig = px.line(shown, x="assessed_on", y="stage", markers=True, line_shape="hv", hover_data=["stage_name", "note"],
                  labels=labels)
    fig.update_yaxes(range=[0.5, 4.5], tickvals=list(stage_names), ticktext=list(stage_names.values()))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)
    return fig
