import functools

import pandas as pd
import streamlit as st

from portal import clock, pilots, sop, sop_charts, sop_items, sop_views, web

actor = web.page("checklist")


def show_warnings() -> None:
    for w in st.session_state.pop("sop_warnings", []):
        st.warning(web.t(w["key"], **w["params"]))


def saved(result) -> None:  # noqa: ANN001
    """After a write: keep the service's warnings for the next run, then rerun."""
    if result:
        if isinstance(result, dict):
            st.session_state["sop_warnings"] = result.get("warnings", [])
            if result.get("changed") is False and "status" in result:
                st.toast(web.t("sop.msg.no_change"))
        st.rerun()


choices = web.load(pilots.pilot_choices)
if not choices:
    st.info(web.t("sop.no_pilots"))
    st.stop()
pilot_id = st.selectbox(web.t("sop.pilot"), list(choices), format_func=choices.get, key="cl_pilot")
show_warnings()
data = web.load(sop_views.pilot_checklist, pilot_id=pilot_id)
items, groups, overall = data["items"], data["groups"], data["overall"]

if items.empty:
    st.info(web.t("sop.empty"))
    if data["can_edit"] and st.button(web.t("sop.instantiate"), type="primary", icon=":material/playlist_add:",
                                      key="sop_instantiate"):
        saved(web.save(sop.instantiate, success=web.t("sop.msg.instantiated"), pilot_id=pilot_id,
                       template_codes=list(sop.BASE_TEMPLATES)))
    st.stop()

# ---- progress overview
c1, c2, c3, c4 = st.columns(4)
c1.metric(web.t("sop.metric.done"), f"{overall['done']}/{overall['total'] - overall['skipped']}")
c2.metric(web.t("sop.metric.overdue"), overall["overdue"])
c3.metric(web.t("sop.metric.skipped"), overall["skipped"])
c4.metric(web.t("sop.metric.rate"), f"{overall['rate']:.0%}")
st.progress(overall["rate"], text=web.t("sop.overall"))

# ---- timeline: planned vs done over the pilot window
tl = data["timeline"]
st.plotly_chart(web.memo(sop_charts.timeline_figure, tl, data["pilot"]["start_date"], data["pilot"]["end_date"],
                           clock.today(), web.t), width="stretch")

# ---- items by rollout step / template
COLUMNS = ["title", "due_date", "status", "overdue", "owner_role", "assignee", "done_by", "done_at", "evidence_note"]
def group_head(g) -> str:  # noqa: ANN001
    if g.group_kind == "step":
        return web.t("sop.group.step", n=g.group_no, name=g.group_name)
    return g.group_name if g.group_kind == "template" else web.t("sop.group.other")


st.subheader(web.t("sop.by_step"))
grid = st.columns(3)
for n, g in enumerate(groups.itertuples()):
    badge = web.t("sop.group.overdue", n=g.overdue) if g.overdue else ""
    grid[n % 3].progress(g.rate, text=f"{group_head(g)} · {g.done}/{g.total - g.skipped} {badge}")


def group_tables(items: pd.DataFrame) -> dict:
    """Each group's rows in the user's words, Arrow-encoded once per kept read (web.memo):
    overdue groups start open, so these tables are on screen at every click."""
    shown = items.assign(status=items["status"].map(web.fmt("sop.status")),
                         owner_role=items["owner_role"].map(web.fmt("role")),
                         overdue=items["overdue"].map(lambda o: "⚠️" if o else ""))
    return {key: web.arrow(rows[COLUMNS]) for key, rows in shown.groupby("group_key", sort=False)}


kept_tables = functools.cache(lambda: web.memo(group_tables, items))  # looked up once per rerun


def group_table(group_key: str) -> None:
    st.dataframe(kept_tables()[group_key], hide_index=True, width="stretch",
                 column_config={c: web.t(f"sop.col.{c}") for c in COLUMNS}
                 | {"done_at": st.column_config.DatetimeColumn(web.t("sop.col.done_at"), format="MM-DD HH:mm")})


for g in groups.itertuples():
    badge = web.t("sop.group.overdue", n=g.overdue) if g.overdue else ""
    web.lazy_expander(f"{group_head(g)} · {g.done}/{g.total - g.skipped} {badge}",
                      lambda key=g.group_key: group_table(key), key=f"cl_group_{pilot_id}_{g.group_key}",
                      expanded=bool(g.overdue))

# ---- work on one item
actable = data["actable"]
if not actable:
    st.caption(web.t("sop.read_only"))
    st.stop()
st.subheader(web.t("sop.act.title"))
labels = {i: f"{r['due_date']:%m-%d} · {r['title']}" for i, r in actable.items()}
item_id = st.selectbox(web.t("sop.act.item"), list(labels), format_func=labels.get, key=f"cl_item_{pilot_id}")
item = actable[item_id]
st.text(item["detail"])
st.caption(web.t("sop.act.state", status=web.t(f"sop.status.{item['status']}"), due=item["due_date"].isoformat(),
                 owner=web.t(f"role.{item['owner_role']}")))
