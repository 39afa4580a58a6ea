"""The image's HEALTHCHECK: `python -m kimaisync.healthcheck` exits 0 when serve answers.

Healthy: the receiver answers HTTP on RECEIVER_PORT (any answer below 500: it has no route of its
own for this), and, when serve runs Prefect's server itself (no PREFECT_API_URL), that server's
open /api/health answers 200. One line on stdout says which part failed.
"""

from __future__ import annotations

import os
import sys

import httpx


def main() -> int:
    port = int(os.environ.get("RECEIVER_PORT", "8080"))
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        if answer.status_code >= 500:
            print(f"receiver on port {port} answered {answer.status_code}")
            return 1
    except httpx.HTTPError as err:
        print(f"receiver on port {port}: {type(err).__name__}")
        return 1
    if not os.environ.get("PREFECT_API_URL"):
        prefect_port = int(os.environ.get("PREFECT_SERVER_API_PORT", "4200"))
        try:
            health = httpx.get(f"http://127.0.0.1:{prefect_port}/api/health", timeout=5)
        except httpx.HTTPError as err:
            print(f"Prefect server on port {prefect_port}: {type(err).__name__}")
            return 1
        if health.status_code != 200:
            print(f"Prefect server on port {prefect_port}: /api/health answered {health.status_code}")
            return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
