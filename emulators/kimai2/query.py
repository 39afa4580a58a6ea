"""Reading query parameters the way FOSRest's ParamFetcher does for Kimai.

Declared parameters with a requirement are strict: a value that does not fully match the
(case-sensitive) pattern is a 400. Undeclared parameters are simply never read -- which is why
``?page=2&size=10`` has no effect on the unpaginated list endpoints. An empty value counts as
absent. For repeated parameters the last one wins, as in PHP; lists use the ``name[]`` form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from starlette.datastructures import QueryParams

from .errors import bad_request

_T = TypeVar("_T")


class Query:
    def __init__(self, params: QueryParams) -> None:
        self.params = params

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value else None

    def match(self, name: str, pattern: str) -> str | None:
        value = self.text(name)
        if value is not None and not re.fullmatch(pattern, value):
            raise bad_request()
        return value

    def flag(self, name: str, pattern: str = "0|1") -> bool | None:
        """``1``/``true`` -> True, ``0``/``false`` -> False, absent -> None."""
        value = self.match(name, pattern)
        return None if value is None else value in ("1", "true")

    def ids(self, single: str | None, listed: str) -> set[int]:
        """Union of ``single=<id>`` and ``listed=<id>...`` (e.g. ``project`` and ``projects[]``)."""
        values = [v for v in self.params.getlist(listed) if v]
        value = self.text(single) if single else None
        if value is not None:
            values.append(value)
        if any(not v.isdigit() for v in values):
            raise bad_request()
        return {int(v) for v in values}

    def parsed(self, name: str, parse: Callable[[str], _T]) -> _T | None:
        """Apply ``parse`` (which raises ValueError on bad input) to the value, if present."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise bad_request() from None

    def visible(self) -> str:
        """Kimai's ``visible`` filter: 1 = visible (default), 2 = hidden, 3 = both."""
        return self.match("visible", "1|2|3") or "1"

    def order(self, fields: str, default_field: str, default_order: str) -> tuple[str, bool]:
        """(orderBy, descending) with the endpoint's allowed ``orderBy`` values."""
        order_by = self.match("orderBy", fields) or default_field
        order = self.match("order", "ASC|DESC") or default_order
        return order_by, order == "DESC"

