"""Slack payloads parsed once into typed objects; anything malformed becomes BadPayload."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from bot.slack.ids import ContactChoice, EscalationChoice, LeadRef


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
    inputs: frozenset[str]  # block_ids of the view's input blocks: the only keys an `errors` answer may name

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
            inputs = frozenset(
                b["block_id"] for b in view.get("blocks") or [] if isinstance(b, dict) and b.get("type") == "input"
            )
        except (KeyError, TypeError, AttributeError, ValidationError) as exc:
            raise BadPayload(f"unreadable modal submission: {exc}") from None
        return cls(user_id=_user_id(body), ref=ref, values=values, inputs=inputs)


def envelope_problem(body: dict) -> str | None:
    """What is wrong with the parts Bolt reads to pick a listener, or None when they are well formed.

    Bolt indexes `actions`, `view`, `event` and the command fields before any listener runs, and a
    signed payload with, say, a string where an action should be makes it raise (a 500); such a body
    is answered 400 instead.
    """

    def text(value) -> bool:
        return isinstance(value, str)

    kind = body.get("type")
    if kind is not None and not text(kind):
        return "`type` is not a string"
    if kind in ("block_actions", "interactive_message", "view_submission", "view_closed", "shortcut", "message_action"):
        if not isinstance(body.get("user"), dict) or not text(body["user"].get("id")):
            return "no user in the payload"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "`actions` is not a list of actions"
        for action in actions:
            if not isinstance(action, dict) or not text(action.get("action_id")):
                return "an action without an action_id"
            if "block_id" in action and not text(action["block_id"]):
                return "an action with a block_id that is not a string"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not text(view.get("callback_id")):
            return "no view with a callback_id"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not text(event.get("type")):
            return "no event with a type"
        if "event_id" in body and not text(body["event_id"]):
            return "`event_id` is not a string"
    if "command" in body and not (text(body["command"]) and text(body.get("user_id")) and text(body.get("text", ""))):
        return "a command without its command, user_id and text"
    return None
