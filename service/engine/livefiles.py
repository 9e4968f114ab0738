"""Rule files served live: reloaded off the request path and swapped in with one assignment.

``LiveFiles.reload`` reads every file of a folder, hashes its bytes, and loads, checks and
compiles only the files whose hash changed. The mapping of served rulesets is then replaced
by a new dict in a single assignment: a request that already holds a ``Ruleset`` finishes on
it, the next request gets the new one. A file that fails to load (a refusal, or any other
failure) leaves its last good version serving; its status carries the problems. A file that
disappears is retired only if it is still gone after ``settle`` seconds (an editor that saves
by delete-and-rename brings it back). A file over the size limit is refused unread.

An old version's compiled program is freed when the last request holding it lets go
(``Program.__del__``); durable_rules never releases the GIL, so that cannot interleave with
a decision running on another ruleset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .errors import Problem, RuleFileError
from .model import Ruleset
from .source import FileTooLarge, read_limited

TEST_SUFFIX = ".test.yaml"

State = Literal["serving", "refused", "retired"]
Change = Literal["new", "changed", "unchanged", "refused", "retired"]
Loader = Callable[[Path, bytes], Ruleset]  # raises RuleFileError

log = logging.getLogger("casewise.reload")
_NAME_KEY = re.compile(rb"^(ruleset|playbook):", re.MULTILINE)


def rule_files(path: Path) -> list[Path]:
    """Rule files in a directory (or the file itself), without example-test files."""
    if path.is_file():
        return [path]
    found = [*path.glob("*.yaml"), *path.glob("*.dmn")]  # a DMN model loads as its import
    return sorted(p for p in found if not p.name.endswith(TEST_SUFFIX))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _problem(p: Problem) -> dict[str, Any]:
    return {"path": p.path, "line": p.line, "col": p.col, "message": p.message, "text": str(p)}


@dataclass(frozen=True)
class FileStatus:
    """A rule file's last load: what serves from it, and what the last attempt found."""

    path: str
    name: str | None  # the ruleset it serves or last named; else its file name
    kind: str
    state: State
    version: str | None  # the version serving from this file (also when the last try failed)
    errors: tuple[Problem, ...] = ()
    loaded_at: dt.datetime | None = None  # when ``version`` started serving
    last_attempt_at: dt.datetime | None = None
    attempted: str | None = None  # sha256 of the bytes last tried

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "state": self.state,
            "version": self.version,
            "serving": self.version is not None,
            "loaded_at": _iso(self.loaded_at),
            "last_attempt_at": _iso(self.last_attempt_at),
            "attempted_version": self.attempted,
            "errors": [_problem(p) for p in self.errors],
        }


@dataclass(frozen=True)
class Outcome:
    """What one reload did with one file."""

    path: str
    name: str | None
    change: Change
    version: str | None  # serving after the reload
    errors: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "outcome": self.change,
            "version": self.version,
            "errors": [_problem(p) for p in self.errors],
        }


@dataclass(frozen=True)
class Started:
    """A version that started serving, with the text it was compiled from."""

    name: str
    kind: str
    path: str
    version: str
    content: str
    at: dt.datetime


@dataclass
class Report:
    """One reload: each file's outcome, the versions that started and stopped serving."""

    outcomes: list[Outcome] = field(default_factory=list)
    started: list[Started] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # versions that stopped serving
    seconds: float = 0.0
    swap_seconds: float = 0.0  # building the new mapping and assigning it

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.change == "refused"]

    @property
    def problems(self) -> list[Problem]:
        return [p for o in self.refused for p in o.errors]

    def extend(self, other: Report) -> None:
        self.outcomes.extend(other.outcomes)
        self.started.extend(other.started)
        self.stopped.extend(other.stopped)
        self.seconds += other.seconds


def _stem(path: str) -> str:
    return Path(path).name.split(".")[0]


def _name_position(path: str, data: bytes) -> tuple[int, int]:
    match = _NAME_KEY.search(data)
    if match is None:
        return 1, 1
    return data.count(b"\n", 0, match.start()) + 1, len(match.group(0)) + 2


