"""Kimai 2 REST client: `KimaiClient`, the record models and Kimai's datetime formats."""

from kimaisync.trackers.kimai2.client import KimaiClient, parse_retry_after, parse_validation_details
from kimaisync.trackers.kimai2.models import (
    KimaiActivity,
    KimaiCustomer,
    KimaiProject,
    KimaiTimesheet,
    KimaiUser,
    TimesheetWrite,
)
from kimaisync.trackers.kimai2.timefmt import format_local, format_query, parse_kimai_datetime

__all__ = [
    "KimaiClient",
    "KimaiActivity",
    "KimaiCustomer",
    "KimaiProject",
    "KimaiTimesheet",
    "KimaiUser",
    "TimesheetWrite",
    "format_local",
    "format_query",
    "parse_kimai_datetime",
    "parse_retry_after",
    "parse_validation_details",
]
