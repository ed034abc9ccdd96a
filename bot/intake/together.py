"""Leads posted at the same moment, accepted in one transaction (group commit).

Every intake writes a handful of rows and commits; under load the commits, the statements' fixed costs and
(on PostgreSQL) each pool's rotation row, locked from the turn to the commit, are what limit the rate. Here
the request threads that arrive while a transaction is running queue up, and the next transaction takes all
of them (up to `most`): one commit, one turn of each rotation lock and one statement per kind of row for the
whole group (bot.intake.bulk, held to the one-by-one intake's rows by tests/test_import_batches.py). Nothing
waits for company: a lone request is a group of one, at once.

Each request is still answered only after its own lead is committed. If a group's transaction fails (another
instance took one of its people meanwhile, the database dropped the connection), its leads are taken again
one by one, so that each gets its own answer and one lead's problem is not its neighbours'.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.core.clock import Clock
from bot.core.config import Config
from bot.intake.accept import IntakeResult, LeadIn, accept_in, accept_lead
from bot.intake.bulk import accept_new_leads
from store.db import write_session

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    lead: LeadIn
    result: IntakeResult | None = None
    error: BaseException | None = None
    done: bool = False


class GroupIntake:
    def __init__(
        self,
        engine: Engine,
        config: Callable[[], Config],
        clock: Clock,
        *,
        most: int = 50,
        on_group: Callable[[int], None] | None = None,
    ):
        self.engine, self.config, self.clock, self.most = engine, config, clock, most
        self.on_group = on_group  # told each group's size (a metric)
        self._turn = threading.Condition()
        self._queue: list[_Waiting] = []
        self._committing = False

    def accept(self, lead: LeadIn) -> IntakeResult:
        """Store the lead (or the touch on its open twin) as accept_lead does, in whichever group it falls into."""
        me = _Waiting(lead)
        with self._turn:
            self._queue.append(me)
        while True:
            with self._turn:
                # One group at a time per process: the others' leads queue meanwhile and form the next group.
                while not me.done and self._committing:
                    self._turn.wait()
                if me.done:
                    break
                self._committing = True
                group, self._queue = self._queue[: self.most], self._queue[self.most :]
            try:
                self._commit(group)
            finally:
                with self._turn:
                    self._committing = False
                    self._turn.notify_all()
        if me.error is not None:
            raise me.error
        return me.result

    @property
    def waiting(self) -> int:
        """Leads queued for the next group."""
        with self._turn:
            return len(self._queue)

    def _commit(self, group: list[_Waiting]) -> None:
        config = self.config()
        if self.on_group:
            self.on_group(len(group))
        if len(group) == 1:  # nothing to share: the one-by-one intake, with its own retries
            self._one_by_one(config, group)
            return
        try:
            results = self._accept_together(config, [w.lead for w in group])
        except (IntegrityError, DBAPIError) as exc:
            if not isinstance(exc, IntegrityError) and not exc.connection_invalidated:
                self._tell_all(group, exc)  # the database is down: the same answer for each (503)
                return
            # Another instance took one of these people meanwhile, or the connection dropped mid-transaction.
            log.warning("intake: a group of %d met %s; taking them one by one", len(group), type(exc).__name__)
            self._one_by_one(config, group)
            return
        except BaseException as exc:
            self._tell_all(group, exc)
            return
        for waiting, result in zip(group, results, strict=True):
            waiting.result, waiting.done = result, True

    def _one_by_one(self, config: Config, group: list[_Waiting]) -> None:
        for waiting in group:
            try:
                waiting.result = accept_lead(self.engine, config, self.clock, waiting.lead)
            except BaseException as exc:  # this request's own answer; the others go on
                waiting.error = exc
            waiting.done = True

    @staticmethod
    def _tell_all(group: list[_Waiting], error: BaseException) -> None:
        for waiting in group:  # every waiting request hears of it, not only the thread that ran the group
            waiting.error, waiting.done = error, True

    def _accept_together(self, config: Config, leads: list[LeadIn]) -> list[IntakeResult]:
        with write_session(self.engine) as session:
            now = self.clock.now()
            batch = accept_new_leads(session, config, now, leads, alert=True)
            again = {id(lead) for lead in batch.again}
            # The people already open (or twice in the group) after the new ones, as the one-by-one intake would.
            later = {id(lead): accept_in(session, config, now, lead) for lead in leads if id(lead) in again}
        return [
            later[id(lead)] if id(lead) in later else IntakeResult(batch.new[id(lead)][0], True, batch.new[id(lead)][1])
            for lead in leads
        ]
