"""SPARQL client over SPARQLWrapper, with the traps of real stores handled.

- Always POST, URL-encoded (`query=` / `update=`): long GET URLs are truncated by Virtuoso
  and refused by Oxigraph, and raw `application/sparql-query` bodies hang Virtuoso.
- Updates are marked as updates explicitly: SPARQLWrapper guesses the query type from
  keywords and mistakes `WITH <.../tasks> DELETE` for an ASK.
- A timeout on every call (SPARQLWrapper has none by default).
- The `mu-auth-scope` header on every call, so mu-authorization applies the sync's grants.
- Results parsed from both JSON spellings (`literal` with `datatype`, and `typed-literal`).
- Large INSERT DATA split in batches (Virtuoso refuses more than about 1,400 triples).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

from SPARQLWrapper import JSON, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper import SPARQLExceptions

from kimaisync.errors import SparqlQueryError, SparqlUnavailableError
from kimaisync.rdf.vocab import PREFIXES
from kimaisync.retry import call_with_retry
from kimaisync.sparql.escape import uri as _uri

log = logging.getLogger("kimaisync.sparql")

DEFAULT_BATCH_TRIPLES = 1000  # below Virtuoso's ~1,426-triple limit per INSERT DATA


@dataclass(frozen=True)
class Term:
    """One RDF term from a result row."""

    type: str  # "uri" | "literal" | "bnode"
    value: str
    datatype: str | None = None
    lang: str | None = None


def _term(raw: dict[str, str]) -> Term:
    kind = raw.get("type", "")  # SPARQL JSON results always give it
    if kind == "typed-literal":  # Virtuoso's spelling of the old JSON draft
        kind = "literal"
    return Term(kind, raw.get("value", ""), raw.get("datatype"), raw.get("xml:lang"))


class SparqlClient:
    """Query and update a SPARQL 1.1 endpoint; one instance is safe to share between threads."""

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        *,
        scope: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        sleep=time.sleep,
    ):
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.scope = scope
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep
        self._lock = threading.Lock()
        self.queries = 0
        self.updates = 0

    @classmethod
    def from_settings(cls, settings) -> "SparqlClient":
        return cls(settings.sparql_query_url, settings.sparql_update_url,
                   scope=settings.default_mu_auth_scope, timeout=settings.sparql_timeout)

    def __repr__(self) -> str:
        return f"SparqlClient(query={self.query_url!r}, update={self.update_url!r}, scope={self.scope!r})"

    @property
    def round_trips(self) -> int:
        return self.queries + self.updates

    # ------------------------------------------------------------------ transport

    def _wrapper(self, text: str, *, is_update: bool) -> SPARQLWrapper:
        sw = SPARQLWrapper(self.query_url, updateEndpoint=self.update_url)
        sw.setMethod(POST)
        sw.setRequestMethod(URLENCODED)
        sw.setTimeout(max(1, int(round(self.timeout))))
        sw.setOnlyConneg(True)
        if self.scope:
            sw.addCustomHttpHeader("mu-auth-scope", self.scope)
        with warnings.catch_warnings():  # its keyword sniffing warns on texts it cannot classify
            warnings.simplefilter("ignore", RuntimeWarning)
            sw.setQuery(text)
        if is_update:
            sw.queryType = "INSERT"  # force update routing; the sniffing guess is unreliable
        else:
            sw.queryType = "SELECT"
            sw.setReturnFormat(JSON)
            sw.addCustomHttpHeader("Accept", "application/sparql-results+json")
        return sw

    def _run_once(self, text: str, *, is_update: bool):
        sw = self._wrapper(text, is_update=is_update)
        what = "update" if is_update else "query"
        endpoint = self.update_url if is_update else self.query_url
        t0 = time.perf_counter()
        try:
            result = sw.query()
            body = result.response.read()
        except SPARQLExceptions.QueryBadFormed as e:
            raise SparqlQueryError(f"{endpoint} rejected the {what} as malformed: {_short(e)}") from None
        except SPARQLExceptions.Unauthorized as e:
            raise SparqlQueryError(f"{endpoint} refused the {what} (401): check credentials/scope: {_short(e)}") from None
        except SPARQLExceptions.EndPointNotFound as e:
            raise SparqlQueryError(f"{endpoint} not found (404): check MU_SPARQL_ENDPOINT: {_short(e)}") from None
        except SPARQLExceptions.EndPointInternalError as e:
            raise SparqlUnavailableError(f"{endpoint} failed the {what} (500): {_short(e)}") from None
        except SPARQLExceptions.SPARQLWrapperException as e:
            raise SparqlQueryError(f"{endpoint} error on {what}: {_short(e)}") from None
        except urllib.error.HTTPError as e:
            if e.code >= 500:
                raise SparqlUnavailableError(f"{endpoint} answered {e.code} to the {what}") from None
            if e.code == 403:
                raise SparqlQueryError(f"{endpoint} refused the {what} (403): does the store grant SPARQL updates/the scope?") from None
            raise SparqlQueryError(f"{endpoint} answered {e.code} to the {what}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise SparqlUnavailableError(f"cannot reach the triplestore at {endpoint}: {reason}") from None
        finally:
            with self._lock:
                if is_update:
                    self.updates += 1
                else:
                    self.queries += 1
        log.debug("sparql %s %d chars in %.0f ms", what, len(text), (time.perf_counter() - t0) * 1000)
        if is_update:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise SparqlUnavailableError(f"{endpoint} answered the query with a body that is not JSON") from None

    def _run(self, text: str, *, is_update: bool):
        def on_retry(exc: BaseException, attempt: int, delay: float) -> None:
            log.warning("triplestore failed (%s); retry %d/%d in %.1fs", exc, attempt, self.retries, delay)

        return call_with_retry(lambda: self._run_once(text, is_update=is_update), attempts=self.retries + 1,
                               sleep=self._sleep, on_retry=on_retry)

    # ------------------------------------------------------------------ public face

    def select_terms(self, query: str) -> list[dict[str, Term]]:
        """Run a SELECT (the common prologue is prepended); rows map variable → Term."""
        data = self._run(PREFIXES + query, is_update=False)
        rows = data.get("results", {}).get("bindings", []) if isinstance(data, dict) else []
        return [{k: _term(v) for k, v in row.items()} for row in rows]

    def select(self, query: str) -> list[dict[str, str]]:
        """Run a SELECT; rows map variable → the term's value as a string."""
        data = self._run(PREFIXES + query, is_update=False)
        rows = data.get("results", {}).get("bindings", []) if isinstance(data, dict) else []
        return [{k: v.get("value", "") for k, v in row.items()} for row in rows]

    def ask(self, query: str) -> bool:
        data = self._run(PREFIXES + query, is_update=False)
        if not isinstance(data, dict) or "boolean" not in data:
            raise SparqlQueryError("the store answered an ASK without a boolean")
        return bool(data["boolean"])

    def update(self, text: str) -> None:
        """Run one update request (several operations may be joined with `;`)."""
        self._run(PREFIXES + text, is_update=True)

    def insert_data(self, triples: Iterable[str], *, graph: str | None = None,
                    batch: int = DEFAULT_BATCH_TRIPLES) -> int:
        """INSERT DATA the given triple lines (each `s p o .`), in requests of at most `batch`."""
        sent = 0
        for chunk in chunked(triples, batch):
            body = "\n".join(chunk)
            if graph:
                body = f"GRAPH {_uri(graph)} {{\n{body}\n}}"
            self.update(f"INSERT DATA {{\n{body}\n}}")
            sent += len(chunk)
        return sent


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."


__all__ = ["SparqlClient", "Term", "chunked"]
