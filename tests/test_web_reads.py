"""portal.web.load keeps a page's reads for a few seconds in the browser session, so a widget
click does not repeat every query; writes, other users and refusals are never served from it."""

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from portal import web
    from portal.errors import ValidationFailed

    calls = st.session_state.setdefault("calls", [])

    def probe(session, *, actor, n):  # noqa: ANN001, ANN202
        calls.append(n)
        if n < 0:
            raise ValidationFailed("err.permission")
        return {"n": n, "rows": [n]}

    def write(session, *, actor):  # noqa: ANN001, ANN202
        return None

    n = st.number_input("n", value=1, min_value=-5)
    got = web.load(probe, n=int(n))
    got["rows"].append("changed by the page")  # must not leak into the kept copy
    st.write(f"calls={len(calls)} rows={len(got['rows'])}")
    if st.button("save"):
        web.save(write)
        st.write(f"after save: {web.load(probe, n=int(n))['n']} calls={len(calls)}")


def _calls(at: AppTest) -> str:
    return [m.value for m in at.markdown][0]


def test_reads_are_kept_per_session_and_dropped_by_a_write():
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert _calls(at) == "calls=1 rows=2"
    at.run()  # a rerun (a widget click elsewhere) reads nothing again
    assert _calls(at) == "calls=1 rows=2"  # and the page's change to the result was not kept
    at.number_input[0].set_value(2).run()  # other arguments: a new read
    assert _calls(at) == "calls=2 rows=2"
    at.button[0].click().run()
    assert any("after save: 2 calls=3" in m.value for m in at.markdown)
    other = AppTest.from_function(_script, default_timeout=30).run()  # another browser session
    assert _calls(other) == "calls=1 rows=2"


def test_refusals_are_never_kept():
    at = AppTest.from_function(_script, default_timeout=30).run()
    at.number_input[0].set_value(-1).run()
    at.run()
    assert at.error and at.session_state["calls"] == [1, -1, -1]


def _chart_script():
    import pandas as pd
    import streamlit as st

    from portal import web

    built = st.session_state.setdefault("built", [])

    def build(df, t):  # noqa: ANN001, ANN202
        built.append(len(df))
        return {"points": len(df)}

    n = st.number_input("rows", value=2, min_value=1)
    fig = web.memo(build, pd.DataFrame({"x": range(int(n))}), web.t)
    st.write(f"built={built} points={fig['points']}")


def test_figures_are_rebuilt_only_when_their_data_changes():
    at = AppTest.from_function(_chart_script, default_timeout=30).run()
    at.run()
    assert [m.value for m in at.markdown] == ["built=[2] points=2"]
    at.number_input[0].set_value(3).run()
    assert [m.value for m in at.markdown] == ["built=[2, 3] points=3"]


def _frame_args_script():
    import pandas as pd
    import streamlit as st

    from portal import web

    calls = st.session_state.setdefault("calls", [])

    def standing(session, *, actor, board):  # noqa: ANN001, ANN202
        calls.append(len(board))
        return int(board["points"].sum())

    version = st.number_input("board version", value=1)
    board = pd.DataFrame({"points": [1, 2, int(version)]})
    if st.checkbox("unkeyed"):
        try:
            web.load(standing, board=board)
        except TypeError as exc:
            st.write(f"refused: {exc}")
    total = web.load(standing, board=board, keyed_by=("board", int(version)))
    st.write(f"total={total} calls={len(calls)}")


def test_frame_arguments_are_keyed_by_what_the_caller_names():
    at = AppTest.from_function(_frame_args_script, default_timeout=30).run()
    at.run()
    assert [m.value for m in at.markdown] == ["total=4 calls=1"]
    at.number_input[0].set_value(5).run()  # a recomputed board (new stamp): read again
    assert [m.value for m in at.markdown] == ["total=8 calls=2"]
    at.checkbox[0].check().run()  # a frame cannot be keyed by its (truncated) repr
    assert [m.value for m in at.markdown][0] == "refused: web.load: frame arguments need keyed_by"


def test_kept_figures_serialise_like_the_original_and_build_their_dict_once():
    import json

    import plotly.graph_objects as go
    import plotly.io
    import plotly.tools

    from portal import web

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="计划"))
    fig.update_layout(title="标题", height=300)
    kept = web._frozen(fig)
    assert isinstance(kept, go.Figure) and kept is not fig

    def spec(f):  # noqa: ANN001, ANN202 - what st.plotly_chart sends
        return json.loads(plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(f, True), validate=False))

    assert spec(kept) == spec(fig)
    assert kept.to_dict() is kept.to_dict()  # made once
    assert web._frozen({"not": "a figure"}) == {"not": "a figure"}


def _table_script():
    import pandas as pd
    import streamlit as st

    from portal import web

    built = st.session_state.setdefault("built", [])

    def rows(df, mixed):  # noqa: ANN001, ANN202
        built.append(len(df))
        out = df.assign(label=[f"第{n}行" for n in df["n"]])
        return out.assign(label=[1, "二"] * (len(out) // 2)) if mixed else out

    n = st.number_input("rows", value=2, min_value=2, step=2)
    mixed = st.checkbox("mixed")
    web.table(rows, pd.DataFrame({"n": range(int(n))}), mixed, hide_index=True)
    st.write(f"built={built}")


def test_tables_are_built_and_encoded_once_per_content():
    at = AppTest.from_function(_table_script, default_timeout=30).run()
    at.run()
    assert [m.value for m in at.markdown] == ["built=[2]"]
    shown = at.dataframe[0].value
    assert shown["label"].tolist() == ["第0行", "第1行"] and shown["n"].tolist() == [0, 1]
    at.number_input[0].set_value(4).run()
    assert [m.value for m in at.markdown] == ["built=[2, 4]"] and len(at.dataframe[0].value) == 4
    at.checkbox[0].check().run()  # a column Arrow cannot type: shown through Streamlit's own conversion
    assert not at.exception and at.dataframe[0].value["label"].astype(str).tolist() == ["1", "二", "1", "二"]
