"""``TIMI_CREDENTIALS_FILE``: one JSON object mapping each Timi login e-mail to its API token,
``{"ann@example.org": "abc123"}``.

Timi's tokens are personal and the API documents no way to write another person's entries, so
the sync holds one token per person. The file is a secret: one readable by group or others is
refused, tokens are kept as ``SecretStr``, and no message quotes the file's content.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from pydantic import SecretStr

from kimaisync.errors import ConfigurationError

VARIABLE = "TIMI_CREDENTIALS_FILE"


class TimiCredentials:
    """E-mail (any case) -> token. ``repr`` and ``str`` show the e-mails only."""

    def __init__(self, tokens: dict[str, SecretStr]):
        self._tokens = {email.strip().lower(): token for email, token in tokens.items()}

    def token_for(self, email: str) -> SecretStr | None:
        return self._tokens.get(email.strip().lower())

    @property
    def emails(self) -> list[str]:
        return sorted(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"TimiCredentials(emails={self.emails!r})"


def load_credentials(path: str | os.PathLike[str]) -> TimiCredentials:
    """Read and check the file; a ConfigurationError names what is wrong and what to do."""
    file = Path(path)
    try:
        info = file.stat()
    except FileNotFoundError:
        raise ConfigurationError([f"{VARIABLE}: {file} does not exist (a JSON file such as "
                                  '{"ann@example.org": "<token from her Timi profile>"})']) from None
    except OSError as exc:
        raise ConfigurationError([f"{VARIABLE}: cannot read {file} ({exc.strerror})"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError([f"{VARIABLE}: {file} is not a regular file"])
    if info.st_mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigurationError([
            f"{VARIABLE}: {file} holds API tokens but is open to group or others "
            f"(mode {stat.S_IMODE(info.st_mode):o}): run `chmod 600 {file}` (a compose secret: mode 0400)"])
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigurationError([f"{VARIABLE}: {file} is not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:  # its message names line and column, never the content
        raise ConfigurationError([f"{VARIABLE}: {file} is not valid JSON (line {exc.lineno}, column {exc.colno})"]) from None
    if not isinstance(data, dict):
        raise ConfigurationError([f"{VARIABLE}: {file} must hold one JSON object of e-mail -> token, "
                                  f"not a {type(data).__name__}"])
    problems = []
    tokens: dict[str, SecretStr] = {}
    for email, token in data.items():
        if "@" not in email or email != email.strip():
            problems.append(f"{VARIABLE}: {email!r} is not an e-mail address (the keys are Timi login e-mails)")
        elif not isinstance(token, str) or not token.strip() or any(c.isspace() or ord(c) < 33 or ord(c) > 126
                                                                     for c in token):
            problems.append(f"{VARIABLE}: the token of {email} must be a non-empty string of printable "
                            "ASCII without spaces (copy it from the Timi profile page)")
        elif email.lower() in {e.lower() for e in tokens}:
            problems.append(f"{VARIABLE}: {email} appears twice (e-mails are compared in any case)")
        else:
            tokens[email] = SecretStr(token)
    if problems:
        raise ConfigurationError(problems)
    return TimiCredentials(tokens)
