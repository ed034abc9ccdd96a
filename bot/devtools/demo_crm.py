"""`leadbot demo --crm hubspot|salesforce`: the same flow with a CRM stand-in, and what the CRM holds printed.

The stand-in is the one the tests use (bot/devtools/standin/), so the demo's CRM is as strict as theirs:
the real client library (hubspot-api-client, simple-salesforce with the JWT bearer flow) talks to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine

from bot.devtools.standin.crm_server import CrmStandin
from bot.devtools.standin.hubspot_api import FakeHubSpot
from bot.devtools.standin.salesforce_api import FakeSalesforce
from store import outbox as outbox_store
from store.db import read_session

SYSTEMS = ("hubspot", "salesforce")
LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


@dataclass
class DemoCrm:
    system: str
    standin: CrmStandin
    settings: dict  # Settings fields that point Leadbot at the stand-in
    names: dict[str, str]  # CRM owner / user id → team member's name

    @property
    def label(self) -> str:
        return LABELS[self.system]

    def subscribe(self, base_url: str, client_secret: str | None, intake_token: str, now) -> None:
        """Have the stand-in tell Leadbot what happens in it, as HubSpot's webhooks / Salesforce's Flows would."""
        if self.system == "hubspot":
            self.standin.send_webhooks_to(f"{base_url}/crm/hubspot/events", client_secret, now=now)
        else:
            self.standin.send_flow_callouts_to(f"{base_url}/crm/salesforce/events", intake_token, now=now)

    def log_call_as_user(self, record_id: str, owner_name: str) -> None:
        """A rep logs a call on the record in the CRM's own screens (and the CRM tells Leadbot)."""
        owner = next(crm_id for crm_id, name in self.names.items() if name == owner_name)
        if self.system == "hubspot":
            self.standin.log_activity_as_user("calls", record_id, owner, title="Discovery call")
        else:
            self.standin.log_task_as_user(record_id, owner, subtype="Call", subject="Discovery call")
        self.standin.wait_for_deliveries()

    def snapshot(self) -> list[str]:
        """What a rep opening the CRM would see now, one line a record."""
        if self.system == "hubspot":
            return _hubspot_lines(self.standin, self.names)
        return _salesforce_lines(self.standin, self.names)


def start_demo_crm(system: str, workdir: Path, members: dict[str, str]) -> DemoCrm:
    """The stand-in for `system`, with a user for each member (email → name), and the settings to reach it."""
    if system == "hubspot":
        standin = FakeHubSpot(access_token="pat-demo").start()
        names = {standin.add_owner(email): name for email, name in members.items()}
        settings = {"hubspot_access_token": "pat-demo", "hubspot_api_url": standin.url,
                    "hubspot_client_secret": "demo-app-client-secret"}  # fmt: skip
        return DemoCrm(system, standin, settings, names)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = workdir / "salesforce-demo.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    standin = FakeSalesforce(client_id="3MVG9demo", username="leadbot@demo.test", public_key_pem=public).start()
    names = {standin.add_user(email): name for email, name in members.items()}
    settings = {
        "salesforce_instance_url": standin.url,
        "salesforce_login_url": standin.url,
        "salesforce_client_id": "3MVG9demo",
        "salesforce_username": "leadbot@demo.test",
        "salesforce_private_key_file": str(key_file),
    }
    return DemoCrm(system, standin, settings, names)


def wait_for_crm_writes(engine: Engine, system: str, kick: Callable[[], None], timeout: float = 10.0) -> None:
    """Until the CRM's queue is empty (the demo prints the CRM after its writes landed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with read_session(engine) as session:
            if outbox_store.depth(session, system)[0] == 0:
                return
        kick()
        time.sleep(0.05)


def _hubspot_lines(standin: FakeHubSpot, names: dict[str, str]) -> list[str]:
    lines = []
    for contact in standin.records("contacts"):
        p = contact["properties"]
        lines.append(
            f"contact {contact['id']}  {p.get('email')}  owner {names.get(p.get('hubspot_owner_id'), '-')}  "
            f"lead status {p.get('hs_lead_status', '-')}  lifecycle {p.get('lifecyclestage', '-')}"
        )
        for kind in ("calls", "emails", "meetings", "notes"):
            for activity in standin.records(kind):
                if contact["id"] in standin.associated(kind, activity["id"], "contacts"):
                    a = activity["properties"]
                    title = a.get("hs_call_title") or a.get("hs_email_subject") or a.get("hs_note_body", "")
                    lines.append(f"    {kind[:-1]}: {title.splitlines()[0]}")
    for deal in standin.records("deals"):
        p = deal["properties"]
        lines.append(
            f"deal {deal['id']}  {p['dealname']}  owner {names.get(p.get('hubspot_owner_id'), '-')}  "
            f"pipeline {p['pipeline']} / {p['dealstage']}"
        )
    return lines


def _salesforce_lines(standin: FakeSalesforce, names: dict[str, str]) -> list[str]:
    lines = []
    for lead in standin.records("Lead"):
        lines.append(
            f"Lead {lead['Id']}  {lead.get('Email')}  owner {names.get(lead.get('OwnerId'), '-')}  "
            f"Status {lead.get('Status')}"
        )
        for task in standin.records("Task"):
            if task.get("WhoId") == lead["Id"]:
                lines.append(f"    Task ({task.get('TaskSubtype')}): {task.get('Subject')}")
    for opportunity in standin.records("Opportunity"):
        account = next((a for a in standin.records("Account") if a["Id"] == opportunity.get("AccountId")), {})
        lines.append(
            f"Opportunity {opportunity['Id']}  {opportunity['Name']}  owner {names.get(opportunity['OwnerId'], '-')}"
            f"  {opportunity['StageName']}, closes {opportunity['CloseDate']}, Account {account.get('Name', '-')}"
        )
    for contact in standin.records("Contact"):
        lines.append(f"Contact {contact['Id']}  {contact.get('Email')}  (with the Opportunity's contact role)")
    return lines
