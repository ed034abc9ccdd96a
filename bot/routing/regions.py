"""Sales regions (NA, LATAM, EMEA, APAC) from a lead's country, for routing rules that match `region`.

Exports and forms carry a country ("Germany", "DE", "DEU", "Deutschland", "UK"), rarely a sales region.
pycountry resolves the country; the region of each country is the usual B2B split, and the admin may move
any country elsewhere with `routing.country_regions`.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

REGIONS = ("NA", "LATAM", "EMEA", "APAC")
_NORTH_AMERICA = frozenset("US CA PM BM GL UM".split())
_LATIN_AMERICA = frozenset(
    "MX GT BZ SV HN NI CR PA CU DO HT JM TT BB BS AG DM GD KN LC VC AW CW SX BQ AI VG VI KY TC MS PR GP MQ BL MF "
    "CO VE EC PE BO CL AR UY PY BR GY SR GF FK GS".split()
)
_ASIA_PACIFIC = frozenset(
    "CN HK MO TW JP KR KP MN IN PK BD LK NP BT MV AF MM TH LA KH VN MY SG ID BN PH TL AU NZ PG FJ SB VU NC PF WS "
    "TO KI TV NR PW FM MH CK NU TK WF AS GU MP NF CX CC HM IO PN".split()
)  # everything else pycountry knows (Europe, the Middle East, Africa, Central Asia) is EMEA
# Names people type that are not a country's ISO name, code or common name.
_ALIASES = {
    "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "great britain": "GB", "britain": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "america": "US",
    "united states of america": "US", "uae": "AE", "korea": "KR", "south korea": "KR", "russia": "RU",
    "holland": "NL", "deutschland": "DE", "czech republic": "CZ", "vietnam": "VN", "iran": "IR", "turkey": "TR",
    "méxico": "MX", "brasil": "BR", "españa": "ES", "espana": "ES", "italia": "IT", "schweiz": "CH",
    "österreich": "AT", "nederland": "NL", "sverige": "SE", "norge": "NO", "danmark": "DK", "polska": "PL",
}  # fmt: skip


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """The ISO 3166 alpha-2 code of a country given by code, name or common alias; None if it is not one."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.lower() in _ALIASES:
        return _ALIASES[text.lower()]
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def region_of_country(code: str, overrides: dict[str, str] | None = None) -> str:
    if overrides and code in overrides:
        return overrides[code]
    if code in _NORTH_AMERICA:
        return "NA"
    if code in _LATIN_AMERICA:
        return "LATAM"
    return "APAC" if code in _ASIA_PACIFIC else "EMEA"


def sales_region(region: str | None, country: str | None, overrides: dict[str, str] | None = None) -> str | None:
    """The lead's sales region: the one it names, else its country's, else None.

    A `region` that is a country (some forms put it there) counts as the country.
    """
    names = {r.lower(): r for r in (*REGIONS, *(overrides or {}).values())}
    if region and region.strip().lower() in names:
        return names[region.strip().lower()]
    code = country_code(country) or country_code(region)
    return region_of_country(code, overrides) if code else None
