"""The dashboard's session: trade a bearer token for an HttpOnly cookie, once per browser.

Browsers cannot put an ``Authorization`` header on ``<img>`` or ``EventSource`` requests; a
cookie rides along instead, so no token ever travels in a URL (where proxies and access
logs would keep it). The cookie is valid for reads only (GET and HEAD, see
:class:`~camvault.web.security.Auth`); writes always carry the token in a header.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict

from camvault.web.security import SESSION_COOKIE, Auth, session_value

__all__ = ["SESSION_DAYS", "router"]

SESSION_DAYS = 30
"""How long a dashboard stays signed in (the cookie ends sooner if the token changes)."""

router = APIRouter(prefix="/api", tags=["session"])


class Session(BaseModel):
    """What a session allows, and whether a cookie was set (none on a server without token)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "read", "cookie": True}]})

    role: Literal["read", "write"]
    cookie: bool


@router.post("/session", summary="Sign the dashboard in: a session cookie for this token")
async def start_session(request: Request, response: Response) -> Session:
    """Check the bearer token and set the session cookie (HttpOnly, SameSite=Strict)."""
    auth: Auth = request.app.state.auth
    if not auth.enabled:
        return Session(role="write", cookie=False)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HTTPException(
            status_code=401,
            detail="send the token as Authorization: Bearer <token> to start a session",
            headers={"WWW-Authenticate": "Bearer"},
        )
    role = auth.role(request)
    token = value.strip().encode()
    assert role is not None  # auth.role raises for a wrong token
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token, role),
        max_age=SESSION_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return Session(role=role, cookie=True)


@router.delete("/session", status_code=204, summary="Sign the dashboard out")
async def end_session(response: Response) -> Response:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    response.status_code = 204
    return response
