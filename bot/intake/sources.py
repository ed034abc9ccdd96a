"""Lead source attribution: the source field and UTM data mapped to standard sources, else Unknown."""

from __future__ import annotations

import re

from bot.core.config_scoring import SourceRule, SourcesConfig

UNKNOWN = "Unknown"


def _same(wanted: str | None, value: str | None) -> bool:
    return wanted is None or (value is not None and value.strip().lower() == wanted.lower())


def _rule_matches(rule: SourceRule, source, utm_source, utm_medium, pages) -> bool:
    if rule.page is not None and not any(rule.page.lower() in page.lower() for page in pages):
        return False
    return _same(rule.source, source) and _same(rule.utm_source, utm_source) and _same(rule.utm_medium, utm_medium)


def attribute_source(
    config: SourcesConfig,
    *,
    source: str | None,
    utm_source: str | None,
    utm_medium: str | None,
    pages: tuple[str, ...] = (),
) -> str:
    """A standard source name given as the source itself, else the first matching map rule, else Unknown."""
    standard = {name.lower(): name for name in config.standard}
    if source and source.strip().lower() in standard:
        return standard[source.strip().lower()]
    for rule in config.map:
        if _rule_matches(rule, source, utm_source, utm_medium, pages):
            return rule.as_
    return UNKNOWN


def normalise_campaign(name: str | None) -> str | None:
    """'  Brand  Q4_Launch ' → 'brand-q4-launch': one spelling per campaign for reporting."""
    if not name:
        return name
    return re.sub(r"[\s_]+", "-", name.strip().lower()).strip("-") or None
