"""Authentication of API calls, with Kimai's distinct failure shapes.

* ``Authorization: Bearer <token>`` (prefix case-sensitive). Unknown token or disabled user:
  401 with an empty body and a ``WWW-Authenticate`` header (Symfony's access-token failure).
* Legacy ``X-AUTH-USER`` (username or email) + ``X-AUTH-TOKEN`` (the API password): any failure,
  including a disabled account, is 403 ``{"message":"Invalid credentials"}`` from the legacy
  authenticator. Since 2.54 five failures per minute and client address turn into 400. The random
  200-500 ms delay Kimai adds to legacy logins is not emulated (it would only slow tests).
* Nothing usable: 401 ``{"code":401,"message":"Unauthorized"}``.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from fastapi import Request

from .errors import ApiError, bad_request
from .state import EmuUser, KimaiState

_LEGACY_FAILURE_LIMIT = 5
_LEGACY_WINDOW_SECONDS = 60.0
_LEGACY_LIMITER_SINCE = 25400


def _invalid_token(description: str) -> ApiError:
    challenge = f'Bearer error="invalid_token",error_description="{description}"'
    return ApiError(401, b"", {"WWW-Authenticate": challenge})


class Authenticator:
    """FastAPI dependency returning the calling ``EmuUser`` (or raising the Kimai failure).

    It also stores the user id on the request so that the request recorder can log it.
    """

    def __init__(self, state: KimaiState) -> None:
        self.state = state
        self._legacy_failures: dict[str, deque[float]] = defaultdict(deque)

    async def __call__(self, request: Request) -> EmuUser:
        user = self._authenticate(request)
        request.state.auth_user_id = user.id
        return user

    def _authenticate(self, request: Request) -> EmuUser:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            user = self.state.user_by_token(header[len("Bearer "):])
            if user is None:
                raise _invalid_token("Invalid credentials.")
            if not user.enabled:
                raise _invalid_token("Account is disabled.")
            return user
        login, password = request.headers.get("x-auth-user"), request.headers.get("x-auth-token")
        if login is not None and password is not None:
            return self._legacy(login, password, request.client.host if request.client else "")
        raise ApiError(401)

    def _legacy(self, login: str, password: str, client: str) -> EmuUser:
        limited = self.state.config.version_id >= _LEGACY_LIMITER_SINCE
        failures = self._legacy_failures[client]
        now = time.monotonic()
        while failures and now - failures[0] > _LEGACY_WINDOW_SECONDS:
            failures.popleft()
        if limited and len(failures) >= _LEGACY_FAILURE_LIMIT:
            raise bad_request()
        user = self.state.user_by_login(login)
        if user is None or not user.enabled or user.api_password is None or user.api_password != password:
            failures.append(now)
            raise ApiError(403, {"message": "Invalid credentials"})
        return user
