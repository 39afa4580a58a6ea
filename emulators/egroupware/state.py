"""The emulated EGroupware's data: accounts, app tokens, grants, categories, projects, timesheets.

Everything is guarded by ``state.lock`` (re-entrant). Times are whole seconds since the epoch, as
EGroupware stores them; ``clock`` gives "now" and tests replace it to pin it.

Modification times double as ETags (``"<id>:<modified>"``) and as sync-tokens (``<collection
URL><modified>``), so two writes in the same second must not share one: like a database clock
that never runs backwards, every write gets ``max(now, last write + 1)``. The real server has
one-second resolution and can give two edits within a second the same ETag; the emulator does not
reproduce that blind spot because a test of the 412 path would then depend on timing.

Deleted timesheets stay as tombstones (EGroupware keeps them with a "deleted" status when its
history is on, which the sync-token protocol needs to report them as ``null``). Tokens older than
``tombstones_since`` can no longer be answered correctly; such a token is refused (see ``app``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from emulators.kimai2.faults import Faults as _KimaiFaults
from emulators.kimai2.state import RecordedRequest

BASE_PATH = "/egroupware/groupdav.php"

# Labels of timesheet_bo's status list: the API takes and gives the label, not the number.
STATUS_LABELS = {1: "open", 2: "approved", 3: "invoiced"}
DELETED_STATUS = -1


def _now() -> int:
    return int(time.time())


class Faults(_KimaiFaults):
    """The Kimai 2 emulator's fault model (same fields, same seeded draws, so a fault campaign
    drives both the same way), matching EGroupware's timesheet paths and PUT too by default."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw.setdefault("paths_prefix", BASE_PATH + "/")
        kw.setdefault("methods", {"GET", "POST", "PUT", "PATCH", "DELETE"})
        super().__init__(*args, **kw)

    def applies_to(self, method: str, path: str) -> bool:
        return super().applies_to(method, path) and "/timesheet/" in path


@dataclass
class EmuAccount:
    account_id: int
    username: str
    email: str
    password: str | None = None
    enabled: bool = True
    apps: frozenset[str] = frozenset({"timesheet"})


@dataclass
class EmuToken:
    """An app token ``token<id>_<secret>``; ``account_id`` 0 means valid for every user (the
    bearer logs in as whichever user it names)."""

    token_id: int
    secret: str
    account_id: int
    revoked: bool = False
    apps: frozenset[str] | None = None  # None: not limited

    @property
    def value(self) -> str:
        return f"token{self.token_id}_{self.secret}"


@dataclass
class EmuTimesheet:
    id: int
    owner: int
    title: str
    start: int
    duration: int
    created: int
    modified: int
    modifier: int
    description: str | None = None
    quantity: float | None = None
    unitprice: float | None = None
    cat_id: int | None = None
    pm_id: int | None = None
    project: str | None = None  # the free-text project ("project_blur") when there is no pm_id
    pl_id: int | None = None
    status: int | None = None
    paused: int = 0
    customfields: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False

    @property
    def etag(self) -> str:
        return f"{self.id}:{self.modified}"


@dataclass
class Config:
    """``tombstones_since``: sync-tokens before this modification time are refused (the server
    purged deletions older than it). ``hostname`` is used in sync-tokens, which are full URLs."""

    tombstones_since: int = 0
    origin: str = "https://egw.example.org"


