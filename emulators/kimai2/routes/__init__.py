"""HTTP routes of the emulated ``/api``, one module per Kimai controller family."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def ok(data: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """200 with a JSON body (Kimai answers 200, never 201, for reads and writes alike)."""
    return JSONResponse(data, headers=headers)


def text_sort_key(value: str | None) -> tuple[bool, str]:
    """Order like a case-insensitive SQL collation, NULLs first."""
    return (value is not None, (value or "").casefold())


def contains(term: str, *values: str | None) -> bool:
    """Kimai's ``term`` search: case-insensitive substring of any of the values."""
    needle = term.casefold()
    return any(v is not None and needle in v.casefold() for v in values)
