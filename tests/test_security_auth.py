"""Sign-in and sessions beyond tests/test_auth.py: the stored hashes' parameters, lock-out that
tells nobody anything, timeouts / disabling / role changes as a live page sees them, no accounts
but the demo's, and secrets (passwords, webhook keys, session tokens) kept out of logs, CLI
output, audit rows, exports, the database and a served request."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import sys
import threading
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import JSON, String, insert, select
from sqlmodel import Session, SQLModel, func

from exports import playbook as pack_export
from exports import qa as qa_export
from models.audit import AuditLog
from models.contests import Contest
from models.org import AuthSession, User
from models.pilot import Pilot
from portal import auth, cli, clock, contests, db, navigation, playbook, qa, report_import, users
from portal.access import CLI_ACTOR, load_actor
from portal.i18n import translate
from tests import factories
from tests.apptest import goto, open_as
from tests.conftest import _reset_caches

T0 = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)


def login(engine, username, password):
    return db.run(auth.login, engine=engine, username=username, password=password)


def stored_hash(engine, username) -> str:
    with Session(engine) as s:
        return s.exec(select(User.password_hash).where(User.username == username)).scalar_one()


def test_stored_hashes_are_argon2id_with_the_configured_parameters_and_weak_ones_are_upgraded(engine):
    factories.org(engine)
    factories.user(engine, "coach", username="coach_a")
    encoded = stored_hash(engine, "coach_a")
    _, variant, version, params, salt, digest = encoded.split("$")
    values = dict(p.split("=") for p in params.split(","))
    assert (variant, version) == ("argon2id", "v=19") and auth.HASHER.type == Type.ID
    assert (int(values["m"]), int(values["t"]), int(values["p"])) == (19 * 1024, 2, 1)
    assert len(base64.b64decode(salt + "==")) >= 16 and len(base64.b64decode(digest + "==")) >= 32
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(factories.PASSWORD)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "coach_a")).scalar_one()
        user.password_hash = weak
        s.add(user)
        s.commit()
    assert login(engine, "coach_a", factories.PASSWORD).ok
    assert "m=19456,t=2,p=1" in stored_hash(engine, "coach_a")  # re-hashed on the first good log-in


def test_lockout_is_per_account_and_every_refusal_reads_the_same(engine):
    factories.org(engine)
    for name in ("coach_a", "coach_b", "coach_off"):
        factories.user(engine, "coach", username=name)
    db.run(users.update_user, engine=engine, actor=CLI_ACTOR, username="coach_off", active=False)
    with clock.frozen(T0):
        for _ in range(5):
            login(engine, "coach_a", "wrong-password-1")
        refusals = [login(engine, "coach_a", factories.PASSWORD), login(engine, "coach_a", "wrong-password-1"),
                    login(engine, "nobody", factories.PASSWORD), login(engine, "coach_off", factories.PASSWORD)]
        assert {(r.ok, r.token, r.message_key) for r in refusals} == {(False, None, "auth.invalid")}
        assert login(engine, "coach_b", factories.PASSWORD).ok  # another account is not affected
        db.run(users.reset_password, engine=engine, actor=CLI_ACTOR, username="coach_a", new_password="Reset-Pass-42")
        assert login(engine, "coach_a", "Reset-Pass-42").ok  # HQ's reset lifts the lock
    with Session(engine) as s:
        failed = s.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).scalars().all()
    assert failed and all(r.outcome == "denied" and "wrong-password" not in json.dumps([r.before, r.after])
                          for r in failed)


def test_idle_and_absolute_timeouts_as_a_live_page_sees_them(demo_db):
    with clock.frozen(T0):
        at = open_as("coach_li")
        assert at.title[0].value == translate("zh", "nav.today")  # signed in, on the coach's home
        clock.advance(timedelta(minutes=29))
        at.run()
        assert at.title[0].value != "登录"  # activity within 29 minutes keeps the session
        clock.advance(timedelta(minutes=31))
        at.run()
        assert at.title[0].value == "登录" and at.info and not at.dataframe  # idle: back to the log-in
        at = open_as("coach_li")
        clock.advance(timedelta(hours=12, minutes=1))
        with Session(db.get_engine()) as s:  # used a minute ago, but opened 12 h ago
            for row in s.exec(select(AuthSession).where(AuthSession.revoked_at.is_(None))).scalars():
                row.last_seen_at = clock.now_utc() - timedelta(minutes=1)
                s.add(row)
            s.commit()
        at.run()
        assert at.title[0].value == "登录"


def test_a_disabled_users_open_page_is_refused_on_its_next_action(demo_db):
    at = open_as("coach_li")
    goto(at, "checklist")
    assert at.dataframe or at.expander  # working normally
    db.run(users.update_user, actor=CLI_ACTOR, username="coach_li", active=False)
    at.run()
    assert at.title[0].value == "登录" and not at.dataframe and not at.exception
    with pytest.raises(ValueError):
        goto(at, "checklist")
    db.run(users.update_user, actor=CLI_ACTOR, username="coach_li", active=True)
    at.run()
    assert at.title[0].value == "登录"  # re-enabling does not revive the revoked session


def test_a_changed_role_takes_effect_on_the_next_rerun(demo_db):
    at = open_as("coach_li")
    goto(at, "today")
    main_branch = db.run(lambda session: session.exec(select(Pilot.branch_id).where(Pilot.phase == "pilot")
                                                      .order_by(Pilot.id)).scalars().first(), write=False)
    db.run(users.update_user, actor=CLI_ACTOR, username="coach_li", role="branch_lead", branch_ids=[main_branch])
    at.run()
    assert not at.exception
    assert at.title[0].value == translate("zh", f"nav.{navigation.HOME['branch_lead']}")
    with pytest.raises(ValueError):
        goto(at, "today")  # a coach's page, gone from a branch lead's navigation
    goto(at, "capability")
    assert not at.exception and not at.error  # a branch lead's page, there at once
    assert navigation.allowed("branch_lead", "capability") and not navigation.allowed("coach", "capability")


def test_init_creates_no_account_and_demo_accounts_are_flagged(tmp_path, monkeypatch, demo_template):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    _reset_caches()
    try:
        assert cli.main(["init"]) == 0 and cli.main(["init"]) == 0
        with Session(db.get_engine()) as s:
            assert s.exec(select(func.count()).select_from(User)).scalar_one() == 0
    finally:
        db.get_engine().dispose()
        _reset_caches()
    demo = db.make_engine(f"sqlite:///{demo_template}")
    with Session(demo) as s:
        flags = s.exec(select(User.username, User.is_demo)).all()
    demo.dispose()
    assert flags and all(is_demo for _, is_demo in flags)


class _Robot(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802
        _Robot.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        body = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the test's own stand-in for the WeCom server
        pass


def _texts(data: bytes) -> str:
    """Every part of an xlsx (a zip of XML), or the bytes of a Markdown file, as text."""
    if data[:2] != b"PK":
        return data.decode("utf-8")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def _is_text(column) -> bool:
    kind = getattr(column.type, "impl", column.type)  # SQLModel's AutoString wraps a String
    return isinstance(kind, String | JSON)


def _every_text_column(engine) -> str:
    out = []
    with Session(engine) as s:
        for table in SQLModel.metadata.sorted_tables:
            cols = [c for c in table.columns if _is_text(c)]
            if cols:
                out += [str(v) for row in s.execute(select(*cols)).all() for v in row]
    return "\n".join(out)


def test_passwords_webhook_keys_and_tokens_stay_out_of_logs_output_audit_exports_and_tables(
        demo_db, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    robot = HTTPServer(("127.0.0.1", 0), _Robot)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    key = "ROBOTKEY-7f3a9c-secret"
    pw1, pw2 = "First-Secret-Pass-1", "Second-Secret-Pass-2"
    monkeypatch.setattr(sys, "stdin", io.StringIO(pw1 + "\n"))
    assert cli.main(["user", "add", "sec_coach", "--role", "coach", "--name", "保密测试"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(pw2 + "\n"))
    assert cli.main(["user", "passwd", "sec_coach"]) == 0
    result = db.run(auth.login, username="sec_coach", password=pw2)
    cookie = db.run(auth.exchange_handoff, code=result.handoff)
    contest = db.run(lambda session: session.exec(select(Contest.id)).scalars().first(), write=False)
    hq = db.run(lambda session: load_actor(session, session.exec(
        select(User.id).where(User.username == "hq_wang")).scalar_one()), write=False)
    db.run(contests.set_webhook, actor=hq, contest_id=contest, url=f"http://127.0.0.1:{robot.server_port}/send?key={key}")
    assert cli.main(["push", "ranking", "--contest", str(contest)]) == 0
    robot.shutdown()
    assert _Robot.received and key.encode() not in _Robot.received[-1]
    pilot = db.run(lambda session: session.exec(select(Pilot.id).where(Pilot.package_code.is_not(None))
                                                .order_by(Pilot.id)).scalars().first(), write=False)
    exports = [qa_export.to_xlsx(db.run(qa.manual, write=False, actor=hq), lang="zh"),
               qa_export.to_markdown(db.run(qa.manual, write=False, actor=hq), lang="zh"),
               pack_export.to_xlsx(db.run(playbook.pack, write=False, actor=hq, pilot_id=pilot)),
               report_import.template_download(hq, pilot_id=pilot, start=clock.today() - timedelta(days=6),
                                               end=clock.today())()]
    out = capsys.readouterr()
    with Session(db.get_engine()) as s:
        audit_text = json.dumps([[r.actor_username, r.action, r.entity_id, r.before, r.after]
                                 for r in s.exec(select(AuditLog)).scalars()], ensure_ascii=False, default=str)
        hashes = [h for (h,) in s.exec(select(User.password_hash)).all() if h]
    secrets = {"password": pw1, "new password": pw2, "webhook key": key, "session token": result.token,
               "cookie token": cookie, "handoff code": result.handoff}
    places = {"log": caplog.text, "stdout": out.out, "stderr": out.err, "audit": audit_text,
              "exports": " ".join(_texts(e) for e in exports)}
    leaks = [(what, where) for what, secret in secrets.items() for where, text in places.items() if secret in text]
    assert not leaks, leaks
    assert not [h for h in hashes if h in audit_text] and "token_hash" not in audit_text
    stored = _every_text_column(db.get_engine())
    assert not [w for w, s in secrets.items() if w != "webhook key" and s in stored]  # tokens: SHA-256 only
    assert hashlib.sha256(result.token.encode()).hexdigest() in stored


def test_sql_errors_never_print_parameters(engine):
    """An SQL error's text carries the statement's parameters unless the engine hides them: a
    failing write of a webhook URL or a hash would put the secret in the server log."""
    engine_url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "sqlite":
        pytest.skip("the portal's engine factory is exercised on the SQLite file")
    portal_engine = db.make_engine(engine_url)
    with pytest.raises(Exception) as err:
        with portal_engine.begin() as conn:
            conn.execute(insert(Contest).values(id=1, name="x", start_date=T0.date(), end_date=T0.date(),
                                                created_at=T0, webhook_url="https://h/?key=SQL-PARAM-KEY"))
            conn.execute(insert(Contest).values(id=1, name="x", start_date=T0.date(), end_date=T0.date(),
                                                created_at=T0, webhook_url="https://h/?key=SQL-PARAM-KEY"))
    portal_engine.dispose()
    assert "SQL-PARAM-KEY" not in str(err.value)


def test_served_request_sets_a_safe_cookie_and_logs_no_token(demo_db, tmp_path, monkeypatch):
    from tests.test_browser import start_server

    monkeypatch.setenv("PORTAL_COOKIE_SECURE", "true")
    monkeypatch.setenv("STREAMLIT_LOGGER_LEVEL", "debug")
    result = db.run(auth.login, username="coach_li", password="Pilot#Demo2026")
    log = tmp_path / "server.log"
    proc, url = start_server(demo_db.url.database, log)
    try:
        exchange = urllib.request.Request(f"{url}/portal-auth/session", data=result.handoff.encode(), method="POST")
        with urllib.request.urlopen(exchange, timeout=10) as response:
            assert response.status == 204
            cookie = response.headers["set-cookie"]
        token = cookie.split(";")[0].split("=", 1)[1]
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
        with pytest.raises(urllib.error.HTTPError) as again:  # the code works once
            urllib.request.urlopen(urllib.request.Request(f"{url}/portal-auth/session", data=result.handoff.encode(),
                                                          method="POST"), timeout=10)
        assert again.value.code == 400
        page = urllib.request.Request(url, headers={"Cookie": f"pp_session={token}"})
        assert urllib.request.urlopen(page, timeout=10).status == 200
        assert db.run(auth.resolve, token=token).username == "coach_li"
        bye = urllib.request.Request(f"{url}/portal-auth/logout", data=b"", method="POST",
                                     headers={"Cookie": f"pp_session={token}"})
        assert urllib.request.urlopen(bye, timeout=10).status == 204
        assert db.run(auth.resolve, token=token) is None
    finally:
        proc.terminate()
        proc.wait(30)
    text = log.read_text()
    assert text and token not in text and result.handoff not in text and result.token not in text
