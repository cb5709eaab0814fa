"""The phone ranking page, /m/ranking: what a staff member opens from WeCom at 9 a.m.

A plain server-rendered page (a few KB, no script) beside the Streamlit app, served by the
same `st.App`. The portal's 我的排名 page costs its server about 0.3 s of CPU per visit
(a Streamlit session, a script run, a websocket) and the phone a 5 MB application; this page
answers from the same shared 30 s boards and the same service, leaderboard.my_standing, with
the same permission checks and name hiding. It signs in with the portal's own accounts and
its HttpOnly session cookie, so a phone whose session has timed out overnight signs in here
without loading the application either.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from models.org import Role
from portal import (
    PACKAGE_DIR,
    auth,
    board_cache,
    clock,
    db,
    leaderboard,
    navigation,
    ranking_card,
    session_cookie,
)
from portal.errors import NotFound, PermissionDenied, PortalError, StorageError
from portal.i18n import translate
from portal.settings import get_settings

QUICK_PATH = navigation.PHONE_RANKING_PATH
SIGNIN_PATH = f"{QUICK_PATH}/signin"
SIGNOUT_PATH = f"{QUICK_PATH}/signout"
PORTAL_PAGE = "/my_ranking"  # the full page (points breakdown, contest choice) in the portal
MAX_FORM_BYTES = 4096
# Per-user and never cached; no script, no frames, forms only to this origin.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}
STATUS = {PermissionDenied: 403, NotFound: 404, StorageError: 503}

# Autoescaping: every value from the database reaches the phone as text, never as markup.
_templates = Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _page(status: int, lang: str, **context: object) -> tuple[int, str]:
    def t(key: str, **params: object) -> str:
        return translate(lang, key, **params)

    html = _templates.get_template("quick_ranking.html").render(
        lang=lang, t=t, paths={"self": QUICK_PATH, "signin": SIGNIN_PATH, "signout": SIGNOUT_PATH,
                               "portal": PORTAL_PAGE},
        **{"view": None, "notice": None, "error": None, "signin": False, "contests": {}, "contest_param": None,
           **context})
    return status, html


def _contest_param(value: str | None) -> str | None:
    """A contest number as the URL or the form carries it, or None: ASCII digits only
    (int() would also take full-width and other Unicode digits)."""
    return value if value is not None and value.isascii() and value.isdigit() and len(value) <= 12 else None


def signin_page(*, error: str | None = None, notice: str | None = None, status: int = 200,
                contest: str | None = None) -> tuple[int, str]:
    return _page(status, get_settings().default_language, signin=True, error=error, notice=notice,
                 contest_param=_contest_param(contest))


def ranking(token: str | None, contest: str | None) -> tuple[int, str]:
    """(HTTP status, page) for whoever holds the session `token`: the sign-in form, a notice,
    or the standing in one of the staff member's contests (`contest`: its id, else the first)."""
    default = get_settings().default_language
    try:
        actor = db.run(auth.resolve, write=True, token=token) if token else None
    except PortalError as exc:  # e.g. the database cannot be written
        return _page(STATUS.get(type(exc), 400), default, notice=translate(default, exc.key, **exc.params))
    if actor is None:  # a cookie that no longer works: timed out, signed out elsewhere, disabled
        return signin_page(notice=translate(default, "login.expired") if token else None, contest=contest)
    lang = actor.language
    if actor.role != Role.staff:
        return _page(403, lang, notice=translate(lang, "quick.not_staff"))
    try:
        choices = db.run(leaderboard.my_contests, write=False, actor=actor)
        if contest is not None and _contest_param(contest) is None:
            return _page(400, lang, notice=translate(lang, "quick.bad_contest"), contests=choices)
        if contest is None and not choices:
            return _page(200, lang, notice=translate(lang, "contests.none_for_me"))
        contest_id = next(iter(choices)) if contest is None else int(contest)
        last_week = False
        if contest_id in choices:  # the shared boards are only read for one of the viewer's contests
            boards, last_week = board_cache.standing_boards(contest_id, clock.today())
            me = db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=contest_id, **boards)
        else:  # the service refuses (and audits) a contest this staff member is not in
            me = db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=contest_id)
    except PortalError as exc:
        return _page(STATUS.get(type(exc), 400), lang, notice=translate(lang, exc.key, **exc.params))
    return _page(200, lang, view=ranking_card.card(me, lang=lang, last_week=last_week),
                 rows=ranking_card.board_rows(me, actor.staff_id).itertuples(), contests=choices,
                 contest_id=contest_id, name=actor.display_name)


def _response(shown: tuple[int, str]) -> Response:
    return HTMLResponse(shown[1], status_code=shown[0], headers=HEADERS)


def _same_origin(request: Request) -> bool:
    """A sign-in or sign-out form posted from another site is refused (login CSRF): the
    origin must be this server as addressed, or the public address behind the bank's proxy."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    ours = {request.headers.get("host", ""), urlsplit(get_settings().public_url).netloc} - {""}
    return urlsplit(origin).netloc in ours


async def _form(request: Request) -> tuple[int, dict[str, str]]:
    """(200, fields), or (413, {}) for a body over MAX_FORM_BYTES, (400, {}) for more fields
    than the form has."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return 413, {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:
        return 400, {}
    return 200, {k: v[0] for k, v in fields.items()}


async def page(request: Request) -> Response:
    contest = request.query_params.get("contest")
    return _response(await run_in_threadpool(ranking, request.cookies.get(session_cookie.COOKIE_NAME), contest))


async def signin(request: Request) -> Response:
    if not _same_origin(request):
        return _response(signin_page(status=403))
    status, form = await _form(request)
    if status != 200:
        return _response(signin_page(status=status))
    contest = _contest_param(form.get("contest"))
    lang = get_settings().default_language
    try:
        result = await run_in_threadpool(db.run, auth.login, username=form.get("username", "")[:64],
                                         password=form.get("password", "")[:128])
        token = await run_in_threadpool(db.run, auth.exchange_handoff, code=result.handoff) if result.ok else None
    except PortalError as exc:
        return _response(signin_page(error=translate(lang, exc.key, **exc.params), status=503, contest=contest))
    if token is None:
        return _response(signin_page(error=translate(lang, "auth.invalid"), status=401, contest=contest))
    # Back to the contest a robot's link named, if any.
    target = f"{QUICK_PATH}?contest={contest}" if contest else QUICK_PATH
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    session_cookie.set_cookie(response, token)
    return response


async def signout(request: Request) -> Response:
    if not _same_origin(request):
        return _response(signin_page(status=403))
    await run_in_threadpool(db.run, auth.logout, token=request.cookies.get(session_cookie.COOKIE_NAME))
    response = RedirectResponse(QUICK_PATH, status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(session_cookie.COOKIE_NAME, path="/")
    return response


ROUTES = [Route(QUICK_PATH, page, methods=["GET"]), Route(SIGNIN_PATH, signin, methods=["POST"]),
          Route(SIGNOUT_PATH, signout, methods=["POST"])]
