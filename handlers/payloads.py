"""Slack payloads parsed once into typed objects; anything malformed becomes BadPayload."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from bot.actions import ContactChoice, EscalationChoice


class BadPayload(Exception):
    """The payload is not what this listener expects (an old message, a tampered value...)."""


def _user_id(body: dict) -> str:
    user = body.get("user") or {}
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        raise BadPayload("no user in the payload")
    return user_id


@dataclass(frozen=True)
class ContactedClick:
    user_id: str
    choice: ContactChoice

    @classmethod
    def parse(cls, body: dict) -> ContactedClick:
        try:
            action = body["actions"][0]
            value = action["selected_option"]["value"]
            choice = ContactChoice.model_validate_json(value)
        except (KeyError, IndexError, TypeError, ValidationError) as exc:
            raise BadPayload(f"unreadable Contacted choice: {exc}") from None
        return cls(user_id=_user_id(body), choice=choice)


@dataclass(frozen=True)
class EscalationClick:
    user_id: str
    choice: EscalationChoice

    @classmethod
    def parse(cls, body: dict) -> EscalationClick:
        try:
            choice = EscalationChoice.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, TypeError, ValidationError) as exc:
            raise BadPayload(f"unreadable escalation button: {exc}") from None
        return cls(user_id=_user_id(body), choice=choice)
