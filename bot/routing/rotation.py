"""Who gets a new lead: the existing owner, else the first matching rule's pool and method, else the
default pool (all SDRs, round robin), through a fallback ladder so no lead is ever without an owner.

A rep is skipped when inactive, away, at capacity (`max_open`), or outside their working hours when
the rule asks for it; the reason says who was skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.core.config import Config, PoolConfig, RoutingRule, TeamMemberConfig
from bot.intake.scoring import company_size_bounds
from bot.routing.regions import sales_region
from bot.sla.calendars import calendar_for
from store import routing as rotation_store

SDR_POOL = "sdr"


@dataclass(frozen=True)
class Assignment:
    owner_id: str
    reason: str
    rule: str = "Default pool"  # for the dry run's per-rule summary
    claimable: bool = False  # offered in the unclaimed channel; the fallback owner holds it meanwhile


@dataclass(frozen=True)
class LeadFacts:
    """What routing rules look at."""

    domain: str | None = None
    region: str | None = None
    country: str | None = None
    company_size: str | None = None
    industry: str | None = None
    product: str | None = None
    source: str | None = None
    sales_region: str | None = None  # NA, LATAM, EMEA, APAC: named, or from the country


def facts_of(lead, config: Config | None = None) -> LeadFacts:
    """What the rules look at, from a stored lead."""
    overrides = config.routing.country_regions if config else None
    return LeadFacts(
        domain=lead.domain,
        region=lead.region,
        country=lead.country,
        company_size=lead.company_size,
        industry=lead.industry,
        product=lead.product_interest,
        source=lead.lead_source,
        sales_region=sales_region(lead.region, lead.country, overrides),
    )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def next_in_rotation(order: list[str], eligible: set[str], last: str | None) -> tuple[str, int] | None:
    """The first eligible rep after `last` in config order, with its 1-based place among the eligible.

    Walking the full order (not just the eligible list) keeps turns fair when reps come and go:
    a rep who returns from being inactive slots back into their usual place.
    """
    candidates = [rep for rep in order if rep in eligible]
    if not candidates:
        return None
    start = order.index(last) + 1 if last in order else 0
    for offset in range(len(order)):
        rep = order[(start + offset) % len(order)]
        if rep in eligible:
            return rep, candidates.index(rep) + 1
    return None


# -- rules and pools ------------------------------------------------------------------------------------
def _any(wanted: list[str], value: str | None) -> bool:
    return not wanted or (value is not None and value.strip().lower() in {w.lower() for w in wanted})


def rule_matches(rule: RoutingRule, lead: LeadFacts) -> bool:
    match = rule.match
    if not (
        (_any(match.region, lead.region) or _any(match.region, lead.sales_region))
        and _any(match.country, lead.country)
        and _any(match.industry, lead.industry)
        and _any(match.product, lead.product)
        and _any(match.source, lead.source)
    ):
        return False
    if match.company_size is not None:
        bounds = company_size_bounds(lead.company_size)
        if bounds is None:
            return False
        low, high = bounds
        top = match.company_size.max
        if (high is not None and high < match.company_size.min) or (top is not None and low > top):
            return False
    return True


def pool_members(pool: PoolConfig, config: Config) -> list[TeamMemberConfig]:
    """Reps named by id, and SDRs carrying any of the pool's tags, in team order."""

    def tagged(member: TeamMemberConfig) -> bool:
        return member.role == "sdr" and bool(
            set(pool.territories) & set(member.territories)
            or set(pool.segments) & set(member.segments)
            or set(pool.products) & set(member.products)
        )

    return [m for m in config.team if m.slack_id in pool.reps or tagged(m)]


def skip_reasons(
    session: Session, config: Config, members: list[TeamMemberConfig], now: datetime, respect_hours: bool
) -> dict[str, str]:
    """Why each ineligible member is skipped (the eligible ones are absent)."""
    away = rotation_store.away_members(session, now)
    capped = [m.slack_id for m in members if m.max_open]
    open_counts = rotation_store.open_lead_counts(session, capped)
    reasons = {}
    for member in members:
        if not member.active:
            reasons[member.slack_id] = "inactive"
        elif member.slack_id in away:
            reasons[member.slack_id] = "away"
        elif member.max_open and open_counts.get(member.slack_id, 0) >= member.max_open:
            reasons[member.slack_id] = f"at capacity ({member.max_open} open)"
        elif respect_hours and not calendar_for(config, member.slack_id).is_open(now):
            reasons[member.slack_id] = "outside working hours"
    return reasons


