import streamlit as st

from exports import qa as qa_export
from portal import db, pilots, qa, web

actor = web.page("qa")
editor = actor.role in qa.EDITORS
PAGE_SIZE = 15  # entries per page: a phone screen's worth, and a quick rerun
lang = web.lang()
# Labels fixed now: Streamlit may call format functions outside the script run.
ALL = web.t("qa.all")
CATEGORY = {c: web.t(f"qa.cat.{c}") for c in qa.CATEGORIES}
STATUS = {s: web.t(f"qa.st.{s}") for s in qa.STATUSES}


def manual_bytes(kind: str):
    """Built only when the button is clicked (in another thread: no Streamlit calls)."""
    def data() -> bytes:
        rows = db.run(qa.manual, write=False, actor=actor)
        return qa_export.to_xlsx(rows, lang=lang) if kind == "xlsx" else qa_export.to_markdown(rows, lang=lang)
    return data


c1, c2 = st.columns(2)
c1.download_button(web.t("qa.download_xlsx"), data=manual_bytes("xlsx"), file_name="qa_manual.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   icon=":material/download:", key="qa_dl_xlsx", on_click="ignore")
c2.download_button(web.t("qa.download_md"), data=manual_bytes("md"), file_name="qa_manual.md", mime="text/markdown",
                   icon=":material/description:", key="qa_dl_md", on_click="ignore")

scenarios = web.load(qa.scenario_options)
f1, f2, f3, *f4 = st.columns([3, 2, 2, 1] if editor else [3, 2, 2])
query = f1.text_input(web.t("qa.search"), max_chars=100, key="qa_query", placeholder=web.t("qa.search_placeholder"))
category = f2.selectbox(web.t("qa.category"), ["", *CATEGORY], key="qa_cat", format_func={"": ALL, **CATEGORY}.get)
scenario = f3.selectbox(web.t("qa.scenario"), ["", *scenarios], key="qa_scen",
                        format_func={"": ALL, **scenarios}.get)
status = f4[0].selectbox(web.t("qa.status"), ["", *STATUS], key="qa_status",
                         format_func={"": ALL, **STATUS}.get) if editor else None
df = web.load(qa.search, text=query, category=category or None, scenario=scenario or None, status=status or None)
pages = max(1, -(-len(df) // PAGE_SIZE))
page_key = f"qa_page_{query}|{category}|{scenario}|{status}"  # other filters: back to page 1
page_no = min(st.session_state.get(page_key, 1), pages)
first = (page_no - 1) * PAGE_SIZE
st.caption(web.t("qa.count", n=len(df), shown=f"{first + 1}–{min(len(df), first + PAGE_SIZE)}" if len(df) else 0))

shown = df.iloc[first:first + PAGE_SIZE]
columns = {c: shown[c].tolist() for c in shown}  # plain values: to_dict("records") walks Arrow strings slowly
for i in range(len(shown)):
    row = {c: values[i] for c, values in columns.items()}
    # An entry is three elements (box, caption, one text block): 15 entries are redrawn at every click.
    with st.container(border=True):
        meta = CATEGORY.get(row["category"], "")
        if editor:
            meta += f" · {STATUS.get(row['status'], '')} · #{row['id']}"
        st.caption(meta)
        extra = [web.t("qa.tags_line", tags=row["tags"]) if row["tags"] else "",
                 web.t("qa.source_line", pilot=row["source_pilot"], date=row["source_date"] or "")
                 if row["source_pilot"] else ""]
        lines = [web.t("qa.q_prefix") + row["question"], web.t("qa.a_prefix") + (row["answer"] or web.t("qa.no_answer"))]
        st.text("\n".join([*lines, " · ".join(e for e in extra if e)] if any(extra) else lines))

if pages > 1:
    st.pagination(pages, default=page_no, key=page_key)


def entry_form(key: str, current: dict | None) -> dict | None:
    cur = current or {}
    choices = web.load(pilots.pilot_choices)
    with st.form(key):
        cats = list(CATEGORY)
        category = st.selectbox(web.t("qa.category"), cats, format_func=CATEGORY.get,
                                index=cats.index(cur["category"]) if cur.get("category") in cats else 0)
        question = st.text_area(web.t("qa.question_zh"), value=cur.get("question_zh", ""), max_chars=qa.MAX_QUESTION,
                                height=80)
        answer = st.text_area(web.t("qa.answer_zh"), value=cur.get("answer_zh", ""), max_chars=qa.MAX_ANSWER)
        tags = st.text_input(web.t("qa.tags"), value="、".join(cur.get("tag_list", [])), help=web.t("qa.tags_help"))
        question_en = st.text_input(web.t("qa.question_en"), value=cur.get("question_en", ""),
                                    max_chars=qa.MAX_QUESTION)
        answer_en = st.text_area(web.t("qa.answer_en"), value=cur.get("answer_en", ""), max_chars=qa.MAX_ANSWER,
                                 height=100)
        ids = [None, *choices]
        sources = {None: web.t("qa.none"), **choices}
        source = st.selectbox(web.t("qa.source_pilot"), ids, format_func=sources.get,
                              index=ids.index(cur.get("source_pilot_id")) if cur.get("source_pilot_id") in ids else 0)
        statuses = list(STATUS)
        status = st.radio(web.t("qa.status"), statuses, horizontal=True, format_func=STATUS.get,
                          index=statuses.index(cur.get("status", "draft")))
        if not st.form_submit_button(web.t("common.save"), type="primary"):
            return None
    values = {"category": category, "question_zh": question, "answer_zh": answer, "tags": tags,
              "question_en": question_en, "answer_en": answer_en, "status": status}
    if source != cur.get("source_pilot_id"):
        values["source_pilot_id"] = source
    return values


def create_body() -> None:
    values = entry_form("qa_create", None)
    if values and web.save(qa.create_entry, success=web.t("qa.created"), **values):
        st.rerun()


def edit_body() -> None:
    labels = dict(zip(df["id"].astype(int), (f"#{i} {q[:40]}" for i, q in zip(df["id"], df["question"], strict=True)),
                      strict=True))
    eid = st.selectbox(web.t("qa.pick_entry"), list(labels), format_func=labels.get, key="qa_edit_id")
    current = web.load(qa.get_entry, entry_id=eid)
    values = entry_form(f"qa_edit_{eid}", current)
    if values and web.save(qa.update_entry, entry_id=eid, success=web.t("qa.saved"), **values):
        st.rerun()
    target = "draft" if current["status"] == "published" else "published"
    if st.button(web.t(f"qa.to_{target}"), key=f"qa_flip_{eid}"):
        if web.save(qa.set_status, entry_id=eid, status=target, success=web.t("qa.saved")):
            st.rerun()


if editor:  # the two forms are drawn only while their section is open
    web.lazy_expander(web.t("qa.create"), create_body, key="qa_create_box", icon=":material/add:")
    if not df.empty:
        web.lazy_expander(web.t("qa.edit"), edit_body, key="qa_edit_box", icon=":material/edit:")
