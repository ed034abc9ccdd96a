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


class RoutingView:
    """What routing asks the database, asked once: the live intake makes one per lead; an import keeps one for
    a whole batch (one transaction), and it counts the leads it hands out so that each next pick sees them:
    capacity and load, the domain's owner, and each pool's rotation (its row locked at its first use)."""

    def __init__(self, session: Session, config: Config, now: datetime):
        self.session, self.config, self.now = session, config, now
        self._away: dict | None = None
        self._open: dict[str, int] = {}
        self._handed: dict[str, int] = {}  # leads this view gave out, not in the database until the batch is
        self._owners: dict[str, str | None] = {}
        self._rotations: dict[str, object] = {}

    def away(self) -> dict:
        if self._away is None:
            self._away = rotation_store.away_members(self.session, self.now)
        return self._away

    def open_counts(self, reps: list[str]) -> dict[str, int]:
        missing = [rep for rep in reps if rep not in self._open]
        if missing:
            self._open.update(rotation_store.open_lead_counts(self.session, missing))
        return {rep: self._open[rep] + self._handed.get(rep, 0) for rep in reps}

    def know_owners(self, domains: set[str]) -> None:
        """Look up many domains' existing owners in one query (an import's batch)."""
        wanted = {d for d in domains if d and d not in self._owners}
        if wanted:
            self._owners.update(rotation_store.existing_owners_for_domains(self.session, wanted))

    def existing_owner(self, domain: str) -> str | None:
        if domain not in self._owners:
            self._owners[domain] = rotation_store.existing_owner_for_domain(self.session, domain)
        return self._owners[domain]

    def rotation(self, pool_key: str):
        if pool_key not in self._rotations:
            self._rotations[pool_key] = rotation_store.lock_rotation(self.session, pool_key)
        return self._rotations[pool_key]

    def handed_out(self, owner: str, domain: str | None) -> None:
        """A new open lead went to `owner` (or is held by them): later picks in this view count it, and it is
        now the domain's latest open lead."""
        self._handed[owner] = self._handed.get(owner, 0) + 1
        if domain:
            self._owners[domain] = owner


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
    return _skips(RoutingView(session, config, now), members, respect_hours)


def _skips(view: RoutingView, members: list[TeamMemberConfig], respect_hours: bool) -> dict[str, str]:
    config, now = view.config, view.now
    away = view.away()
    open_counts = view.open_counts([m.slack_id for m in members if m.max_open])
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
    view: RoutingView, pool_key: str, method: str, members: list[TeamMemberConfig], eligible: set[str]
) -> tuple[str, int] | None:
    """Take a turn in the pool's rotation (row locked until the caller commits)."""
    session = view.session
    state = view.rotation(pool_key)
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
        loads = view.open_counts(sorted(eligible))
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
    return assign_in_view(RoutingView(session, config, now), lead)


def assign_in_view(view: RoutingView, lead: LeadFacts) -> Assignment:
    """assign_new_lead with what it reads from `view`, which then counts the lead as handed out."""
    assignment = _assign(view, lead)
    view.handed_out(assignment.owner_id, lead.domain)
    return assignment


def _assign(view: RoutingView, lead: LeadFacts) -> Assignment:
    config = view.config
    if config.routing.existing_owner and lead.domain:
        owner = view.existing_owner(lead.domain)
        member = config.member(owner) if owner else None
        if member and not _skips(view, [member], respect_hours=False):
            return Assignment(
                owner, f"Existing owner: {member.name} already works with {lead.domain}", "Existing owner"
            )
    pool = _pool_for(config, lead)
    skips = _skips(view, pool.members, pool.respect_hours)
    eligible = {m.slack_id for m in pool.members} - set(skips)
    picked = _pick(view, pool.key, pool.method, pool.members, eligible) if eligible else None
    if picked:
        owner, place = picked
        skipped = _describe_skips(config, skips)
        return Assignment(
            owner,
            f"{pool.label}, {METHOD_LABELS[pool.method]}, {ordinal(place)} of {len(eligible)}{skipped}",
            pool.rule.name if pool.rule else "Default pool",
        )
    return _nobody_in_the_pool(view, pool, skips)


def _nobody_in_the_pool(view: RoutingView, pool: _Pool, skips: dict[str, str]) -> Assignment:
    """The rule's fallback pool, else the unclaimed channel (held by the fallback owner), else the fallback owner."""
    config = view.config
    nobody = f"{pool.label}: nobody available{_describe_skips(config, skips)}"
    if pool.rule is not None and pool.rule.fallback_pool is not None:
        backup = pool_members(pool.rule.fallback_pool, config)
        backup_skips = _skips(view, backup, pool.respect_hours)
        backup_eligible = {m.slack_id for m in backup} - set(backup_skips)
        picked = (
            _pick(view, f"{pool.key}:fallback", "round_robin", backup, backup_eligible) if backup_eligible else None
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
