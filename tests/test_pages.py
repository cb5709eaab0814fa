"""Every page × every role through AppTest: allowed pages render without exceptions or raw
catalogue keys; forbidden pages are neither listed nor reachable."""

import pytest
from streamlit.testing.v1 import AppTest

from portal import navigation
from portal.i18n import translate
from tests.apptest import TIMEOUT, each_view, goto, open_as, raw_keys

USERS = {"hq": "hq_wang", "coach": "coach_li", "branch_lead": "lead_qinghe", "staff": "staff_demo"}
CASES = [(role, spec.key) for role in USERS for spec in navigation.PAGES]


@pytest.mark.parametrize(("role", "key"), CASES)
def test_page_by_role(demo_db, role, key):
    at = open_as(USERS[role])
    assert not at.exception, at.exception
    if role in navigation.spec(key).roles:
        goto(at, key)
        assert [t.value for t in at.title][:1] == [navigation_title(key)]
        for view in each_view(at):  # every tab and expander, opened
            assert not view.exception, view.exception
            assert not view.error, [e.value for e in view.error]
            assert not raw_keys(view), raw_keys(view)
    else:
        with pytest.raises(ValueError):
            goto(at, key)


def navigation_title(key: str) -> str:
    return translate("zh", f"nav.{key}")


@pytest.mark.parametrize("role", list(USERS))
def test_home_page_is_the_roles_own(demo_db, role):
    at = open_as(USERS[role])
    assert not at.exception
    assert at.title[0].value == navigation_title(navigation.HOME[role])
    assert not raw_keys(at)


@pytest.mark.parametrize("role", list(USERS))
def test_language_switch_is_remembered_and_english_is_complete(demo_db, role):
    at = open_as(USERS[role])
    at.sidebar.selectbox(key="lang_select").set_value("en").run()
    assert at.sidebar.button(key="logout").label == "Sign out"
    at = open_as(USERS[role])  # a new session: the choice was stored on the user
    for spec in navigation.pages_for(role):
        goto(at, spec.key)
        for view in each_view(at):
            assert not view.exception and not raw_keys(view), (spec.key, raw_keys(view))
        assert at.title[0].value == translate("en", f"nav.{spec.key}")


def test_direct_run_of_a_page_without_login_is_refused(demo_db):
    at = AppTest.from_file(str(navigation.spec("users").path), default_timeout=TIMEOUT).run()
    assert at.error and "权限" in at.error[0].value
    assert not at.dataframe


def test_login_form_and_logout(demo_db):
    from portal.app import __file__ as app_file

    at = AppTest.from_file(app_file, default_timeout=TIMEOUT).run()
    at.text_input[0].input("coach_li")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert at.error and "不正确" in at.error[0].value
    at.text_input[1].input("Pilot#Demo2026")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == navigation_title(navigation.HOME["coach"])
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "登录"


def test_portfolio_heat_map_rolls_branches_up_per_region_when_there_are_many(demo_db, monkeypatch):
    from portal import portfolio

    def notes(at: AppTest) -> list[str]:
        return [c.value for c in at.caption if "按区域汇总" in c.value]

    at = goto(open_as("hq_wang"), "portfolio")
    assert not at.exception and not notes(at)  # the demo's few branches: a row each
    monkeypatch.setattr(portfolio, "HEATMAP_BRANCHES", 1)
    at = goto(open_as("hq_wang"), "portfolio")
    assert not at.exception and notes(at) == [translate("zh", "programme.heatmap_by_region", n=1)]


def test_qa_entries_show_question_and_answer_as_one_plain_text_block(demo_db):
    at = goto(open_as("staff_demo"), "qa")
    blocks = [t.value for t in at.text]
    q, a = translate("zh", "qa.q_prefix"), translate("zh", "qa.a_prefix")
    assert 0 < len(blocks) <= 15  # one page of entries
    assert all(b.startswith(q) and f"\n{a}" in b for b in blocks), blocks[:2]
    assert not at.markdown or all(q not in m.value for m in at.markdown)  # never rendered as Markdown
