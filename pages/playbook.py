import pandas as pd
import streamlit as st

from exports import playbook as pack_export
from portal import db, pilots, playbook, web

actor = web.page("playbook")
ADOPTERS = ("hq", "coach")
opts = web.load(playbook.options)


def text_block(label_key: str, value: str) -> None:
    """A catalogue label over stored text shown as plain text (never Markdown)."""
    if value:
        st.caption(web.t(label_key))
        st.text(value)


# The tables below are built, translated and Arrow-encoded only when their content changes
# (web.table): a package shows five to eight tables, and doing that on every click was most of
# a rerun.
def steps_frame(steps: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(steps, columns=["day_offset", "title", "detail"])


def steps_table(steps: list[dict]) -> None:
    web.table(steps_frame, steps, hide_index=True, width="stretch", column_config={
        "day_offset": st.column_config.NumberColumn(web.t("playbook.col.day_offset"), format="D%d", width="small"),
        "title": web.t("playbook.col.title"), "detail": st.column_config.TextColumn(web.t("playbook.col.detail"),
                                                                                     width="large")})


def scripts(items: list[dict]) -> None:
    st.caption(web.t("playbook.scripts_hint"))
    for s in items:
        st.text(s["title"])
        st.code(s["text"], language=None, wrap_lines=True)


def sop_frame(items: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(items, columns=["day_offset", "title", "owner_role", "evidence_required"])
    return df.assign(owner_role=df["owner_role"].map(web.fmt("role")))


def sop_table(templates: list[dict]) -> None:
    for tpl in templates:
        st.text(tpl["name"])
        web.table(sop_frame, tpl["items"], hide_index=True, width="stretch", column_config={
            "day_offset": st.column_config.NumberColumn(web.t("playbook.col.day_offset"), format="D%d"),
            "title": web.t("playbook.col.title"), "owner_role": web.t("playbook.col.owner"),
            "evidence_required": st.column_config.CheckboxColumn(web.t("playbook.col.evidence"))})


def kpi_frame(kpis: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(kpis, columns=["name", "target", "unit", "basis", "kind"])
    return df.assign(target=[f"{v:.0%}" if k == "rate" else f"{v:,g}" for v, k in zip(df["target"], df["kind"],
                                                                                       strict=True)],
                     basis=df["basis"].map(web.fmt("playbook.basis"))).drop(columns=["kind"])


def kpi_table(kpis: list[dict]) -> None:
    web.table(kpi_frame, kpis, hide_index=True, width="stretch", column_config={
        c: web.t(f"playbook.col.{c}") for c in ("name", "target", "unit", "basis")})


def show_package(p: dict) -> None:
    with st.container(border=True):
        text_block("playbook.package", p["name"])
        text_block("playbook.principle", p["principle"])
        text_block("playbook.tactic", p["tactic"])
        text_block("playbook.sub_note", p.get("sub_segment_note", ""))
        text_block("playbook.materials", "\n".join(f"• {m}" for m in p["materials"]))
    st.subheader(web.t("playbook.steps"))
    steps_table(p["step"])
    st.subheader(web.t("playbook.scripts"))
    scripts(p["script"])
    st.subheader(web.t("playbook.kpis"))
    kpi_table(p["kpis"])


def show_flow(flow: dict) -> None:
    st.subheader(web.t("playbook.flow"))
    text_block("playbook.flow_name", flow["name"])
    steps_table(flow["step"])
    if flow.get("scene"):
        st.caption(web.t("playbook.scenes"))
        for scene in flow["scene"]:
            with st.container(border=True):
                st.text(scene["name"])
                st.text(scene["description"])
    scripts(flow["script"])


def downloads(key: str, **pack_args) -> None:
    """Workbook and Markdown of the pack, built only when clicked."""
    def build(kind: str):
        def data() -> bytes:
            pack = db.run(playbook.pack, write=False, actor=actor, **pack_args)
            return pack_export.to_xlsx(pack) if kind == "xlsx" else pack_export.to_markdown(pack)
        return data

    c1, c2 = st.columns(2)
    c1.download_button(web.t("playbook.download_xlsx"), data=build("xlsx"), file_name=f"playbook_{key}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", key=f"dl_x_{key}", on_click="ignore")
    c2.download_button(web.t("playbook.download_md"), data=build("md"), file_name=f"playbook_{key}.md",
                       mime="text/markdown", icon=":material/description:", key=f"dl_m_{key}", on_click="ignore")


def adopt_control(package_code: str) -> None:
    choices = web.load(pilots.pilot_choices)
    with st.container(border=True):
        st.subheader(web.t("playbook.adopt"))
        if not choices:
            st.info(web.t("playbook.no_pilots"))
            return
        pid = st.selectbox(web.t("playbook.adopt_pilot"), list(choices), format_func=choices.get, key="adopt_pid")
        current = web.load(pilots.get_pilot, pilot_id=int(pid))
        st.caption(web.t("playbook.adopt_help"))
        confirm = st.checkbox(web.t("playbook.adopt_confirm"), key=f"adopt_ok_{pid}_{package_code}")
        if st.button(web.t("playbook.adopt_button"), type="primary", key="adopt_go"):
            if not confirm:
                st.warning(web.t("common.confirm_first"))
            else:
                result = web.save(playbook.adopt_package, pilot_id=int(pid), package_code=package_code)
                if result:
                    st.success(web.t("playbook.adopted", created=result["targets"]["created"],
                                     updated=result["targets"]["updated"], kept=result["targets"]["kept"],
                                     items=result["sop_items_created"]))
                    current = web.load(pilots.get_pilot, pilot_id=int(pid))
        if current.get("package_code"):
            st.caption(web.t("playbook.pilot_pack"))
            downloads(f"pilot{pid}", pilot_id=int(pid))


def tab_match() -> None:
    st.caption(web.t("playbook.match_help"))
    c1, c2, c3, c4 = st.columns(4)
    status = c1.selectbox(web.t("playbook.step1"), list(opts["wecom_status"]), format_func=opts["wecom_status"].get,
                          key="pb_status")
    goal = c2.selectbox(web.t("playbook.step2"), list(opts["goal"]), format_func=opts["goal"].get, key="pb_goal")
    segment = c3.selectbox(web.t("playbook.step3"), list(opts["segment"]), format_func=opts["segment"].get,
                           key="pb_segment")
    subs = {"": web.t("playbook.any_sub"), **opts["sub_segment"].get(segment, {})}
    sub = c4.selectbox(web.t("playbook.step4"), list(subs), key=f"pb_sub_{segment}", format_func=subs.get)
    result = web.load(playbook.match, wecom_status=status, goal=goal, segment=segment, sub_segment=sub or None)
    show_package(result["package"])
    show_flow(result["flow"])
    st.subheader(web.t("playbook.sop"))
    sop_table(result["sop"])
    downloads(result["package"]["code"], package_code=result["package"]["code"])
    if actor.role in ADOPTERS:
        adopt_control(result["package"]["code"])


def tab_browse() -> None:
    packages = web.load(playbook.list_packages)
    names = dict(zip(packages["code"], packages["name"], strict=True))
    overview = packages.assign(goal=packages["goal"].map(opts["goal"].get),
                               segment=packages["segment"].map(opts["segment"].get))
    st.dataframe(overview.drop(columns=["code"]), hide_index=True, width="stretch",
                 column_config={c: web.t("playbook.col.name_pkg" if c == "name" else f"playbook.col.{c}")
                                for c in overview.columns if c != "code"})
    code = st.selectbox(web.t("playbook.pick_package"), list(names), format_func=names.get, key="browse_pkg")
    detail = web.load(playbook.get_package, code=code)
    show_package(detail)
    st.subheader(web.t("playbook.sop"))
    sop_table(detail["sop"])


def tab_scen() -> None:
    scenarios = web.load(playbook.list_scenarios)
    labels = {s["code"]: s["name"] for s in scenarios}
    pick = st.selectbox(web.t("playbook.pick_scenario"), list(labels), format_func=labels.get, key="scen_pick")
    scen = next(s for s in scenarios if s["code"] == pick)
    with st.container(border=True):
        text_block("playbook.logic", scen["logic"])
    st.dataframe(pd.DataFrame(scen["phase"], columns=["title", "detail"]), hide_index=True, width="stretch",
                 column_config={"title": web.t("playbook.col.phase"), "detail": web.t("playbook.col.detail")})
    for scene in scen.get("scene", []):
        with st.container(border=True):
            st.text(scene["name"])
            st.text(scene["description"])
    sop_table(scen["sop"])


def tab_chan() -> None:
    data = web.load(playbook.list_channels)
    bench = data["pass_rate"]
    if bench:
        c1, c2, c3 = st.columns(3)
        c1.metric(web.t("playbook.bench_low"), f"{bench['low']:.0%}")
        c2.metric(web.t("playbook.bench_high"), f"{bench['high']:.0%}")
        c3.metric(web.t("playbook.bench_fail"), f"{bench['fail_below']:.0%}")
        st.text(bench["description"])
    for ch in data["channels"]:
        with st.container(border=True):
            st.text(ch["name"])
            text_block("playbook.fits", ch["fits"])
            text_block("playbook.tips", ch["tips"])
            text_block("playbook.benchmark", ch.get("benchmark_text", ""))


def tab_search() -> None:
    query = st.text_input(web.t("playbook.search"), max_chars=100, key="pb_query",
                          placeholder=web.t("playbook.search_placeholder"))
    if query.strip():
        hits = web.load(playbook.search, text=query)
        st.caption(web.t("playbook.hits", n=len(hits)))
        for hit in hits.head(30).to_dict("records"):
            with st.container(border=True):
                st.caption(web.t(f"playbook.kind.{hit['kind']}"))
                st.text(f"{hit['package_name']} · {hit['title']}")
                if hit["kind"] == "script":
                    st.code(hit["text"], language=None, wrap_lines=True)
                else:
                    st.text(hit["text"])


web.tab_bodies("pb_tab", {web.t("playbook.tab.match"): tab_match, web.t("playbook.tab.browse"): tab_browse,
                          web.t("playbook.tab.scenarios"): tab_scen, web.t("playbook.tab.channels"): tab_chan,
                          web.t("playbook.tab.search"): tab_search})
