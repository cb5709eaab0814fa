"""HTTP routes that move the log-in into an HttpOnly cookie, so a page refresh keeps the
user signed in while the session stays revocable on the server."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from portal import auth, db
from portal.settings import get_settings

COOKIE_NAME = "pp_session"
LOGIN_PATH = "/portal-auth/session"
LOGOUT_PATH = "/portal-auth/logout"


async def exchange(request: Request) -> Response:
    code = (await request.body()).decode("utf-8", "replace")[:200]
    token = await run_in_threadpool(db.run, auth.exchange_handoff, code=code)
    if token is None:
        return Response(status_code=400)
    response = Response(status_code=204)
    set_cookie(response, token)
    return response


def set_cookie(response: Response, token: str) -> None:
    """The session token as an HttpOnly, same-site cookie for the whole origin."""
    settings = get_settings()
    response.set_cookie(COOKIE_NAME, token, max_age=settings.session_max_hours * 3600, path="/",
                        httponly=True, samesite="strict", secure=settings.cookie_secure)


async def clear(request: Request) -> Response:
    await run_in_threadpool(db.run, auth.logout, token=request.cookies.get(COOKIE_NAME))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
