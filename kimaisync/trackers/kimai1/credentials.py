"""``KIMAI1_CREDENTIALS_FILE``: each person's Kimai 1 password, one JSON object ``{"ann": "s3cret"}``.

Kimai 1 writes a record as the key's own user and lists only that user's records, so each
person's work logs need that person's login. The file is a secret: it is refused when others may
read it (or anyone but its owner may write it), and no password ever reaches a log, an error or
a repr (pydantic ``SecretStr``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from pydantic import SecretStr

from kimaisync.errors import ConfigurationError


def load_credentials(path: str | os.PathLike[str]) -> dict[str, SecretStr]:
    """Username -> password; a ConfigurationError saying what is wrong and what to do."""
    where = f"KIMAI1_CREDENTIALS_FILE ({path})"
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise ConfigurationError([f"{where}: no such file"]) from None
    except OSError as exc:
        raise ConfigurationError([f"{where}: cannot be read ({exc.strerror})"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError([f"{where}: not a regular file"])
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IWGRP):
        raise ConfigurationError([f"{where}: readable or writable by others (mode {stat.S_IMODE(info.st_mode):03o}); "
                                  "it holds passwords: chmod 600 it (or 640 for a group of its own)"])
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError([f"{where}: cannot be read ({exc.strerror})"]) from None
    except ValueError as exc:
        # the position only: the message of a JSON error can quote the text, i.e. a password
        line = getattr(exc, "lineno", "?")
        raise ConfigurationError([f"{where}: not valid JSON (line {line}); expected one object "
                                  '{"username": "password", ...}']) from None
    if not isinstance(data, dict):
        raise ConfigurationError([f"{where}: expected one JSON object {{\"username\": \"password\", ...}}"])
    problems = []
    out: dict[str, SecretStr] = {}
    for name, password in data.items():
        if not name.strip():
            problems.append(f"{where}: an empty username")
        elif not isinstance(password, str) or not password:
            problems.append(f"{where}: the password of {name!r} is not a non-empty string")
        else:
            out[name] = SecretStr(password)
    if problems:
        raise ConfigurationError(problems)
    return out
