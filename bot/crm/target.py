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
    signed,
)
from bot.crm.together import write_together
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.delivery.relay import Delivered, Outcome, Refused, RetryPolicy, TryAgain
from bot.lifecycle.codes import where_logged
from bot.slack.handoff import deal_in_crm_reply
from store import handoff as handoff_store
from store import leads as lead_store
from store.db import read_session, write_session
from store.models import Lead, OutboxMessage, Stage

log = logging.getLogger(__name__)

OUTAGE_PAUSE_S = 5.0
CREATES = frozenset({Change.RECORD, Change.TOUCH, Change.STAGE, Change.DEAL})


class CrmTarget:
    def __init__(self, engine: Engine, clock: Clock, config: Config, connector: CrmConnector, retry: RetryPolicy):
        self.engine, self.clock, self.config, self.connector, self.retry = engine, clock, config, connector, retry
        # After a 429 nothing is sent to this CRM until its window has passed (other rows wait without a call).
        self._quiet_until: datetime | None = None
        self._quiet_lock = threading.Lock()

    def paused_until(self) -> datetime | None:
        """Until when the relay should not hand this CRM any row (its rate-limit window, or an outage pause)."""
        with self._quiet_lock:
            return self._quiet_until

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
            self.pause(busy.wait)
            return TryAgain(str(busy), wait=busy.wait)
        except CrmUnavailable as down:
            self.pause(OUTAGE_PAUSE_S)  # the other rows of this pass wait too, not each for a timeout of its own
            return TryAgain(str(down), in_doubt=in_doubt or (down.in_doubt and self.worth_looking_for(row)))
        except CrmRefused as refused:
            return Refused(f"{self.connector.label} refused it ({refused.cause}): {refused.message}")
        return Delivered()

    def deliver_together(self, rows: list[OutboxMessage]) -> dict[int, Outcome]:
        """Rows the CRM's batch APIs can take in a few calls (bot/crm/together.py); the rest go one by one."""
        with self._quiet_lock:
            if self._quiet_until and self.clock.now() < self._quiet_until:
                return {}
        return write_together(self, rows)

    def pause(self, seconds: float) -> None:
        """Send this CRM nothing for a while (its rate-limit window)."""
        with self._quiet_lock:
            self._quiet_until = self.clock.now() + timedelta(seconds=seconds)

    def owner_update(self, lead: Lead, data: dict) -> RecordUpdate | None:
        """The owner, status and stamps a row carries, in the CRM's ids (None: the owner is not mapped)."""
        owner = self._owner_id(data["owner"], required=False)
        if owner is None:
            return None
        return RecordUpdate(owner_crm_id=owner, stage=data.get("stage"), lifecycle=data.get("lifecycle"),
                            stamps=self._stamps(lead, data))  # fmt: skip

    def remember_records(self, found: list[tuple[Lead, CrmRecord]]) -> None:
        """Keep each lead's record id and link, in one transaction, and redraw DMs already posted."""
        with write_session(self.engine) as session:
            for lead, record in found:
                url = self.connector.record_url(record)
                if lead_store.set_crm_record(session, lead.id, record.id, record.type, url) and url:
                    current = lead_store.get_lead(session, lead.id)
                    delivery.redraw_alert_if_posted(session, lead.id, current.alert_ts, self.clock.now())

    def outcome_of(self, error: Exception | None) -> Outcome:
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
        update = self.owner_update(lead, data)
        first = update or RecordUpdate(stage=data.get("stage"), lifecycle=data.get("lifecycle"),
                                       stamps=self._stamps(lead, data))  # fmt: skip
        record, created = self._record_for(lead, data, first)
        if not created:
            self.connector.update_record(record, replace(first, lifecycle=None))  # a found record keeps its stage
        if update is None:
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
        which = "First touch" if number == 1 else f"Touch {number}" if number else "Activity"
        where = where_logged(data.get("logged_in"))
        activity = ActivityWrite(
            kind=via,
            subject=f"{which} ({via}), logged {where}",
            body=signed(f"{who} logged a {via} touch with Leadbot."),
            at=datetime.fromisoformat(data["at"]),
            owner_crm_id=self._owner_id(data["by"], required=False),
        )
        if data.get("activity", True):  # False: logged in the CRM itself, which Leadbot must not copy
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
            body=signed("\n".join(lines)),
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
