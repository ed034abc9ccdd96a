"""The admin's YAML file: team, channels, SLAs, scoring and routing, checked at start.

Everything the file leaves out takes the playbook's default.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.config_crm import CrmConfig
from bot.core.config_scoring import OpportunityConfig, QualificationConfig, ScoringConfig, SourcesConfig
from bot.core.config_types import (
    ClockTime,
    Duration,
    SizeRange,
    SlackChannelId,
    SlackUserId,
    StrictModel,
    TimeZoneName,
    check_timezone,
)
from bot.core.durations import IdleLimit, parse_idle_limit
from bot.routing.regions import country_code


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, the key and the problem."""


class TeamMemberConfig(StrictModel):
    slack_id: SlackUserId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["sdr", "ae", "manager"]
    active: bool = True
    # How the CRM knows this person: the owner id there, or else found by email (HubSpot owners, Salesforce User).
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    crm_owner_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    timezone: TimeZoneName | None = None  # the rep's own business hours, when sla.business_hours is set
    weight: Annotated[int, Field(ge=1, le=100)] = 1  # share in `weighted` pools
    max_open: Annotated[int, Field(ge=1)] | None = None  # capacity: skipped while this many leads are open
    territories: list[str] = []
    segments: list[str] = []
    products: list[str] = []
    holidays: str | list[str] | None = None  # the rep's own public holidays (a country code or several)

    @field_validator("holidays")
    @classmethod
    def _known_calendars(cls, value: str | list[str] | None) -> str | list[str] | None:
        for country in [value] if isinstance(value, str) else value or []:
            check_holiday_country(country)
        return value


class ChannelsConfig(StrictModel):
    escalations: SlackChannelId
    handoffs: SlackChannelId
    unclaimed: SlackChannelId | None = None  # leads nobody could take are offered here with a Claim button


class BusinessHoursConfig(StrictModel):
    """Clocks count only open time. Without this section they run 24/7."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    open: ClockTime = time(9)
    close: ClockTime = time(18)
    timezone: TimeZoneName | None = None  # default: each rep's own, else the team's
    # Public holidays (holidays package): a country code (US, GB, DE) or several ([US, DE, GB]: closed on each's).
    holidays: str | list[str] | None = None
    holidays_subdivision: str | None = None  # with one country: e.g. CA for California
    # A territory's own holidays ({EMEA: [DE, GB], NA: US}): its reps' clocks use them instead of `holidays`.
    territory_holidays: dict[str, str | list[str]] = {}
    closures: list[date] = []  # the company's own closed days (a year-end shutdown), for everyone

    def countries(self, member: TeamMemberConfig | None) -> tuple[str, ...]:
        """Whose public holidays close this member's clock: their own, their territory's, else the team's."""
        own = member.holidays if member else None
        if own is None and member:
            own = next((self.territory_holidays[t] for t in member.territories if t in self.territory_holidays), None)
        chosen = own if own is not None else self.holidays
        return (chosen,) if isinstance(chosen, str) else tuple(chosen or ())

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHoursConfig:
        if self.close <= self.open:
            raise ValueError("business_hours: close must be later than open")
        if not self.days:
            raise ValueError("business_hours: days must name at least one day")
        given = [self.holidays, *self.territory_holidays.values()]
        for country in [c for value in given if value for c in ([value] if isinstance(value, str) else value)]:
            check_holiday_country(country, self.holidays_subdivision if country == self.holidays else None)
        return self


def check_holiday_country(country: str, subdivision: str | None = None) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"no holiday calendar for {country!r} (use a country code such as US, GB, DE)") from None


IdleLimitValue = Annotated[IdleLimit | None, BeforeValidator(parse_idle_limit)]
WORKED_STAGES = ("attempting_contact", "engaged", "mql")


class StageIdleLimits(StrictModel):
    """The idle limits of a lead someone is working: a cadence spaces its steps days apart, so by default
    managers hear of it after two working days of silence and it is never taken away automatically."""

    escalate_after: IdleLimitValue = IdleLimit(business_days=2)
    reassign_after: IdleLimitValue = None


class SlaConfig(StrictModel):
    first_touch: Duration = timedelta(minutes=15)
    first_touch_hot: Duration = timedelta(minutes=5)
    escalate_after: Duration = timedelta(hours=2)
    reassign_after: Duration = timedelta(hours=24)
    ae_response: Duration = timedelta(hours=4)
    max_reassignments: Annotated[int, Field(ge=0)] = 2
    # A reminder when this share of the first-touch (and AE response) time has passed; null for none.
    reminder_at: Annotated[float, Field(gt=0, lt=1)] | None = 0.8
    business_hours: BusinessHoursConfig | None = None
    # escalate_after / reassign_after above are a New (untouched) lead's; these, a worked lead's, by stage.
    stages: dict[Literal["attempting_contact", "engaged", "mql"], StageIdleLimits] = {}

    def first_touch_for(self, hot: bool) -> timedelta:
        return self.first_touch_hot if hot else self.first_touch

    def idle_limits(self, stage: str) -> tuple[IdleLimit | None, IdleLimit | None]:
        """(escalate after, reassign after) for a lead in `stage`; None: never."""
        if stage not in WORKED_STAGES:
            return IdleLimit(duration=self.escalate_after), IdleLimit(duration=self.reassign_after)
        limits = self.stages.get(stage) or StageIdleLimits()
        return limits.escalate_after, limits.reassign_after


