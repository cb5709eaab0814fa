import pandas as pd
import streamlit as st

from portal import clock, metrics, pilots, qa, report_charts, report_import, reports, web
from portal.report_validation import TEXT_FIELDS

actor = web.page("daily_report")
writer = actor.role in reports.WRITE_ROLES
flash = st.session_state.pop("rp_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

missing = web.load(metrics.missing_reports)


def missing_table() -> None:
    if missing.empty:
        st.caption(web.t("reports.missing_none"))
    else:
        st.caption(web.t("reports.missing_count", count=len(missing)))
        st.dataframe(missing.drop(columns=["pilot_id"]), hide_index=True, width="stretch",
                     column_config={c: web.t(f"reports.col.{c}") for c in ("pilot", "branch", "report_date")})


web.lazy_expander(web.t("reports.missing") + (f" · {len(missing)}" if len(missing) else ""), missing_table,
                  key="rp_missing", icon=":material/notification_important:")

choices = web.load(pilots.pilot_choices)
if not choices:
    st.info(web.t("reports.no_pilots"))
    st.stop()
c1, c2 = st.columns([3, 1])
pilot_id = int(c1.selectbox(web.t("reports.pilot"), list(choices), format_func=choices.get, key="rp_pilot"))
day = c2.date_input(web.t("reports.date"), value=clock.today(), max_value=clock.today(), key="rp_date")
rep = web.load(reports.load_report, pilot_id=pilot_id, report_date=day)
# The version this user started from: it keys the inputs (edits survive reruns) and is the
# expected version when saving; it moves on only after a save, a conflict or a date change.
bases = st.session_state.setdefault("rp_base", {})
base = bases.setdefault((pilot_id, day), rep["version"])
suffix = f"{pilot_id}_{day.isoformat()}_{base}"
editable = rep["editable"]
if rep["exists"]:
    st.caption(web.t("reports.status_saved", version=rep["version"], user=web.plain(rep["updated_by"]), at=rep["updated_at"]))
else:
    st.caption(web.t("reports.status_new"))
if rep["lock"]:
    st.info(web.t(rep["lock"][0], **rep["lock"][1]))
elif rep["version"] != base:
    st.warning(web.t("reports.changed_meanwhile", user=web.plain(rep["updated_by"]), version=rep["version"]))
unsaved = st.session_state.get("rp_unsaved")
if unsaved and unsaved[0] == (pilot_id, day):
    with st.expander(web.t("reports.unsaved"), icon=":material/history:"):
        st.dataframe(unsaved[1], hide_index=True)

# ---------------------------------------------------------------- the grid
st.subheader(web.t("reports.grid"))
st.caption(web.t("reports.grid_help"))
codes = [c["code"] for c in rep["columns"]]
config = {"employee_no": st.column_config.TextColumn(web.t("reports.col.employee_no"), disabled=True),
          "name": st.column_config.TextColumn(web.t("reports.col.name"), disabled=True)}
for c in rep["columns"]:
    money = c["kind"] == "money"
    config[c["code"]] = st.column_config.NumberColumn(c["header"], min_value=c["min"], max_value=c["max"],
                                                      step=0.01 if money else 1, format="%.2f" if money else "%d")


def grid_table(grid: pd.DataFrame) -> pd.DataFrame:
    return grid


def branch_table(items: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"metric": [i["header"] for i in items], "value": [i["value"] for i in items]},
                        columns=["metric", "value"])


if editable:
    grid = st.data_editor(rep["grid"], key=f"grid_{suffix}", hide_index=True, column_config=config,
                          column_order=["employee_no", "name", *codes], num_rows="fixed", width="stretch",
                          placeholder="", height=min(len(rep["grid"]), 20) * 35 + 38)
    st.subheader(web.t("reports.branch"))
    branch_values = {}
    for col, b in zip(st.columns(len(rep["branch"]) or 1), rep["branch"], strict=False):
        branch_values[b["code"]] = col.number_input(b["header"], min_value=b["min"], max_value=b["max"],
                                                    value=b["value"], step=1, key=f"b_{b['code']}_{suffix}")
    st.markdown(f"**{web.t('reports.channels')}**")
    st.caption(web.t("reports.channels_help"))
    channel_cols = st.columns(3)
    channel_values = {ch["code"]: channel_cols[i % 3].number_input(
        ch["header"], min_value=0, max_value=ch["max"], value=ch["value"], step=1, key=f"ch_{ch['code']}_{suffix}")
        for i, ch in enumerate(rep["channels"])}
    st.subheader(web.t("reports.texts"))
    texts = {k: st.text_area(web.t(f"reports.{k}"), value=rep["texts"][k], max_chars=2000, key=f"t_{k}_{suffix}")
             for k in TEXT_FIELDS}
