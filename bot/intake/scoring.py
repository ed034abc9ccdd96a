"""The playbook's lead scoring model; every number comes from `scoring` in the config."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.config_scoring import ScoringConfig


@dataclass(frozen=True)
class ScoreRule:
    rule: str
    points: int
    detail: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "points": self.points, "detail": self.detail}


@dataclass(frozen=True)
class Score:
    points: int
    reasons: list[ScoreRule] = field(default_factory=list)
    hot: bool = False
    mql: bool = False


@dataclass(frozen=True)
class ScoringInput:
    email_domain: str
    industry: str | None = None
    company_size: str | None = None
    country: str | None = None
    region: str | None = None
    title: str | None = None
    demo_request: bool = False
    pricing_page_visit: bool = False
    pages_visited: tuple[str, ...] = ()


_SIZE_RANGE = re.compile(r"^\s*(\d[\d,]*)\s*(?:-|–|to)\s*(\d[\d,]*)\s*$")
_SIZE_OPEN = re.compile(r"^\s*(\d[\d,]*)\s*\+\s*$")
_SIZE_ONE = re.compile(r"^\s*(\d[\d,]*)\s*$")


def company_size_bounds(size: str | None) -> tuple[int, int | None] | None:
    """'51-200' → (51, 200); '1000+' → (1000, None); '75' → (75, 75); anything else → None."""
    if not size:
        return None
    if m := _SIZE_RANGE.match(size):
        return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    if m := _SIZE_OPEN.match(size):
        return int(m.group(1).replace(",", "")), None
    if m := _SIZE_ONE.match(size):
        n = int(m.group(1).replace(",", ""))
        return n, n
    return None


def _visited_pricing(lead: ScoringInput, paths: list[str]) -> bool:
    if lead.pricing_page_visit:
        return True
    return any(path.lower() in page.lower() for page in lead.pages_visited for path in paths)


def _icp_reasons(lead: ScoringInput, config: ScoringConfig) -> list[ScoreRule]:
    icp, points, reasons = config.icp, config.icp_match, []
    if icp.industries and lead.industry and lead.industry.strip().lower() in {i.lower() for i in icp.industries}:
        reasons.append(ScoreRule("icp_industry", points, f"ICP industry: {lead.industry}"))
    bounds = company_size_bounds(lead.company_size)
    if icp.company_size and bounds:
        low, high = bounds
        top = icp.company_size.max
        overlaps = (high is None or high >= icp.company_size.min) and (top is None or low <= top)
        if overlaps:
            reasons.append(ScoreRule("icp_company_size", points, f"ICP company size: {lead.company_size}"))
    wanted_regions = {r.lower() for r in icp.regions}
    place = next((p for p in (lead.region, lead.country) if p and p.strip().lower() in wanted_regions), None)
    if place:
        reasons.append(ScoreRule("icp_region", points, f"ICP region: {place}"))
    if icp.seniority and lead.title:
        words = set(re.findall(r"[a-z]+", lead.title.lower()))
        hit = next((s for s in icp.seniority if s.lower() in words), None)
        if hit:
            reasons.append(ScoreRule("icp_seniority", points, f"ICP seniority: {lead.title}"))
    return reasons


def score_lead(lead: ScoringInput, config: ScoringConfig) -> Score:
    reasons = _icp_reasons(lead, config)
    if lead.demo_request:
        reasons.append(ScoreRule("demo_request", config.demo_request, "Requested a demo"))
    if _visited_pricing(lead, config.pricing_page_paths):
        reasons.append(ScoreRule("pricing_page", config.pricing_page, "Visited the pricing page"))
    if lead.email_domain in {d.lower() for d in config.free_email_domains}:
        reasons.append(ScoreRule("free_email", config.free_email, f"Free email domain ({lead.email_domain})"))
    points = sum(r.points for r in reasons)
    return Score(
        points=points,
        reasons=reasons,
        hot=config.hot_on_demo_request and lead.demo_request,
        mql=points >= config.mql_threshold,
    )