class LiveFiles:
    """The rulesets served from one folder's files, by name, with each file's status."""

    def __init__(
        self,
        kind: str,
        loader: Loader,
        *,
        check: Callable[[Ruleset], list[Problem]] | None = None,
        settle: float = 0.3,
    ) -> None:
        self.kind = kind
        self.loader = loader
        self.check = check  # more checks on a loaded file (a playbook's kind, its fact queries)
        self.settle = settle
        self.served: dict[str, Ruleset] = {}  # replaced whole, never changed in place
        self._status: dict[str, FileStatus] = {}
        self._by_path: dict[str, Ruleset] = {}
        self._added: dict[str, Ruleset] = {}
        self.unkept: list[Started] = []  # started serving, not yet taken to be kept
        self._lock = threading.Lock()  # one reload at a time

    # reading -------------------------------------------------------------------------------
    def get(self, name: str) -> Ruleset | None:
        return self.served.get(name)

    def names(self) -> list[str]:
        return sorted(self.served)

    def __iter__(self) -> Iterator[Ruleset]:
        served = self.served
        return iter([served[n] for n in sorted(served)])

    def __len__(self) -> int:
        return len(self.served)

    def statuses(self) -> list[FileStatus]:
        """Every file's status, by name then path (refused files of unknown name last)."""
        return sorted(self._status.values(), key=lambda s: (s.name is None, s.name or "", s.path))

    @property
    def problems(self) -> list[Problem]:
        """The problems of every file whose last attempt was refused."""
        return sorted(p for s in self._status.values() if s.state == "refused" for p in s.errors)

    # changing ------------------------------------------------------------------------------
    def add(self, ruleset: Ruleset) -> None:
        """Serve ``ruleset`` whatever the files say (tests, embedding)."""
        with self._lock:
            self._added[ruleset.name] = ruleset
            self.served = {**self.served, ruleset.name: ruleset}

    def forget(self) -> None:
        """Make the next reload load every file again (their dependency, the catalogue, changed)."""
        with self._lock:
            self._status = {p: replace(s, attempted=None) for p, s in self._status.items()}

    def drop(self, name: str, problems: list[Problem]) -> None:
        """Stop serving ``name``: a check that needs the graph refused it after it loaded."""
        with self._lock:
            for path, rs in list(self._by_path.items()):
                if rs.name == name:
                    del self._by_path[path]
                    old = self._status[path]
                    self._status = {
                        **self._status,
                        path: replace(old, state="refused", version=None, errors=tuple(problems)),
                    }
            self.served = {**self._added, **{r.name: r for r in self._by_path.values()}}

    def reload(self, folder: Path) -> Report:
        """Load what changed in ``folder`` (a folder, or one file) and swap it in."""
        with self._lock:
            started = time.perf_counter()
            report = self._reload(folder)
            report.seconds = time.perf_counter() - started
            return report

    def _read(self, files: list[Path]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for file in files:
            try:
                found[str(file)] = read_limited(file)
            except FileTooLarge as exc:  # never read whole: refused with its size
                found[str(file)] = f"\0unreadable: {exc}".encode()
            except FileNotFoundError:
                continue  # deleted between the listing and the read: treated as missing
            except OSError as exc:
                found[str(file)] = f"\0unreadable: {exc}".encode()
        return found

    def _reload(self, folder: Path) -> Report:
        at = now()
        report = Report()
        if not folder.exists():
            files: dict[str, bytes] = {}
        else:
            files = self._read(rule_files(folder))
        gone = [p for p in self._status if p not in files and self._status[p].state != "retired"]
        if gone:
            time.sleep(self.settle)  # an editor may be replacing the file: look again
            files.update(self._read([Path(p) for p in gone if Path(p).exists()]))
        status = dict(self._status)
        by_path = dict(self._by_path)
        owners = {rs.name: path for path, rs in by_path.items()}
        for path in sorted(set(status) - set(files)):
            old = status[path]
            if old.state == "retired":
                continue
            if path in by_path:
                rs = by_path.pop(path)
                owners.pop(rs.name, None)
                report.stopped.append(rs.version)
                status[path] = replace(
                    old, state="retired", version=None, errors=(), last_attempt_at=at
                )
                report.outcomes.append(Outcome(path, rs.name, "retired", None))
            else:
                del status[path]  # a refused file that is gone: nothing served from it
        for path, data in sorted(files.items()):
            digest = hashlib.sha256(data).hexdigest()
            prior = status.get(path)
            if prior is not None and prior.attempted == digest and prior.state != "retired":
                report.outcomes.append(
                    Outcome(path, prior.name, "unchanged", prior.version, prior.errors)
                )
                continue
            serving = by_path.get(path)
            try:
                if data.startswith(b"\0unreadable: "):
                    raise RuleFileError([Problem(path, 1, 1, data[13:].decode())])
                rs = self.loader(Path(path), data)
                found = self.check(rs) if self.check else []
                if found:
                    raise RuleFileError(found)
                owner = owners.get(rs.name)
                if owner is not None and owner != path:
                    line, col = _name_position(path, data)
                    message = (
                        f"{self.kind} '{rs.name}' is already served from {owner}; "
                        f"give this file another name or delete one of the two"
                    )
                    raise RuleFileError([Problem(path, line, col, message)])
            except Exception as exc:  # noqa: BLE001 - any failure refuses this file only
                if isinstance(exc, RuleFileError):
                    errors = tuple(exc.problems)
                else:
                    log.exception("loading %s failed unexpectedly", path)
                    message = (
                        f"the file could not be loaded ({type(exc).__name__}: {exc}); "
                        "its last good version keeps serving — simplify the file, and report "
                        "this as a Casewise bug"
                    )
                    errors = (Problem(path, 1, 1, message[:1000]),)
                # a file never loaded goes by its file name, which a ruleset's name must be
                name = serving.name if serving else (prior.name if prior else _stem(path))
                status[path] = FileStatus(
                    path,
                    name,
                    self.kind,
                    "refused",
                    serving.version if serving else None,
                    errors,
                    prior.loaded_at if (prior and serving) else None,
                    at,
                    digest,
                )
                report.outcomes.append(
                    Outcome(path, name, "refused", serving.version if serving else None, errors)
                )
                continue
            if serving is not None:
                owners.pop(serving.name, None)
                report.stopped.append(serving.version)
            by_path[path] = rs
            owners[rs.name] = path
            status[path] = FileStatus(path, rs.name, self.kind, "serving", rs.version, (), at, at,
                                      digest)  # fmt: skip
            change: Change = "changed" if serving is not None else "new"
            report.outcomes.append(Outcome(path, rs.name, change, rs.version))
            text = data.decode("utf-8", errors="replace")
            report.started.append(Started(rs.name, rs.kind, path, rs.version, text, at))
        swap_started = time.perf_counter()
        served = {**self._added, **{rs.name: rs for rs in by_path.values()}}
        self._by_path = by_path
        self._status = status
        self.served = served  # the swap: one assignment of a new dict
        report.swap_seconds = time.perf_counter() - swap_started
        self.unkept.extend(report.started)
        return report

    def take_started(self) -> list[Started]:
        """Give (and forget) the versions that started serving since the last call."""
        with self._lock:
            taken, self.unkept = self.unkept, []
            return taken