else:
    # Read-only: the saved report as tables and text, not a form of disabled inputs (a dozen
    # widgets redrawn at every click for someone who cannot change them).
    grid = rep["grid"]
    web.table(grid_table, grid, hide_index=True, column_config=config,
              column_order=["employee_no", "name", *codes], width="stretch", placeholder="–")
    branch_values = {b["code"]: b["value"] for b in rep["branch"]}
    channel_values = {ch["code"]: ch["value"] for ch in rep["channels"]}
    texts = dict(rep["texts"])
    side = {"metric": web.t("reports.col_metric"), "value": st.column_config.NumberColumn(
        web.t("reports.col_value"), format="localized")}
    left, right = st.columns(2)
    with left:
        st.subheader(web.t("reports.branch"))
        web.table(branch_table, rep["branch"], hide_index=True, width="stretch", column_config=side, placeholder="–")
    with right:
        st.subheader(web.t("reports.channels"))
        web.table(branch_table, rep["channels"], hide_index=True, width="stretch", column_config=side,
                  placeholder="–")
    st.subheader(web.t("reports.texts"))
    for k in TEXT_FIELDS:
        st.markdown(f"**{web.t(f'reports.{k}')}**")
        st.text(texts[k] or "–")

# ---------------------------------------------------------------- live totals and saving
staff_values = reports.values_from_grid(grid, codes)
live = web.load(reports.check_report, pilot_id=pilot_id, report_date=day, staff_values=staff_values,
                branch_values=branch_values, channel_values=channel_values)
orient = web.load(reports.orientation, pilot_id=pilot_id, report_date=day)
names = web.load(metrics.labels)
st.subheader(web.t("reports.live"))
head = st.columns(4)
for col, code in zip(head, ("wecom_adds", "valid_adds", "pass_rate", "valid_add_rate"), strict=True):
    value = live["totals"].get(code, live["rates"].get(code))
    shown = "–" if value is None else (f"{value:.0%}" if code in live["rates"] else f"{value:,.0f}")
    col.metric(names.get(code, code), shown)


def live_table() -> None:
    """Today's totals and rates beside yesterday's, built only while the section is open."""
    keys = [*codes, *(b["code"] for b in rep["branch"]), *live["rates"]]
    table = pd.DataFrame({
        "metric": [names.get(k, k) for k in keys],
        "today": [live["totals"].get(k, live["rates"].get(k)) for k in keys],
        "yesterday": [orient["yesterday"].get(k) for k in keys],
    })
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "metric": web.t("reports.col_metric"),
        "today": st.column_config.NumberColumn(web.t("reports.col_today"), format="localized"),
        "yesterday": st.column_config.NumberColumn(web.t("reports.col_yesterday", date=orient["date"].isoformat()),
                                                   format="localized")})


web.lazy_expander(web.t("reports.live"), live_table, key="rp_live", icon=":material/functions:")
if live["problems"]:
    st.warning(web.t("reports.live_problems"))
    st.dataframe(pd.DataFrame(live["problems"]), hide_index=True, width="stretch",
                 column_config={"row": web.t("reports.col.name"), "message": web.t("reports.col.message")})

if editable and st.button(web.t("reports.save"), type="primary", key=f"save_{suffix}", icon=":material/save:"):
    result = web.save(reports.save_report, pilot_id=pilot_id, report_date=day, expected_version=base,
                      staff_values=staff_values, branch_values=branch_values, channel_values=channel_values,
                      **texts)
    if result:
        bases[(pilot_id, day)] = result["version"]
        st.session_state.pop("rp_unsaved", None)
        st.session_state["rp_flash"] = ("success", web.t("reports.saved", version=result["version"])
                                        if result["changed"] else web.t("reports.unchanged"))
        st.rerun()
    fresh = web.load(reports.load_report, pilot_id=pilot_id, report_date=day)
    if fresh["version"] != base:  # someone saved first: show their numbers, keep ours aside
        bases[(pilot_id, day)] = fresh["version"]
        st.session_state["rp_unsaved"] = ((pilot_id, day), grid[["employee_no", "name", *codes]])
        st.session_state["rp_flash"] = ("warning", web.t("reports.err_conflict", user=fresh["updated_by"],
                                                         at=fresh["updated_at"], version=fresh["version"]))
        st.rerun()

