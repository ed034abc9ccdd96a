"""The Block Kit limits the stand-in enforces, as Slack does (a little more strictly)."""

from __future__ import annotations

from typing import Any


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def block_problems(blocks: Any, limit: int) -> list[str]:
    """Slack's Block Kit limits (reference/slack/LIMITS.md §2.5)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems = [f"{len(blocks)} blocks, more than {limit}"] if len(blocks) > limit else []
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        where = f"block {i} ({kind})"
        if kind not in {"section", "header", "context", "actions", "divider", "input", "image", "rich_text"}:
            problems.append(f"{where}: unknown block type")
            continue
        if len(block.get("block_id", "")) > 255:
            problems.append(f"{where}: block_id over 255 characters")
        if kind == "header" and _text_len(block.get("text")) > 150:
            problems.append(f"{where}: header text over 150 characters")
        if kind == "section":
            if _text_len(block.get("text")) > 3000:
                problems.append(f"{where}: text over 3000 characters")
            fields = block.get("fields", [])
            if len(fields) > 10 or any(_text_len(f) > 2000 for f in fields):
                problems.append(f"{where}: more than 10 fields or a field over 2000 characters")
            if "text" not in block and not fields:
                problems.append(f"{where}: a section needs text or fields")
        if kind == "context" and len(block.get("elements", [])) > 10:
            problems.append(f"{where}: more than 10 elements")
        elements = block.get("elements", []) if kind == "actions" else []
        if len(elements) > 25:
            problems.append(f"{where}: more than 25 elements")
        for element in elements + ([block["accessory"]] if isinstance(block.get("accessory"), dict) else []):
            problems.extend(f"{where}: {p}" for p in _element_problems(element))
    return problems


def _element_problems(element: dict) -> list[str]:
    problems = []
    if len(element.get("action_id", "")) > 255:
        problems.append("action_id over 255 characters")
    if element.get("type") == "button":
        if _text_len(element.get("text")) > 75:
            problems.append("button text over 75 characters")
        if len(element.get("value", "")) > 2000:
            problems.append("button value over 2000 characters")
    options = element.get("options", [])
    if len(options) > 100:
        problems.append("more than 100 options")
    for option in options:
        if _text_len(option.get("text")) > 75 or len(option.get("value", "")) > 150:
            problems.append("option text over 75 or value over 150 characters")
    return problems
