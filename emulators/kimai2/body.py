"""Request bodies as FOSRest's body listener hands them to Kimai's forms."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from .errors import bad_request


async def form_data(request: Request) -> dict[str, Any]:
    """The submitted fields.

    Only JSON bodies are decoded; any other content type (or an empty body) submits no fields at
    all. Malformed JSON is a 400. A JSON array arrives as index-keyed fields (which the form then
    rejects as extra fields), a bare scalar cannot be decoded into fields and is a 400.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type not in ("application/json", "application/x-json") or not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        raise bad_request() from None
    if isinstance(data, list):
        return {str(index): value for index, value in enumerate(data)}
    if not isinstance(data, dict):
        raise bad_request()
    return data


def _reject_constant(name: str) -> None:
    """``NaN``/``Infinity`` are not JSON (Python accepts them, PHP's decoder does not)."""
    raise ValueError(f"invalid JSON constant {name}")
