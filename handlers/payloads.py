"""Slack payloads parsed once into typed objects; anything malformed becomes BadPayload."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from bot.actions import ContactChoice, EscalationChoice, LeadRef


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


@dataclass(frozen=True)
class LeadButtonClick:
    user_id: str
    ref: LeadRef
    trigger_id: str | None

    @classmethod
    def parse(cls, body: dict) -> LeadButtonClick:
        try:
            ref = LeadRef.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, TypeError, ValidationError) as exc:
            raise BadPayload(f"unreadable lead button: {exc}") from None
        return cls(user_id=_user_id(body), ref=ref, trigger_id=body.get("trigger_id"))


@dataclass(frozen=True)
class ModalSubmission:
    """A submitted modal: who, which lead (private_metadata), and each input's text or chosen option."""

    user_id: str
    ref: LeadRef
    values: dict[str, str]

    @classmethod
    def parse(cls, body: dict) -> ModalSubmission:
        try:
            view = body["view"]
            ref = LeadRef.model_validate_json(view["private_metadata"])
            values = {}
            for block_id, actions in view["state"]["values"].items():
                for element in actions.values():
                    option = element.get("selected_option")
                    value = option.get("value") if isinstance(option, dict) else element.get("value")
                    values[block_id] = value if isinstance(value, str) else ""
        except (KeyError, TypeError, AttributeError, ValidationError) as exc:
            raise BadPayload(f"unreadable modal submission: {exc}") from None
        return cls(user_id=_user_id(body), ref=ref, values=values)
