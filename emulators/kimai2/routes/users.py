"""``/api/users`` (needs ``view_user``, i.e. super admins by default) and ``/api/users/me``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from .. import serialize
from ..auth import Authenticator
from ..errors import forbidden
from ..permissions import has
from ..query import Query
from ..state import EmuUser, KimaiState
from . import contains, ok, text_sort_key

_ENABLED_BY_VISIBLE = {"1": (True,), "2": (False,), "3": (True, False)}


def router(state: KimaiState, auth: Authenticator) -> APIRouter:
    routes = APIRouter()

    @routes.get("/users/me")
    async def me(caller: EmuUser = Depends(auth)) -> JSONResponse:
        return ok(serialize.user_entity(caller))

    @routes.get("/users")
    async def list_users(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Not paginated; ``visible`` maps to the enabled flag; ``full`` adds entity fields."""
        if not has(caller, "view_user"):
            raise forbidden()
        q = Query(request.query_params)
        enabled = _ENABLED_BY_VISIBLE[q.visible()]
        order_by, descending = q.order("id|username|alias|email", "username", "ASC")
        term = q.text("term")
        full = q.flag("full", "0|1|true|false")
        with state.lock:
            users = [u for u in state.users.values()
                     if u.enabled in enabled and (term is None or contains(term, u.username, u.alias, u.email))]
        if order_by == "id":
            users.sort(key=lambda u: u.id, reverse=descending)
        else:
            users.sort(key=lambda u: (text_sort_key(getattr(u, order_by)), u.id), reverse=descending)
        shape = serialize.user_entity if full else serialize.user
        return ok([shape(u) for u in users])

    return routes
