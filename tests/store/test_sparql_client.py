"""The SPARQL client against real stores and a recording endpoint."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse

import pytest

from kimaisync.errors import SparqlQueryError, SparqlUnavailableError, is_retryable
from kimaisync.sparql.client import SparqlClient
from kimaisync.triplestores import free_port


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length", 0))
        body = urllib.parse.parse_qs(self.rfile.read(length).decode())
        type(self).seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": [
            {"x": {"type": "typed-literal", "value": "5", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]}}).encode())

    def log_message(self, *a):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    _Recorder.status = 200
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Recorder
    srv.shutdown()
    srv.server_close()


def test_posts_form_encoded_with_scope_header_and_explicit_update(recorder):
    url, rec = recorder
    c = SparqlClient(url + "/sparql", url + "/update", scope="http://services.redpencil.io/timekeeper-kimai-sync-service")
    rows = c.select_terms("SELECT ?x WHERE { ?x ?p ?o }")
    # A text SPARQLWrapper would sniff as an ASK ("t-ask-s") must still go out as an update.
    c.update("WITH <http://example.org/tasks> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }")
    q, u = rec.seen
    assert q["path"] == "/sparql" and "query" in q["body"]
    assert u["path"] == "/update" and "update" in u["body"]
    for r in (q, u):
        assert r["headers"]["mu-auth-scope"] == "http://services.redpencil.io/timekeeper-kimai-sync-service"
        assert r["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert rows[0]["x"].type == "literal" and rows[0]["x"].value == "5"  # typed-literal accepted
    assert c.queries == 1 and c.updates == 1


def test_no_scope_header_when_unset(recorder):
    url, rec = recorder
    SparqlClient(url + "/sparql").select("SELECT * WHERE { ?s ?p ?o }")
    assert "mu-auth-scope" not in rec.seen[0]["headers"]


def test_unreachable_store_is_a_retryable_unavailable_error():
    sleeps = []
    c = SparqlClient(f"http://127.0.0.1:{free_port()}/sparql", retries=2, sleep=sleeps.append, timeout=2)
    with pytest.raises(SparqlUnavailableError, match="cannot reach the triplestore"):
        c.ask("ASK {}")
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]  # retried with backoff, then gave up
    assert c.queries == 3


def test_server_error_is_retried(recorder):
    url, rec = recorder
    rec.status = 503
    c = SparqlClient(url + "/sparql", retries=1, sleep=lambda s: None)
    with pytest.raises(SparqlUnavailableError) as info:
        c.select("SELECT * WHERE { ?s ?p ?o }")
    assert is_retryable(info.value) and len(rec.seen) == 2


def test_malformed_query_is_not_retried(store):
    c = store.client(sleep=lambda s: pytest.fail("must not retry"))
    with pytest.raises(SparqlQueryError, match="malformed"):
        c.select("SELECT ?x WHERE { ?x }")
    assert c.queries == 1


def test_large_insert_is_split_in_batches(store):
    c = store.client()
    triples = [f"<http://example.org/s{i}> <http://example.org/p> {i} ." for i in range(2500)]
    assert c.insert_data(triples, graph="http://mu.semte.ch/graphs/kimai") == 2500
    assert c.updates == 3  # 1000 + 1000 + 500: under Virtuoso's ~1,400-triple limit
    n = c.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://mu.semte.ch/graphs/kimai> { ?s <http://example.org/p> ?o } }")
    assert n[0]["n"] == "2500"


def test_ask(store):
    c = store.client()
    assert c.ask("ASK { }") is True
    assert c.ask("ASK { <http://example.org/nothing> ?p ?o }") is False
