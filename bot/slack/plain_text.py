"""Slack messages as a person reads them, in plain text: for the terminal (`leadbot stats`, the demo)."""

from __future__ import annotations

import html
import re

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)>")


def mrkdwn_to_plain(text: str, names: dict[str, str] | None = None) -> str:
    names = names or {}
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    return html.unescape(text.replace("*", ""))


def render_message(message: dict, names: dict[str, str] | None = None) -> str:
    """A Block Kit message as plain lines of text, for the terminal."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"┃ {block['text']['text']}")
        elif kind == "section":
            if "text" in block:
                lines.extend("┃ " + line for line in mrkdwn_to_plain(block["text"]["text"], names).splitlines())
            pairs = [mrkdwn_to_plain(f["text"], names).split("\n", 1) for f in block.get("fields", [])]
            if pairs:
                lines.append("┃ " + " · ".join(f"{p[0]}: {p[1] if len(p) > 1 else ''}" for p in pairs))
        elif kind == "context":
            lines.append("┃ " + " ".join(mrkdwn_to_plain(e.get("text", ""), names) for e in block["elements"]))
        elif kind == "actions":
            for element in block["elements"]:
                if element.get("options"):
                    choices = " | ".join(o["text"]["text"] for o in element["options"])
                    lines.append(f"┃ [{element['placeholder']['text']} ▾ {choices}]")
                else:
                    lines.append(f"┃ [{element['text']['text']}]")
    return "\n".join(lines) if lines else mrkdwn_to_plain(message.get("text", ""), names)