class SchedulerConfig(StrictModel):
    sweep_every: Duration = timedelta(seconds=15)  # the SLA sweep
    fold_every: Duration = timedelta(minutes=1)  # the /leadstats rollup takes in changed leads
    cleanup_every: Duration = timedelta(hours=1)  # old Slack event ids are forgotten


class DeliveryConfig(StrictModel):
    """Slack delivery: how long a message keeps being retried before it is given up as failed."""

    give_up_after: Duration = timedelta(hours=24)


class RuleMatch(StrictModel):
    """What a lead must have for the rule to apply; every given key must match (values: any of the list)."""

    region: list[str] = []
    country: list[str] = []
    company_size: SizeRange | None = None
    industry: list[str] = []
    product: list[str] = []
    source: list[str] = []


class PoolConfig(StrictModel):
    """Reps by id, and/or every SDR carrying one of these tags."""

    reps: list[SlackUserId] = []
    territories: list[str] = []
    segments: list[str] = []
    products: list[str] = []


class RoutingRule(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    match: RuleMatch = RuleMatch()
    pool: PoolConfig
    method: Literal["round_robin", "weighted", "load_balanced"] = "round_robin"
    respect_hours: bool = False  # skip reps outside their working hours (needs sla.business_hours)
    fallback_pool: PoolConfig | None = None


class RoutingConfig(StrictModel):
    fallback: SlackUserId
    existing_owner: bool = True  # a lead from a domain with an open lead or opportunity goes to that owner first
    rules: list[RoutingRule] = []
    # A country's sales region where the built-in split (NA, LATAM, EMEA, APAC) does not fit: {Mexico: NA}.
    country_regions: dict[str, Annotated[str, Field(min_length=1, max_length=40)]] = {}

    @field_validator("country_regions")
    @classmethod
    def _countries_known(cls, regions: dict[str, str]) -> dict[str, str]:
        codes = {}
        for country, region in regions.items():
            code = country_code(country)
            if code is None:
                raise ValueError(f"{country!r} is not a country (an ISO code such as MX, or a name such as Mexico)")
            codes[code] = region
        return codes

    @field_validator("rules")
    @classmethod
    def _names_unique(cls, rules: list[RoutingRule]) -> list[RoutingRule]:
        names = [r.name for r in rules]
        if len(names) != len(set(names)):
            raise ValueError("each rule needs its own name")
        return rules


class Config(StrictModel):
    timezone: str = "UTC"
    channels: ChannelsConfig
    team: Annotated[list[TeamMemberConfig], Field(min_length=1)]
    sla: SlaConfig = SlaConfig()
    scoring: ScoringConfig = ScoringConfig()
    routing: RoutingConfig
    scheduler: SchedulerConfig = SchedulerConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    qualification: QualificationConfig = QualificationConfig()
    sources: SourcesConfig = SourcesConfig()
    opportunity: OpportunityConfig = OpportunityConfig()
    crm: CrmConfig | None = None  # write-back to HubSpot or Salesforce; absent, none

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("team")
    @classmethod
    def _no_rep_twice(cls, team: list[TeamMemberConfig]) -> list[TeamMemberConfig]:
        seen: set[str] = set()
        for member in team:
            if member.slack_id in seen:
                raise ValueError(f"{member.slack_id} is listed twice")
            seen.add(member.slack_id)
        return team

    @model_validator(mode="after")
    def _fallback_is_on_the_team(self) -> Config:
        team = {m.slack_id for m in self.team}
        if self.routing.fallback not in team:
            raise ValueError(f"routing.fallback: {self.routing.fallback} is not on the team")
        for rule in self.routing.rules:
            for pool in (rule.pool, rule.fallback_pool):
                unknown = [rep for rep in (pool.reps if pool else []) if rep not in team]
                if unknown:
                    raise ValueError(f"routing.rules: rule {rule.name!r} names {unknown[0]}, who is not on the team")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def member(self, slack_id: str) -> TeamMemberConfig | None:
        return next((m for m in self.team if m.slack_id == slack_id), None)

    def members_with_role(self, role: str) -> list[TeamMemberConfig]:
        return [m for m in self.team if m.role == role]

    def is_manager(self, slack_id: str) -> bool:
        member = self.member(slack_id)
        return member is not None and member.role == "manager"


def _describe(error: dict) -> tuple[str, str]:
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error["loc"]).replace(".[", "[")
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return key, "unknown key"
    if kind == "missing":
        return key, "required, but missing"
    if kind == "literal_error":
        return key, f"{error['input']!r} is not one of {message.split('Input should be ')[-1]}"
    if kind == "string_pattern_mismatch":
        return key, f"{error['input']!r} does not look like a Slack id"
    message = message.removeprefix("Value error, ")
    # Cross-field checks name their own key: "routing.fallback: U0X is not on the team".
    if re.match(r"^[a-z_]+(\.[a-z_]+)+: ", message):
        key, message = message.split(": ", 1)
    return key or "(top level)", message


def parse_config(data: object, source: str) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must be a YAML mapping of keys (timezone, channels, team, ...)")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{key}: {problem}" for key, problem in map(_describe, exc.errors())]
        raise ConfigError(
            f"{source}: " + "; ".join(lines)
            if len(lines) == 1
            else f"{source} has {len(lines)} problems:\n  " + "\n  ".join(lines)
        ) from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (set LEADBOT_CONFIG, or copy leadbot.example.yml)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, str(path))
