"""The CRM the config names, connected with the credentials from the environment (or none)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.core.config import Config
from bot.core.settings import Settings
from bot.crm.hubspot import HubSpotConnector
from bot.crm.records import CrmConnector
from bot.crm.salesforce import SalesforceConnector
from bot.crm.salesforce_auth import sign_in_problem
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.slack.notices import crm_refusal_notice
from store import outbox as outbox_store
from store.models import OutboxMessage

LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


class CrmNotConfigured(Exception):
    """`crm.system` is set but the environment lacks what it needs to connect; the message names it."""


def connect_crm(settings: Settings, config: Config) -> CrmConnector | None:
    crm = config.crm
    if crm is None:
        return None
    stamps = crm.stamp_fields.model_dump(exclude_none=True)
    if crm.system == "hubspot":
        if not settings.hubspot_access_token:
            raise CrmNotConfigured("crm.system is hubspot, but HUBSPOT_ACCESS_TOKEN is not set")
        return HubSpotConnector(settings.hubspot_access_token, settings.hubspot_api_url, crm.hubspot, stamps)
    problem = sign_in_problem(settings)
    if problem:
        raise CrmNotConfigured(problem)
    return SalesforceConnector(settings, crm.salesforce, stamps)


def tell_managers_once_per_cause(config: Config):
    """A write the CRM refused for good is told in the escalations channel, once per distinct refusal."""
    label = LABELS[config.crm.system] if config.crm else "The CRM"

    def report(session: Session, row: OutboxMessage, error: str, now: datetime) -> None:
        if outbox_store.failed_before(session, row.target, error, row.id):
            return
        notice = crm_refusal_notice(row.lead_id, label, error)
        delivery.send(session, Kind.NOTE, now=now, to=config.channels.escalations, message=notice)

    return report


def crm_problems(connector: CrmConnector, config: Config) -> list[str]:
    """What `leadbot check-config` finds wrong in the CRM: members it cannot map, stamp properties it lacks."""
    unmapped = {m.name: m.email for m in config.team if m.active and not m.crm_owner_id}
    stamps = [name for name in config.crm.stamp_fields.model_dump(exclude_none=True).values()]
    return connector.problems(unmapped, stamps)