def _pick(
    session: Session, pool_key: str, method: str, members: list[TeamMemberConfig], eligible: set[str]
) -> tuple[str, int] | None:
    """Take a turn in the pool's rotation (row locked until the caller commits)."""
    state = rotation_store.lock_rotation(session, pool_key)
    order = [m.slack_id for m in members]
    if method == "weighted":
        weights = {m.slack_id: m.weight for m in members}
        ranked = [rep for rep in order if rep in eligible]
        if not ranked:
            return None
        # The rep furthest below their share: fewest leads per unit of weight after this one.
        rep = min(ranked, key=lambda r: ((state.counts.get(r, 0) + 1) / weights[r], ranked.index(r)))
        picked = (rep, ranked.index(rep) + 1)
    elif method == "load_balanced":
        loads = rotation_store.open_lead_counts(session, sorted(eligible))
        lightest = min(loads.values(), default=None)
        picked = next_in_rotation(order, {r for r, n in loads.items() if n == lightest}, state.last_slack_id)
        if picked:
            picked = (picked[0], [r for r in order if r in eligible].index(picked[0]) + 1)
    else:
        # A rep who lost a lead of this pool by reassignment is owed a turn: it comes first, and the pointer
        # stays, so everyone else keeps their place (the rep who received that lead waits their turn).
        owed = {rep for rep in eligible if state.credits.get(rep, 0) > 0}
        if owed:
            rep, _ = next_in_rotation(order, owed, state.last_slack_id)
            rotation_store.record_turn(session, state, rep, owed=True)
            return rep, [r for r in order if r in eligible].index(rep) + 1
        picked = next_in_rotation(order, eligible, state.last_slack_id)
    if picked:
        rotation_store.record_turn(session, state, picked[0])
    return picked


def _describe_skips(config: Config, skips: dict[str, str]) -> str:
    if not skips:
        return ""
    names = [f"{config.member(rep).name} was {why}" for rep, why in skips.items()]
    return "; " + ", ".join(names)


METHOD_LABELS = {"round_robin": "round robin", "weighted": "weighted", "load_balanced": "load balanced"}


@dataclass(frozen=True)
class _Pool:
    """The pool a lead is routed in: who is in it, how it turns, and what to say about it."""

    label: str
    key: str
    method: str
    members: list[TeamMemberConfig]
    respect_hours: bool = False
    rule: RoutingRule | None = None


def _pool_for(config: Config, lead: LeadFacts) -> _Pool:
    rule = next((r for r in config.routing.rules if rule_matches(r, lead)), None)
    if rule is None:
        return _Pool("Default pool (all SDRs)", SDR_POOL, "round_robin", config.members_with_role("sdr"))
    members = pool_members(rule.pool, config)
    return _Pool(f"{rule.name} rule → its pool", f"rule:{rule.name}", rule.method, members, rule.respect_hours, rule)


def assign_new_lead(session: Session, config: Config, lead: LeadFacts, now: datetime) -> Assignment:
    """Pick the owner inside the caller's transaction: the existing owner, the pool, its fallback pool, the fallback."""
    if config.routing.existing_owner and lead.domain:
        owner = rotation_store.existing_owner_for_domain(session, lead.domain)
        member = config.member(owner) if owner else None
        if member and not skip_reasons(session, config, [member], now, respect_hours=False):
            return Assignment(
                owner, f"Existing owner: {member.name} already works with {lead.domain}", "Existing owner"
            )
    pool = _pool_for(config, lead)
    skips = skip_reasons(session, config, pool.members, now, pool.respect_hours)
    eligible = {m.slack_id for m in pool.members} - set(skips)
    picked = _pick(session, pool.key, pool.method, pool.members, eligible) if eligible else None
    if picked:
        owner, place = picked
        skipped = _describe_skips(config, skips)
        return Assignment(
            owner,
            f"{pool.label}, {METHOD_LABELS[pool.method]}, {ordinal(place)} of {len(eligible)}{skipped}",
            pool.rule.name if pool.rule else "Default pool",
        )
    return _nobody_in_the_pool(session, config, pool, skips, now)


def _nobody_in_the_pool(
    session: Session, config: Config, pool: _Pool, skips: dict[str, str], now: datetime
) -> Assignment:
    """The rule's fallback pool, else the unclaimed channel (held by the fallback owner), else the fallback owner."""
    nobody = f"{pool.label}: nobody available{_describe_skips(config, skips)}"
    if pool.rule is not None and pool.rule.fallback_pool is not None:
        backup = pool_members(pool.rule.fallback_pool, config)
        backup_skips = skip_reasons(session, config, backup, now, pool.respect_hours)
        backup_eligible = {m.slack_id for m in backup} - set(backup_skips)
        picked = (
            _pick(session, f"{pool.key}:fallback", "round_robin", backup, backup_eligible) if backup_eligible else None
        )
        if picked:
            return Assignment(
                picked[0],
                f"{nobody} → its fallback pool, round robin, {ordinal(picked[1])} of {len(backup_eligible)}",
                f"{pool.rule.name} (fallback pool)",
            )
    fallback = config.member(config.routing.fallback)
    why = nobody if pool.members else "No SDR is available"
    if config.channels.unclaimed:
        return Assignment(
            fallback.slack_id,
            f"{why}, so it is offered in the unclaimed channel; {fallback.name} holds it until someone claims it",
            "Unclaimed channel",
            claimable=True,
        )
    return Assignment(fallback.slack_id, f"{why}, so it went to the fallback owner ({fallback.name})", "Fallback owner")


def pool_key_for(config: Config, lead: LeadFacts) -> str:
    """The rotation a lead with these facts is counted in (its matching rule's pool, else the default)."""
    return _pool_for(config, lead).key


def reassignment_owner(session: Session, config: Config, current: str | None, now: datetime) -> str | None:
    """The next available SDR after `current`, never `current` itself (None when there is nobody)."""
    sdrs = config.members_with_role("sdr")
    skips = skip_reasons(session, config, sdrs, now, respect_hours=False)
    eligible = {m.slack_id for m in sdrs} - set(skips) - {current}
    picked = next_in_rotation([m.slack_id for m in sdrs], eligible, current)
    return picked[0] if picked else None
