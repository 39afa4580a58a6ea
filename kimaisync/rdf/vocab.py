"""The RDF vocabulary Timekeeper uses: prefixes, classes, predicates and constant concepts.

Names follow the Timekeeper model (see the team's model reference). Every query declares the
same prologue once at the top, because Oxigraph rejects a PREFIX after `;` in an update.
"""

from __future__ import annotations

NS = {
    "mu": "http://mu.semte.ch/vocabularies/core/",
    "prov": "http://www.w3.org/ns/prov#",
    "dct": "http://purl.org/dc/terms/",
    "ui": "http://www.w3.org/ns/ui#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "wf": "http://www.w3.org/2005/01/wf/flow#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "doap": "http://usefulinc.com/ns/doap#",
    "time": "http://www.w3.org/2006/time#",
    "adms": "http://www.w3.org/ns/adms#",
    "cal": "http://www.w3.org/2002/12/cal/ical#",
    "ext": "http://mu.semte.ch/vocabularies/ext/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

PREFIXES = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in NS.items()) + "\n"


def iri(curie: str) -> str:
    """Expand `cal:Vevent` to its full IRI."""
    prefix, local = curie.split(":", 1)
    return NS[prefix] + local


def curie(full: str) -> str:
    """`cal:Vevent` for its full IRI; `<iri>` when no prefix fits."""
    for prefix, ns in NS.items():
        if full.startswith(ns):
            return f"{prefix}:{full[len(ns):]}"
    return f"<{full}>"


XSD_DATE = iri("xsd:date")
XSD_DATETIME = iri("xsd:dateTime")
XSD_INTEGER = iri("xsd:integer")
XSD_BOOLEAN = iri("xsd:boolean")
XSD_STRING = iri("xsd:string")

# Classes
VEVENT = iri("cal:Vevent")
TASK = iri("wf:Task")
PROJECT = iri("doap:Project")
KIMAI_ACTIVITY = iri("ext:KimaiActivity")
ORGANIZATION = iri("prov:Organization")
ONLINE_ACCOUNT = iri("foaf:OnlineAccount")
PERSON = iri("foaf:Person")
COLLECTION = iri("skos:Collection")

# Predicates the work-log delta rules watch (the old service's delta rules).
WORK_LOG_PREDICATES = frozenset({
    iri("cal:duration"),
    iri("cal:dtstart"),
    iri("prov:wasAssociatedWith"),
    iri("dct:subject"),
})
RDF_TYPE = iri("rdf:type")


class TimesheetStatus:
    """The four timesheet status concepts (adms:status)."""

    DRAFT = "http://timekeeper.redpencil.io/concepts/f1fa3569-7f98-47a9-b03b-90b42e9f3c52"
    ABSENCE_SUBMITTED = "http://timekeeper.redpencil.io/concepts/01ddb33a-a15b-49d6-8422-bc78123db966"
    SUBMITTED = "http://timekeeper.redpencil.io/concepts/8ba56847-1713-478c-aa63-6eace21b3adf"
    EXPORTED = "http://timekeeper.redpencil.io/concepts/9d50b644-3d61-4a9d-b3a9-0b27f4f1d566"

    LABELS = {
        DRAFT: "DRAFT",
        ABSENCE_SUBMITTED: "ABSENCE_SUBMITTED",
        SUBMITTED: "SUBMITTED",
        EXPORTED: "EXPORTED",
    }

    @classmethod
    def label(cls, uri: str | None) -> str:
        return cls.LABELS.get(uri or "", f"unknown status <{uri}>" if uri else "no status")
