"""What `leadbot check-config` warns about in the routing rules: mistakes the schema cannot see.

A typo in a tag (`territories: [EMAE]`) or a region (`region: [EMAE]`) is valid YAML and a valid config,
yet sends every lead of that rule to the fallback. Each warning names the rule and, for a near miss, the
word that was probably meant.
"""

from __future__ import annotations

from difflib import get_close_matches

from bot.core.config import Config, PoolConfig
from bot.routing.regions import REGIONS
from bot.routing.rotation import pool_members

TAGS = ("territories", "segments", "products")
SINGULAR = {"territories": "territory", "segments": "segment", "products": "product"}


def routing_warnings(config: Config) -> list[str]:
    sdrs = config.members_with_role("sdr")
    carried = {kind: {tag for m in sdrs for tag in getattr(m, kind)} for kind in TAGS}
    used = {kind: set() for kind in TAGS}
    warnings = []
    for rule in config.routing.rules:
        for label, pool in (("pool", rule.pool), ("fallback_pool", rule.fallback_pool)):
            if pool is None:
                continue
            for kind in TAGS:
                used[kind] |= set(getattr(pool, kind))
            warnings += _pool_warnings(config, rule.name, label, pool, carried)
        regions = {*REGIONS, *config.routing.country_regions.values()}
        for region in rule.match.region:
            meant = _meant(region, regions) if region not in regions else ""
            if meant:  # a region of the company's own (sent by its forms) is fine; a near miss of one is not
                warnings.append(f"rule {rule.name!r}: {region!r} is not a sales region{meant}")
    for kind in TAGS:
        for tag in sorted(carried[kind] - used[kind]):
            who = ", ".join(m.name for m in sdrs if tag in getattr(m, kind))
            warnings.append(f"{SINGULAR[kind]} {tag!r} ({who}) is used by no rule")
    return warnings


def _pool_warnings(config: Config, rule: str, label: str, pool: PoolConfig, carried: dict) -> list[str]:
    found = []
    for kind in TAGS:
        for tag in getattr(pool, kind):
            if tag not in carried[kind]:
                meant = _meant(tag, carried[kind])
                found.append(f"rule {rule!r}: no SDR carries the {SINGULAR[kind]} {tag!r} in its {label}{meant}")
    if not pool_members(pool, config):
        found.append(f"rule {rule!r}: its {label} is empty, so its leads go to the fallback")
    return found


def _meant(word: str, known) -> str:
    close = get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
