from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.org import User
from portal import auth, clock, db, users
from portal.access import CLI_ACTOR
from portal.errors import ValidationFailed
from tests import factories

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def login(engine, username, password):
    return db.run(auth.login, engine=engine, username=username, password=password)


def resolve(engine, token):
    return db.run(auth.resolve, engine=engine, token=token)


def test_hash_is_argon2id_with_owasp_minimums():
    encoded = auth.hash_password("长城长江-2026")
    assert encoded.startswith("$argon2id$")
    params = dict(p.split("=") for p in encoded.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


@pytest.mark.parametrize("bad", ["", "        ", "short1!", "x" * 129, "password123", "12345678", "aaaaaaaa",
                                 "Password1"])
def test_password_policy_rejects(bad):
    with pytest.raises(ValidationFailed):
        auth.check_password_policy(bad)


def test_password_policy_accepts_cjk_and_never_truncates():
    long_pw = "陪跑教练" * 30 + "尾巴"  # 122 characters
    auth.check_password_policy(long_pw)
    encoded = auth.hash_password(long_pw)
    assert auth.verify_password(encoded, long_pw)
    assert not auth.verify_password(encoded, long_pw[:-1] + "巴巴"[:1] + "x")
    assert not auth.verify_password(encoded, long_pw[:72])


@pytest.fixture
def account(engine):
    ids = factories.org(engine)
    return factories.user(engine, "coach", username="coach_a"), ids


def test_login_success_and_uniform_failure_message(engine, account):
    ok = login(engine, "coach_a", factories.PASSWORD)
    assert ok.ok and resolve(engine, ok.token).username == "coach_a"
    wrong = login(engine, "coach_a", "not-the-password")
    unknown = login(engine, "nobody", "not-the-password")
    assert not wrong.ok and not unknown.ok
    assert wrong.message_key == unknown.message_key == "auth.invalid"


def test_five_failures_lock_for_fifteen_minutes(engine, account):
    with clock.frozen(T0):
        for _ in range(5):
            assert not login(engine, "coach_a", "wrong-password-1").ok
        locked = login(engine, "coach_a", factories.PASSWORD)
        assert not locked.ok and locked.message_key == "auth.invalid"
        clock.advance(timedelta(minutes=14, seconds=59))
        assert not login(engine, "coach_a", factories.PASSWORD).ok
        clock.advance(timedelta(seconds=2))
        assert login(engine, "coach_a", factories.PASSWORD).ok
    with Session(engine) as s:
        actions = s.exec(select(AuditLog.action)).all()
    assert "auth.lockout" in actions and actions.count("auth.login_failed") >= 6


def test_idle_timeout_and_absolute_limit(engine, account):
    with clock.frozen(T0):
        token = login(engine, "coach_a", factories.PASSWORD).token
        clock.advance(timedelta(minutes=29))
        assert resolve(engine, token) is not None  # activity refreshes the idle timer
        clock.advance(timedelta(minutes=31))
        assert resolve(engine, token) is None
        start = clock.now_utc()
        token = login(engine, "coach_a", factories.PASSWORD).token
        while clock.now_utc() - start < timedelta(hours=11, minutes=31):
            clock.advance(timedelta(minutes=29))
            assert resolve(engine, token) is not None  # active use, never idle
        clock.advance(start + timedelta(hours=12, minutes=1) - clock.now_utc())
        assert resolve(engine, token) is None  # 12-hour absolute limit


def test_logout_revokes_session_and_its_cookie_sibling(engine, account):
    result = login(engine, "coach_a", factories.PASSWORD)
    cookie_token = db.run(auth.exchange_handoff, engine=engine, code=result.handoff)
    assert cookie_token and resolve(engine, cookie_token) is not None
    assert db.run(auth.exchange_handoff, engine=engine, code=result.handoff) is None  # one-time
    db.run(auth.logout, engine=engine, token=cookie_token)
    assert resolve(engine, cookie_token) is None
    assert resolve(engine, result.token) is None


def test_handoff_expires(engine, account):
    with clock.frozen(T0):
        result = login(engine, "coach_a", factories.PASSWORD)
        clock.advance(timedelta(seconds=auth.HANDOFF_SECONDS + 1))
        assert db.run(auth.exchange_handoff, engine=engine, code=result.handoff) is None


def test_disabled_user_is_refused_on_next_action_and_role_change_is_immediate(engine, account):
    token = login(engine, "coach_a", factories.PASSWORD).token
    db.run(users.update_user, engine=engine, actor=CLI_ACTOR, username="coach_a", role="hq")
    assert resolve(engine, token).role == "hq"
    db.run(users.update_user, engine=engine, actor=CLI_ACTOR, username="coach_a", active=False)
    assert resolve(engine, token) is None
    db.run(users.update_user, engine=engine, actor=CLI_ACTOR, username="coach_a", active=True)
    assert resolve(engine, token) is None  # disabling revoked it for good


def test_secrets_never_reach_the_audit_log(engine, account):
    login(engine, "coach_a", factories.PASSWORD)
    db.run(users.reset_password, engine=engine, actor=CLI_ACTOR, username="coach_a", new_password="Another-Pw-99")
    with Session(engine) as s:
        dump = " ".join(str((a.before, a.after)) for a in s.exec(select(AuditLog)).all())
        user = s.exec(select(User).where(User.username == "coach_a")).one()
    assert "argon2" not in dump and factories.PASSWORD not in dump and "Another-Pw-99" not in dump
    assert user.password_hash.startswith("$argon2id$")
