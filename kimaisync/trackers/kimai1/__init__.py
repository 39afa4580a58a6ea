"""Kimai 1 (JSON-RPC remote API, ``core/json.php``): client, record models, credentials file."""

from kimaisync.trackers.kimai1.client import Kimai1Client, Kimai1Session, NoCredential
from kimaisync.trackers.kimai1.credentials import load_credentials
from kimaisync.trackers.kimai1.models import K1Customer, K1Entry, K1EntryWrite, K1Project, K1Task, K1User, format_time

__all__ = ["K1Customer", "K1Entry", "K1EntryWrite", "K1Project", "K1Task", "K1User", "Kimai1Client",
           "Kimai1Session", "NoCredential", "format_time", "load_credentials"]
