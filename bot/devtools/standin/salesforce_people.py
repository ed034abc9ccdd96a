"""What the Salesforce stand-in sends out and what a person does in Salesforce's own screens.

The callouts of the record-triggered Flows an admin sets up for Leadbot (README, "Touches and owner changes
from Salesforce"): on a Task created with a WhoId, and on a Lead's or Contact's OwnerId changed, the record
is POSTed as Salesforce serialises an sObject, with the Named Credential's bearer token. Leadbot's own writes
fire them too, as in a real org.
"""

from __future__ import annotations

from datetime import datetime


def salesforce_time(at: datetime) -> str:
    """Salesforce's datetime format: 2026-12-04T10:15:00.000+0000."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforcePeople:
    """Mixed into FakeSalesforce (which has the lock, the objects, `_create`, `_update` and `emit`)."""

    PERSON_ID = "0055g00000HUMANAAA"  # the user a test's clicks in Salesforce are made as

    def send_flow_callouts_to(self, url: str, token: str, now=None) -> None:
        self.send_events_to(
            url, lambda _to, _body: {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}, now
        )

    def log_task_as_user(
        self,
        who_id: str,
        owner_id: str | None,
        subtype: str = "Call",
        subject: str = "Call",
        at: datetime | None = None,
    ) -> str:
        """A rep logs a completed call (email, LinkedIn step) on a Lead or Contact; the Task's id."""
        fields = {"WhoId": who_id, "Subject": subject, "Status": "Completed", "Priority": "Normal",
                  "TaskSubtype": subtype, "ActivityDate": (at or self.now()).date().isoformat()}  # fmt: skip
        if owner_id:
            fields["OwnerId"] = owner_id
        with self._cond:
            return self._create("Task", fields, {"sforce-auto-assign": "FALSE"}, by=self.PERSON_ID)

    def set_owner_as_user(self, record_id: str, owner_id: str) -> None:
        """A person changes the Lead's (or Contact's) owner in Salesforce."""
        sobject = "Lead" if record_id.startswith("00Q") else "Contact"
        with self._cond:
            self._update(sobject, self.objects[sobject][record_id], {"OwnerId": owner_id},
                         {"sforce-auto-assign": "FALSE"}, by=self.PERSON_ID)  # fmt: skip

    def _stamp(self, record: dict, by: str, creating: bool) -> None:
        now = salesforce_time(self.now())
        if creating:
            record["CreatedDate"], record["CreatedById"] = now, by
        record["LastModifiedDate"], record["LastModifiedById"] = now, by

    def _flow_fires(self, sobject: str, record: dict, owner_before: str | None, creating: bool) -> None:
        """The admin's record-triggered Flows: a Task with a WhoId created; an OwnerId changed."""
        if sobject == "Task" and creating and record.get("WhoId"):
            self.emit({"attributes": {"type": "Task"}, **record})
        if sobject in ("Lead", "Contact") and not creating and record.get("OwnerId") != owner_before:
            fields = ("Id", "OwnerId", "LastModifiedDate", "LastModifiedById")
            self.emit({"attributes": {"type": sobject}, **{f: record.get(f) for f in fields}})