if item["reason"]:
    st.text(web.t("sop.today.reason", reason=item["reason"]))
if item["evidence_note"]:
    st.text(web.t("sop.act.evidence", note=item["evidence_note"]))
if item["evidence_link"]:
    st.link_button(web.t("sop.act.open_link"), item["evidence_link"], icon=":material/link:")
if item["status"] == "done":
    st.caption(web.t("sop.act.done_by", name=web.plain(item["done_by"]), at=f"{item['done_at']:%Y-%m-%d %H:%M}"))

status, key, moves = item["status"], f"{item_id}_{item['version']}", item["moves"]


def move_form(move: str) -> None:
    with st.form(f"move_{move}_{key}"):
        note = link = reason = ""
        if move == "done":
            note = st.text_area(web.t("sop.evidence.note"), value=item["evidence_note"], max_chars=2000,
                                key=f"sop_note_{key}", help=web.t("sop.evidence.required" if item["evidence_required"]
                                                                  else "sop.evidence.note_help"))
            link = st.text_input(web.t("sop.evidence.link"), value=item["evidence_link"], max_chars=500,
                                 key=f"sop_link_{key}", help=web.t("sop.evidence.link_help"))
        if move in sop.NEEDS_REASON:
            reason = st.text_area(web.t("sop.act.reason"), max_chars=500, key=f"sop_reason_{move}_{key}")
        sure = st.checkbox(web.t("sop.act.confirm"), key=f"sop_sure_{move}_{key}") if move in ("skipped", "todo") else True
        if st.form_submit_button(web.t(f"sop.move.{move}"), type="primary", key=f"sop_move_{move}_{key}"):
            if not sure:
                st.warning(web.t("common.confirm_first"))
            else:
                saved(web.save(sop_items.set_status, success=web.t("sop.msg.saved"), item_id=item_id,
                               status=move, reason=reason, evidence_note=note, evidence_link=link))


def edit_form() -> None:
    if status in ("done", "skipped"):
        st.caption(web.t("sop.act.closed"))
        return
    people = web.load(sop_views.assignee_options, pilot_id=pilot_id)
    options, nobody = [None, *people], web.t("sop.act.nobody")
    current = None if pd.isna(item["assignee_user_id"]) else int(item["assignee_user_id"])
    with st.form(f"edit_{key}"):
        due = st.date_input(web.t("sop.col.due_date"), value=item["due_date"], key=f"sop_edit_due_{key}")
        who = st.selectbox(web.t("sop.col.assignee"), options,
                           index=options.index(current) if current in options else 0,
                           format_func=lambda u: people.get(u, nobody), key=f"sop_edit_who_{key}")
        if st.form_submit_button(web.t("common.save"), type="primary", key=f"sop_edit_submit_{key}"):
            saved(web.save(sop_items.update_item, success=web.t("sop.msg.saved"), item_id=item_id,
                           due_date=due, assignee_user_id=who, version=int(item["version"])))


actions = {web.t(f"sop.move.{m}"): (lambda m=m: move_form(m)) for m in moves}
if data["can_edit"]:
    actions[web.t("sop.act.edit")] = edit_form
if actions:
    web.tab_bodies(f"cl_act_{key}", actions)


def add_item() -> None:
    names = web.load(sop_views.step_names)
    steps = {0: web.t("sop.step_none")} | {n: web.t("sop.group.step", n=n, name=name) for n, name in names.items()}
    with st.form(f"add_item_{pilot_id}", clear_on_submit=True):
        title = st.text_input(web.t("sop.col.title"), max_chars=200, key="sop_add_title")
        detail = st.text_area(web.t("sop.add.detail"), max_chars=2000, key="sop_add_detail")
        a, b, c = st.columns(3)
        due = a.date_input(web.t("sop.col.due_date"), value=clock.today(), key="sop_add_due")
        owner = b.selectbox(web.t("sop.col.owner_role"), list(sop.OWNER_ROLES), format_func=web.fmt("role"),
                            key="sop_add_owner")
        step = c.selectbox(web.t("sop.add.step"), list(steps), format_func=steps.get, key="sop_add_step")
        evidence = st.checkbox(web.t("sop.col.evidence_required"), key="sop_add_evidence")
        if st.form_submit_button(web.t("sop.add.submit"), type="primary", key="sop_add_submit"):
            saved(web.save(sop_items.add_item, success=web.t("sop.msg.added"), pilot_id=pilot_id, title=title,
                           detail=detail, due_date=due, owner_role=owner, step=step, evidence_required=evidence))


def refresh_dates() -> None:
    st.caption(web.t("sop.refresh.help"))
    if st.button(web.t("sop.refresh.submit"), key="sop_refresh"):
        saved(web.save(sop.refresh, success=web.t("sop.msg.refreshed"), pilot_id=pilot_id))


if data["can_edit"]:  # drawn only while open
    web.lazy_expander(web.t("sop.add.title"), add_item, key="cl_add_box", icon=":material/add:")
    web.lazy_expander(web.t("sop.refresh.title"), refresh_dates, key="cl_refresh_box", icon=":material/event_repeat:")
