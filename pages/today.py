import streamlit as st

from portal import metrics, sop_items, sop_views, web

actor = web.page("today")
CARDS_SHOWN = 10  # per bucket; a regional coach can have hundreds of open items


def close_dialog() -> None:
    st.session_state.pop("today_evidence", None)


@st.dialog(web.t("sop.evidence.title"), on_dismiss=close_dialog)
def evidence_dialog(item_id: int, title: str) -> None:
    st.text(title)
    with st.form(f"evidence_{item_id}"):
        note = st.text_area(web.t("sop.evidence.note"), max_chars=2000, help=web.t("sop.evidence.required"),
                            key=f"today_note_{item_id}")
        link = st.text_input(web.t("sop.evidence.link"), max_chars=500, help=web.t("sop.evidence.link_help"),
                             key=f"today_link_{item_id}")
        if st.form_submit_button(web.t("sop.action.complete"), type="primary", key=f"today_submit_{item_id}"):
            result = web.save(sop_items.complete, item_id=item_id, evidence_note=note, evidence_link=link)
            if result:
                close_dialog()
                st.session_state["today_done"] = result
                st.rerun()


def complete(item_id: int) -> None:
    result = web.save(sop_items.complete, item_id=item_id)
    if result:
        st.session_state["today_done"] = result


mine = st.toggle(web.t("sop.today.mine_only"), key="today_mine", help=web.t("sop.today.mine_help"))
done = st.session_state.pop("today_done", None)
if done:
    st.toast(web.t("sop.msg.completed" if done["changed"] else "sop.msg.already_done"), icon="✅")

missing = web.load(metrics.missing_reports)


def missing_table() -> None:
    st.dataframe(missing[["pilot", "branch", "report_date"]], hide_index=True, width="stretch",
                 column_config={"pilot": web.t("reports.col.pilot"), "branch": web.t("reports.col.branch"),
                                "report_date": web.t("reports.col.report_date")})


if not missing.empty:  # a regional coach's list runs to hundreds of rows: drawn when opened
    web.lazy_expander(f"⚠️ {web.t('reports.missing')} · {web.t('reports.missing_count', count=len(missing))}",
                      missing_table, key="today_missing")

data = web.load(sop_views.agenda, mine_only=mine)
counts = data["counts"]
c1, c2, c3 = st.columns(3)
for column, bucket in zip((c1, c2, c3), sop_views.BUCKETS, strict=True):
    column.metric(web.t(f"sop.bucket.{bucket}"), counts[bucket])
st.progress(data["rate"], text=web.t("sop.today.progress", done=data["done"], due=data["due"]))

if not any(data["cards"].values()):
    st.success(web.t("sop.today.all_clear"))
for bucket, rows in data["cards"].items():
    if not rows:
        continue
    st.subheader(web.t(f"sop.bucket.{bucket}"))
    if len(rows) > CARDS_SHOWN and not st.toggle(web.t("sop.today.show_all", n=len(rows), shown=CARDS_SHOWN),
                                                 key=f"today_all_{bucket}"):
        rows = rows[:CARDS_SHOWN]  # noqa: PLW2901 - the first ones (most overdue / earliest due)
    for row in rows:
        # A card is four elements (box, title, one caption line, button): a regional coach sees
        # 30 cards, and every element is redrawn at every click.
        with st.container(border=True):
            st.text(f"{row['title']}  ·  {row['pilot']}")
            meta = [web.t("sop.today.meta", due=row["due_date"].isoformat(), owner=web.t(f"role.{row['owner_role']}"),
                          status=web.t(f"sop.status.{row['status']}"))]
            if row["days_late"]:
                meta.append(web.t("sop.today.late", days=row["days_late"]))
            if row["evidence_required"]:
                meta.append(web.t("sop.col.evidence_required"))
            if row["assignee"]:
                meta.append(web.plain(web.t("sop.today.assignee", name=row["assignee"])))
            if row["reason"]:
                meta.append(web.plain(web.t("sop.today.reason", reason=row["reason"])))
            st.caption(" · ".join(meta))
            if not row["can_complete"]:
                continue
            if row["evidence_required"] and not row["evidence_note"]:
                if st.button(web.t("sop.action.complete"), key=f"done_{row['id']}", icon=":material/task_alt:"):
                    st.session_state["today_evidence"] = int(row["id"])
            else:
                st.button(web.t("sop.action.complete"), key=f"done_{row['id']}", icon=":material/task_alt:",
                          type="primary", on_click=complete, args=(int(row["id"]),))

# The evidence dialog stays open (across reruns) until it is submitted or dismissed.
wanted = st.session_state.get("today_evidence")
opened = next((r for rows in data["cards"].values() for r in rows if r["id"] == wanted), None) if wanted else None
if opened:
    evidence_dialog(int(opened["id"]), opened["title"])
elif "today_evidence" in st.session_state:
    close_dialog()
