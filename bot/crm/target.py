"""A CRM as a delivery target: each queued change (bot/crm/changes.py) written through the CRM's connector.

The relay hands over one row at a time, in order per lead; this module reads the lead as it is, makes sure
its record exists (found by email, else created), then writes the change. How it went is the relay's
vocabulary: Delivered, TryAgain (rate limits wait the CRM's own time; an answer lost is looked for before the
next attempt creates anything) or Refused (the CRM's own words, reported to the managers once per cause).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm.changes import Change
from bot.crm.records import (
    ActivityWrite,
    CrmBusy,
    CrmConnector,
    CrmRecord,
    CrmRefused,
    CrmUnavailable,
    DealWrite,
    RecordUpdate,
)
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.delivery.relay import Delivered, Outcome, Refused, RetryPolicy, TryAgain
from bot.slack.handoff import deal_in_crm_reply
from store import handoff as handoff_store
from store import leads as lead_store
from store.db import read_session, write_session
from store.models import Lead, OutboxMessage, Stage

log = logging.getLogger(__name__)

OUTAGE_PAUSE = timedelta(seconds=5)
CREATES = frozenset({Change.RECORD, Change.TOUCH, Change.STAGE, Change.DEAL})


class CrmTarget:
    def __init__(self, engine: Engine, clock: Clock, config: Config, connector: CrmConnector, retry: RetryPolicy):
        self.engine, self.clock, self.config, self.connector, self.retry = engine, clock, config, connector, retry
        # After a 429 nothing is sent to this CRM until its window has passed (other rows wait without a call).
        self._quiet_until: datetime | None = None
        self._quiet_lock = threading.Lock()

    def worth_looking_for(self, row: OutboxMessage) -> bool:
        return row.method in CREATES  # an owner or status update can simply be written again

    def deliver(self, row: OutboxMessage, in_doubt: bool) -> Outcome:
        now = self.clock.now()
        with self._quiet_lock:
            if self._quiet_until and now < self._quiet_until:
                wait = (self._quiet_until - now).total_seconds()
                return TryAgain(f"{self.connector.label} is rate-limiting or down; waiting", wait=wait)
        try:
            self._write(row, look_first=in_doubt)
        except CrmBusy as busy:
            with self._quiet_lock:
                self._quiet_until = now + timedelta(seconds=busy.wait)
            return TryAgain(str(busy), wait=busy.wait)
        except CrmUnavailable as down:
            # The other rows of this pass wait too, instead of each waiting out a timeout of its own.
            with self._quiet_lock:
                self._quiet_until = now + OUTAGE_PAUSE
            return TryAgain(str(down), in_doubt=in_doubt or (down.in_doubt and self.worth_looking_for(row)))
        except CrmRefused as refused:
            return Refused(f"{self.connector.label} refused it ({refused.cause}): {refused.message}")
        return Delivered()

    def deliver_together(self, rows: list[OutboxMessage]) -> dict[int, Outcome]:
        """Owner updates of leads whose record is known, in the CRM's batch API: a deep queue (a mass
        reassignment, an import) drains in a few calls instead of one per lead. Rows left out of the answer
        go one by one (deliver), as does the whole batch when the CRM refuses it as a whole."""
        now = self.clock.now()
        with self._quiet_lock:
            if self._quiet_until and now < self._quiet_until:
                return {}
        batch = self._owner_updates([r for r in rows if r.method == Change.OWNER])
        if len(batch) < 2:
            return {}
        try:
            results = self.connector.update_records([(record, update) for _, record, update in batch])
        except CrmBusy as busy:
            with self._quiet_lock:
                self._quiet_until = now + timedelta(seconds=busy.wait)
            return {row.id: TryAgain(str(busy), wait=busy.wait) for row, _, _ in batch}
        except CrmUnavailable as down:
            return {row.id: TryAgain(str(down)) for row, _, _ in batch}  # an update can simply be written again
        except CrmRefused:
            return {}  # one bad input spoils the call: one by one, each row meets its own answer
        return {row.id: self._outcome(result) for (row, _, _), result in zip(batch, results, strict=True)}

    def _owner_updates(self, rows: list[OutboxMessage]) -> list[tuple[OutboxMessage, CrmRecord, RecordUpdate]]:
        with read_session(self.engine) as session:
            leads = lead_store.get_leads(session, [r.lead_id for r in rows])
        batch = []
        for row in rows:
            lead = leads.get(row.lead_id)
            if lead is None or lead.is_erased or not lead.crm_record_id or not lead.crm_record_url:
                continue  # finding or creating the record, or forgetting the person, is deliver's
            owner = self._owner_id(row.payload["owner"], required=False)
            if owner is None:
                continue  # deliver refuses it with the reason
            update = RecordUpdate(owner_crm_id=owner, stage=row.payload.get("stage"),
                                  stamps=self._stamps(lead, row.payload))  # fmt: skip
            batch.append((row, CrmRecord(lead.crm_record_id, lead.crm_record_type or "contact"), update))
        return batch

    def _outcome(self, error: Exception | None) -> Outcome:
        if error is None:
            return Delivered()
        if isinstance(error, CrmRefused):
            return Refused(f"{self.connector.label} refused it ({error.cause}): {error.message}")
        return TryAgain(str(error), wait=getattr(error, "wait", None))

    # -- the writes ---------------------------------------------------------------------------------
    def _write(self, row: OutboxMessage, look_first: bool) -> None:
        with read_session(self.engine) as session:
            lead = lead_store.get_lead(session, row.lead_id)
        if lead is None or lead.is_erased:
            return  # forgotten on request: nothing more of this person goes anywhere
        change, data = Change(row.method), row.payload
        if change in (Change.RECORD, Change.OWNER) and "owner" in data:
            self._write_owner(lead, data)
            return
        record, _ = self._record_for(lead, data, RecordUpdate(stage=data.get("stage"), lifecycle=data.get("lifecycle")))
        if change == Change.TOUCH:
            self._log_touch(record, data, look_first)
        elif change == Change.STAGE:
            self.connector.update_record(record, RecordUpdate(stage=data["stage"], lifecycle=data.get("lifecycle")))
            self.connector.log_activity(record, self._stage_note(lead, data), look_first)
        elif change == Change.DEAL:
            self._open_deal(lead, record, data, look_first)

    def _write_owner(self, lead: Lead, data: dict) -> None:
        """Owner, status and stamps: in the record as it is created, or written to the record found.

        An owner the CRM does not know is refused after the record exists, so the lead is in the CRM anyway.
        """
        owner = self._owner_id(data["owner"], required=False)
        update = RecordUpdate(owner_crm_id=owner, stage=data.get("stage"), lifecycle=data.get("lifecycle"),
                              stamps=self._stamps(lead, data))  # fmt: skip
        record, created = self._record_for(lead, data, update)
        if not created:
            self.connector.update_record(record, replace(update, lifecycle=None))  # a found record keeps its stage
        if owner is None:
            self._owner_id(data["owner"], required=True)  # raises the refusal that names the member

    def _record_for(self, lead: Lead, data: dict, first: RecordUpdate) -> tuple[CrmRecord, bool]:
        """The lead's record (and whether it was created now, with `first` in it): known, else found by
        email, else created (unless the admin turned creating off)."""
        created = False
        if lead.crm_record_id:
            record = CrmRecord(lead.crm_record_id, lead.crm_record_type or "contact")
        else:
            record = self.connector.find_record(lead.email)
            if record is None:
                if not self.config.crm.write.records:
                    raise CrmRefused("NO_RECORD", f"no record has {lead.email}, and crm.write.records is off")
                record, created = self.connector.create_record(lead, first), True
        url = self.connector.record_url(record)
        if lead.crm_record_url != url or lead.crm_record_id != record.id:
            with write_session(self.engine) as session:
                if lead_store.set_crm_record(session, lead.id, record.id, record.type, url) and url:
                    # The owner's DM gets its "Open in …" button now that the record exists.
                    current = lead_store.get_lead(session, lead.id)
                    delivery.redraw_alert_if_posted(session, lead.id, current.alert_ts, self.clock.now())
        return record, created

    def _log_touch(self, record: CrmRecord, data: dict, look_first: bool) -> None:
        who, via, number = self._name(data["by"]), data["via"], data["number"]
        which = "First touch" if number == 1 else f"Touch {number}"
        activity = ActivityWrite(
            kind=via,
            subject=f"{which} ({via}), logged in Slack",
            body=f"{who} logged a {via} touch with Leadbot.",
            at=datetime.fromisoformat(data["at"]),
            owner_crm_id=self._owner_id(data["by"], required=False),
        )
        self.connector.log_activity(record, activity, look_first)
        if number == 1:
            self.connector.update_record(record, RecordUpdate(stage=data.get("stage")))

    def _stage_note(self, lead: Lead, data: dict) -> ActivityWrite:
        stage = Stage(data["stage"]).label
        by = "Leadbot" if data["by"] == "system" else self._name(data["by"])
        lines = [f"{stage}: set by {by} in Slack."]
        if data.get("reason"):
            lines.append(f"Reason: {data['reason']}")
        if data.get("notes"):
            lines.append(data["notes"])
        if data["stage"] == Stage.SQL and lead.ae_id:
            lines.append(f"Handed to {self._name(lead.ae_id)} (AE).")
        return ActivityWrite(
            kind="note",
            subject=f"Leadbot: {stage}",
            body="\n".join(lines),
            at=datetime.fromisoformat(data["at"]),
            owner_crm_id=self._owner_id(data["by"], required=False),
        )

    def _open_deal(self, lead: Lead, record: CrmRecord, data: dict, look_first: bool) -> None:
        with read_session(self.engine) as session:
            opportunity = handoff_store.get_opportunity(session, data["opportunity_id"])
        if opportunity is None or opportunity.crm_id:
            return  # already written (a retry after the id was kept)
        fields = {k: str(v) for k, v in opportunity.fields.items() if v}
        amount = _number(fields.get("amount"))
        deal = DealWrite(
            name=opportunity.name,
            owner_crm_id=self._owner_id(opportunity.ae_id, required=True),
            company=opportunity.company,
            domain=opportunity.domain,
            amount=amount,
            fields=fields,
            at=datetime.fromisoformat(data["at"]),
        )
        written = self.connector.open_deal(record, deal, look_first)
        with write_session(self.engine) as session:
            if handoff_store.set_opportunity_crm(session, opportunity.id, written.id, written.url):
                reply = deal_in_crm_reply(lead, self.connector.label, written.url, opportunity.id)
                delivery.send(session, Kind.HANDOFF_REPLY, now=self.clock.now(), lead_id=lead.id, message=reply)

    # -- people and stamps ----------------------------------------------------------------------------
    def _owner_id(self, slack_id: str | None, *, required: bool) -> str | None:
        member = self.config.member(slack_id) if slack_id else None
        found = None
        if member is not None:
            found = member.crm_owner_id or (self.connector.owner_id_for(member.email) if member.email else None)
        if found is None and required:
            name = member.name if member else slack_id
            raise CrmRefused(
                "UNMAPPED_OWNER",
                f"{name} is not a {self.connector.label} owner: give them crm_owner_id, or the email "
                f"{self.connector.label} knows them by, in the team config",
            )
        return found

    def _name(self, slack_id: str) -> str:
        member = self.config.member(slack_id)
        return member.name if member else slack_id

    def _stamps(self, lead: Lead, data: dict) -> dict[str, str]:
        names = self.config.crm.stamp_fields
        values = {names.lead_id: str(lead.id), names.routing_reason: data.get("reason")}
        values[names.first_touch_due] = data.get("first_touch_due")
        return {name: str(value)[:250] for name, value in values.items() if name and value}


def _number(value: str | None) -> float | None:
    try:
        return float(str(value).replace(",", "").strip("$€£ ")) if value else None
    except ValueError:
        return None