# ---------------------------------------------------------------- orientation


def trend_chart(trend: pd.DataFrame, chosen: tuple[str, ...], names: dict):  # noqa: ANN201
    return report_charts.trend_figure(trend[["period", *chosen]].rename(columns=names))


def orientation() -> None:
    """The last seven days' trend, drawn only while the section is open."""
    trend = orient["trend"]
    if trend.empty:
        st.caption(web.t("reports.no_history"))
        return
    options = [c for c in trend.columns if c != "period"]
    chosen = st.multiselect(web.t("reports.trend_metrics"), options, format_func=lambda c: names.get(c, c),
                            default=[c for c in ("wecom_adds", "valid_adds", "touches_1v1") if c in options],
                            key="rp_trend", placeholder=web.t("common.choose"))
    if chosen:
        st.plotly_chart(web.memo(trend_chart, trend, tuple(chosen), names), width="stretch")


web.lazy_expander(web.t("reports.orientation"), orientation, key="rp_orientation", icon=":material/show_chart:")

# ---------------------------------------------------------------- blockers → Q&A


def blocker_to_qa() -> None:
    st.caption(web.t("reports.qa_help"))
    if not rep["texts"]["blockers"]:
        st.caption(web.t("reports.qa_no_blocker"))
    else:
        st.text(rep["texts"]["blockers"])
        category = st.selectbox(web.t("reports.qa_category"), qa.CATEGORIES, format_func=web.fmt("qa.cat"),
                                key=f"qa_cat_{suffix}")
        if st.button(web.t("reports.qa_button"), key=f"qa_{suffix}"):
            web.save(reports.blocker_draft, pilot_id=pilot_id, report_date=day, category=category,
                     success=web.t("reports.qa_created"))


if writer:
    web.lazy_expander(web.t("reports.qa_title"), blocker_to_qa, key="rp_qa", icon=":material/quiz:")

# ---------------------------------------------------------------- Excel round-trip


def excel_round_trip() -> None:
    first, last, start = rep["template_range"]
    picked = st.date_input(web.t("reports.excel_range"), value=(first, last), min_value=start, max_value=last,
                           key=f"xr_{pilot_id}")
    if isinstance(picked, tuple) and len(picked) == 2:
        st.download_button(
            web.t("reports.download"), icon=":material/download:", on_click="ignore", key=f"dl_{pilot_id}",
            data=report_import.template_download(actor, pilot_id=pilot_id, start=picked[0], end=picked[1]),
            file_name=f"daily_report_{pilot_id}_{picked[0]:%Y%m%d}_{picked[1]:%Y%m%d}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if writer:
        upload = st.file_uploader(web.t("reports.upload"), type=["xlsx"], key=f"up_{pilot_id}")
        if upload is not None:
            data = upload.getvalue()
            preview = web.save(report_import.import_reports, pilot_id=pilot_id, data=data,
                               filename=upload.name, dry_run=True)
            if preview and len(preview["errors"]):
                st.error(web.t("reports.preview_errors", count=len(preview["errors"])))
                st.dataframe(preview["errors"], hide_index=True, width="stretch",
                             column_config={c: web.t(f"reports.col.{c}") for c in ("sheet", "row", "message")})
            elif preview:
                st.success(web.t("reports.preview_ok", rows=preview["rows"], dates=len(preview["dates"])))
                if st.button(web.t("reports.import_button"), type="primary", key=f"imp_{pilot_id}"):
                    done = web.save(report_import.import_reports, pilot_id=pilot_id, data=data,
                                    filename=upload.name)
                    if done and done["committed"]:
                        st.session_state["rp_flash"] = ("success", web.t(
                            "reports.imported", dates=len(done["dates"]), changed=done["changed"]))
                        st.rerun()


if rep["template_range"]:
    web.lazy_expander(web.t("reports.excel"), excel_round_trip, key="rp_excel", icon=":material/table_view:")
