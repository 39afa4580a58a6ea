"""What the `mu script kimai-sync ...` commands share: POST to one of the service's own routes.

mu-cli runs a script in the service's own image (config.json names no other), on the stack's
network, where the service answers as http://kimai-sync (KIMAI_SYNC_URL overrides it). The body
is sent as the old scripts sent it: strings, `Content-Type: application/vnd.api+json`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def post(path: str, body: dict | None = None) -> int:
    """POST and say what the service answered; 0 when it took the work, 1 otherwise."""
    url = os.environ.get("KIMAI_SYNC_URL", "http://kimai-sync").rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/vnd.api+json"} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            print(f"POST {path}: {answer.status} (the run shows in the Prefect UI and the service's log)")
            return 0
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace").strip()
        print(f"POST {path}: {err.code} {detail}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as err:
        print(f"POST {path}: cannot reach the service at {url}: {err}", file=sys.stderr)
    return 1


def usage(args: list[str], names: list[str], example: str) -> None:
    if len(args) != len(names):
        print(f"usage: mu script kimai-sync {example}", file=sys.stderr)
        sys.exit(2)