class EGroupwareState:
    def __init__(self, *, clock: Callable[[], int] = _now, config: Config | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.config = config or Config()
        self.accounts: dict[int, EmuAccount] = {}
        self.tokens: dict[int, EmuToken] = {}
        # grants[owner] = accounts that may read, add, edit and delete the owner's timesheets
        self.grants: dict[int, set[int]] = {}
        self.categories: dict[int, str] = {}
        self.projects: dict[int, str] = {}  # pm_id -> "number: title", as the API shows it
        self.timesheets: dict[int, EmuTimesheet] = {}
        self.requests: list[RecordedRequest] = []
        self.fault_log: list[tuple[str, str, str]] = []
        self.faults: Faults = Faults()
        # Called (under the lock) as a PUT, PATCH or DELETE of a stored timesheet arrives, before
        # its ETag is checked: tests put a person's own edit exactly between our read and our write.
        self.before_write: Callable[[str, int], None] | None = None
        self._last_write = 0
        self._next_id = 1

    # ------------------------------------------------------------------ set-up

    def add_account(self, username: str, *, password: str | None = None, email: str | None = None,
                    account_id: int | None = None, enabled: bool = True) -> EmuAccount:
        with self.lock:
            aid = account_id or (max(self.accounts, default=4) + 1)
            acc = EmuAccount(aid, username, email or f"{username}@example.org", password, enabled)
            self.accounts[aid] = acc
            return acc

    def add_token(self, secret: str, *, for_account: EmuAccount | None = None,
                  apps: frozenset[str] | None = None) -> EmuToken:
        """A token for one account, or (``for_account=None``) for all users."""
        with self.lock:
            tid = max(self.tokens, default=0) + 1
            tok = EmuToken(tid, secret, for_account.account_id if for_account else 0, apps=apps)
            self.tokens[tid] = tok
            return tok

    def grant(self, owner: EmuAccount, grantee: EmuAccount) -> None:
        with self.lock:
            self.grants.setdefault(owner.account_id, set()).add(grantee.account_id)

    def add_category(self, name: str) -> int:
        with self.lock:
            cid = max(self.categories, default=0) + 1
            self.categories[cid] = name
            return cid

    def add_project(self, title: str) -> int:
        with self.lock:
            pid = max(self.projects, default=0) + 1
            self.projects[pid] = title
            return pid

    # ------------------------------------------------------------------ lookups

    def account_by_name(self, name: str) -> EmuAccount | None:
        """By username or email (EGroupware accepts either for ``owner``), case-insensitively."""
        low = name.casefold()
        with self.lock:
            for acc in self.accounts.values():
                if acc.username.casefold() == low or acc.email.casefold() == low:
                    return acc
        return None

    def may_access(self, actor: EmuAccount, owner_id: int) -> bool:
        return actor.account_id == owner_id or actor.account_id in self.grants.get(owner_id, set())

    def live(self, ts_id: int) -> EmuTimesheet | None:
        ts = self.timesheets.get(ts_id)
        return None if ts is None or ts.deleted else ts

    def owned_by(self, owner_id: int) -> list[EmuTimesheet]:
        with self.lock:
            return [t for t in self.timesheets.values() if t.owner == owner_id]

    # ------------------------------------------------------------------ writes

    def write_time(self) -> int:
        """A modification time later than every earlier one (see the module doc)."""
        with self.lock:
            self._last_write = max(int(self.clock()), self._last_write + 1)
            return self._last_write

    def insert(self, ts: EmuTimesheet) -> EmuTimesheet:
        with self.lock:
            if ts.id <= 0:
                ts = replace(ts, id=self._next_id)
            self._next_id = max(self._next_id, ts.id + 1)
            self._last_write = max(self._last_write, ts.modified)
            self.timesheets[ts.id] = ts
            return ts

    def store(self, ts: EmuTimesheet) -> None:
        with self.lock:
            self.timesheets[ts.id] = ts

    def edit_as(self, ts_id: int, actor: EmuAccount, **changes: Any) -> EmuTimesheet:
        """A person's own edit in the EGroupware UI (tests use it to make our ETag stale)."""
        with self.lock:
            ts = replace(self.timesheets[ts_id], **changes, modified=self.write_time(), modifier=actor.account_id)
            self.timesheets[ts_id] = ts
            return ts

    def delete_as(self, ts_id: int, actor: EmuAccount) -> None:
        with self.lock:
            self.timesheets[ts_id] = replace(self.timesheets[ts_id], deleted=True, modified=self.write_time(),
                                             modifier=actor.account_id)

    def purge_tombstones(self) -> int:
        """Forget every deletion (as a server cleaning its history would): sync-tokens from before
        now are refused from here on. Returns how many tombstones went."""
        with self.lock:
            gone = [k for k, t in self.timesheets.items() if t.deleted]
            for k in gone:
                del self.timesheets[k]
            self.config.tombstones_since = self.write_time()
            return len(gone)

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)
