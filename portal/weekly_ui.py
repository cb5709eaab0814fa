"""The weekly review's download control, shared by the portfolio and pilot pages: a week
picker (default: the last complete ISO week) and a download button that builds the workbook
only when clicked. Streamlit runs the deferred `data` callable on its own thread and shows a
spinner on the button meanwhile (the progress indicator); the service checks role and scope
again when it runs and audits the export."""

from __future__ import annotations

import streamlit as st

from portal import web, weekly
from portal.access import Actor


def download_control(actor: Actor, *, pilot_ids: list[int] | None = None, key: str = "weekly") -> None:
    weeks = weekly.week_choices()
    labels = {w: w for w in weeks} | {weeks[0]: web.t("weekly.week_current", week=weeks[0])}
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    week = left.selectbox(web.t("weekly.week"), weeks, index=1, format_func=labels.get, key=f"{key}_week",
                          help=web.t("weekly.help"))
    right.download_button(
        web.t("weekly.download_pilot" if pilot_ids else "weekly.download"),
        data=weekly.download(actor, week=week, pilot_ids=pilot_ids, lang=web.lang()),
        file_name=weekly.file_name(week, pilot_ids), mime=weekly.MIME, icon=":material/download:",
        on_click="ignore", key=f"{key}_download", help=None if pilot_ids else web.t("weekly.help_scope"))
