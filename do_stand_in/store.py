"""The stand-in's state: records by collection, issued ids, and timed transitions.

DigitalOcean answers a create at once and finishes the work later: a droplet is ``new``
and becomes ``active``, an action is ``in-progress`` and becomes ``completed``. Here each
such change is a ``Transition`` (when, what kind, which record) run by ``tick`` once it is
due; the server ticks before every request and a background thread ticks in between, so a
client that polls sees the change after the delay, and a delay of 0 makes it due at the
next request. Transitions are data, not closures, so ``--state DIR`` can keep them.

All access holds ``lock``: the HTTP server answers on many threads.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from do_stand_in.errors import not_found

STATE_FILE = "state.json"


@dataclass(frozen=True)
class Delays:
    """Seconds before each asynchronous change is seen (0: at the next request)."""

    droplet: float = 1.0
    """``new`` -> ``active`` after a create."""
    action: float = 1.0
    """``in-progress`` -> ``completed`` of a droplet or image action."""
    load_balancer: float = 1.0
    database: float = 2.0
    """``creating`` -> ``online`` (and a backend may take longer: the cluster is online when it is ready too)."""
    certificate: float = 1.0

    @classmethod
    def all(cls, seconds: float) -> Delays:
        return cls(droplet=seconds, action=seconds, load_balancer=seconds, database=seconds, certificate=seconds)


@dataclass(order=True, frozen=True)
class Transition:
    due: float
    """Wall-clock time (seconds since the epoch): kept across a restart with ``--state``."""
    sequence: int
    kind: str
    key: str


TransitionHandler = Callable[["Store", str], bool | None]
"""Runs a due transition on the record ``key``; returning False asks to be run again later (a backend not ready yet)."""

RETRY_SECONDS = 0.2


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self, delays: Delays, state_dir: Path | None = None, clock: Callable[[], float] = time.time):
        self.delays = delays
        self.state_dir = state_dir
        self.clock = clock
        self.lock = threading.RLock()
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}
        self.transitions: list[Transition] = []
        self.handlers: dict[str, TransitionHandler] = {}
        self._sequence = 0
        if state_dir is not None and (state_dir / STATE_FILE).exists():
            self._load(state_dir / STATE_FILE)

    # Records.
    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        return self.collections.setdefault(name, {})

    def get(self, name: str, key: str | int, what: str | None = None) -> dict[str, Any]:
        record = self.collection(name).get(str(key))
        if record is None:
            raise not_found(what or f"{name} {key}")
        return record

    def put(self, name: str, key: str | int, record: dict[str, Any]) -> dict[str, Any]:
        self.collection(name)[str(key)] = record
        return record

    def remove(self, name: str, key: str | int) -> dict[str, Any]:
        record = self.get(name, key)
        del self.collection(name)[str(key)]
        self.transitions = [transition for transition in self.transitions if not (transition.key == str(key) and transition.kind.startswith(name))]
        heapq.heapify(self.transitions)
        return record

    def values(self, name: str) -> list[dict[str, Any]]:
        return list(self.collection(name).values())

    # Ids: DigitalOcean numbers droplets, images, actions, keys and records; the rest are UUIDs.
    def next_number(self, counter: str, start: int) -> int:
        self.counters[counter] = max(self.counters.get(counter, start - 1) + 1, start)
        return self.counters[counter]

    @staticmethod
    def new_uuid() -> str:
        return str(uuid.uuid4())

    # Transitions.
    def on(self, kind: str, handler: TransitionHandler) -> None:
        self.handlers[kind] = handler

    def schedule(self, delay: float, kind: str, key: str | int) -> None:
        self._sequence += 1
        heapq.heappush(self.transitions, Transition(self.clock() + delay, self._sequence, kind, str(key)))

    def tick(self) -> None:
        """Run every transition that is due, oldest first."""
        with self.lock:
            now = self.clock()
            again = []
            while self.transitions and self.transitions[0].due <= now:
                transition = heapq.heappop(self.transitions)
                if self.handlers[transition.kind](self, transition.key) is False:
                    again.append(transition)
            for transition in again:
                self.schedule(RETRY_SECONDS, transition.kind, transition.key)

    # Persistence (``--state DIR``).
    def save(self) -> None:
        if self.state_dir is None:
            return
        with self.lock:
            document = {"collections": self.collections, "counters": self.counters, "transitions": [[t.due, t.kind, t.key] for t in sorted(self.transitions)]}
            self.state_dir.mkdir(parents=True, exist_ok=True)
            temporary = self.state_dir / (STATE_FILE + ".new")
            temporary.write_text(json.dumps(document))
            temporary.chmod(0o600)  # database passwords are in it, as they are in the API's answers
            temporary.replace(self.state_dir / STATE_FILE)

    def _load(self, path: Path) -> None:
        document = json.loads(path.read_text())
        self.collections = document["collections"]
        self.counters = document["counters"]
        for due, kind, key in document["transitions"]:
            self._sequence += 1
            heapq.heappush(self.transitions, Transition(due, self._sequence, kind, key))
