"""``/api/tags``: list names, find tags, create a tag (timesheets only attach existing tags)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from .. import serialize
from ..auth import Authenticator
from ..body import form_data
from ..errors import ValidationFailed, forbidden
from ..permissions import has
from ..state import EmuTag, EmuUser, KimaiState
from . import contains, ok, text_sort_key

_TAG_FIELDS = ("name", "color", "visible")


def _tag(tag: EmuTag) -> dict[str, object]:
    return {"id": tag.id, "name": tag.name, "color": tag.color,
            "color-safe": serialize.color_safe(tag.color, tag.name), "visible": tag.visible}


def router(state: KimaiState, auth: Authenticator) -> APIRouter:
    routes = APIRouter()

    @routes.get("/tags")
    async def tag_names(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Deprecated in Kimai but still served: visible tag names, sorted, ``name`` filters."""
        term = request.query_params.get("name") or None
        with state.lock:
            names = [t.name for t in state.tags.values() if t.visible and (term is None or contains(term, t.name))]
        return ok(sorted(names, key=text_sort_key))

    @routes.get("/tags/find")
    async def find_tags(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Tag objects whose name contains ``name``; without ``name`` the answer is ``[]``."""
        term = request.query_params.get("name") or None
        if term is None:
            return ok([])
        with state.lock:
            found = [t for t in state.tags.values() if contains(term, t.name)]
        return ok([_tag(t) for t in sorted(found, key=lambda t: text_sort_key(t.name))])

    @routes.post("/tags")
    async def create_tag(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Kimai submits this form clearing missing fields: an omitted ``visible`` is false."""
        if not (has(caller, "create_tag") or has(caller, "manage_tag")):
            raise forbidden()
        data = await form_data(request)
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else None
        children: dict[str, list[str]] = {field: [] for field in _TAG_FIELDS}
        global_errors = ["This form should not contain extra fields."] if set(data) - set(_TAG_FIELDS) else []
        with state.lock:
            if not name:
                children["name"].append("This value should not be blank.")
            elif "," in name:
                children["name"].append("This value is not valid.")
            elif any(t.name == name for t in state.tags.values()):
                children["name"].append("This value is already used.")
            if global_errors or any(children.values()):
                raise ValidationFailed(global_errors, children)
            color = data.get("color") if isinstance(data.get("color"), str) else None
            tag = state.add_tag(name, color=color, visible=data.get("visible") not in (None, False))
            return ok(_tag(tag))

    return routes
