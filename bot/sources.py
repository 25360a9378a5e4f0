"""Where the ONS editions live: the datasets `crimebot fetch` walks, not pinned files.

Each ONS dataset page has a JSON view at its URL + `/data` listing every edition; each edition
lists its files. Naming the datasets (not the files) is what lets next quarter's edition arrive
without a code change.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import LOOKUP_URL, ONS_BASE, read

CRIME = "/peoplepopulationandcommunity/crimeandjustice/datasets"
POPULATION = "/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets"

DATASETS: dict[str, str] = {
    "pfa": f"{CRIME}/policeforceareadatatables",
    "csp": f"{CRIME}/recordedcrimedatabycommunitysafetypartnershiparea",
    "appendix": f"{CRIME}/crimeinenglandandwalesappendixtables",
    "pfa-series": f"{CRIME}/recordedcrimedataatpoliceforcearealevel",
    "population": f"{POPULATION}/populationestimatesforukenglandandwalesscotlandandnorthernireland",
}



def _shipped() -> Path:
    """The ONS files the project ships (OGL v3.0, see their SOURCES.md): `data/ons` in a
    checkout, `<prefix>/share/crimebot/ons` where pip installed them (the Docker image), so
    both a bare clone and the image build a store offline."""
    checkout = Path(__file__).resolve().parent.parent / "data" / "ons"
    installed = Path(sys.prefix) / "share" / "crimebot" / "ons"
    return checkout if checkout.is_dir() or not installed.is_dir() else installed


SHIPPED = _shipped()
# A file's row in SHIPPED/SOURCES.md: name, what it is, ONS page, release, bytes, SHA-256.
SOURCES_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| .* \| <(?P<page>https://[^>]+)> \| "
                         r"(?P<released>[^|]+) \| (?P<bytes>[\d,]+) \| `(?P<sha>[0-9a-f]{64})` \|$",
                         re.M)
LONG_DATE = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}")

__all__ = ["DATASETS", "LOOKUP_URL", "ONS_BASE", "SHIPPED", "DownloadError", "Provenance",
           "Settings"]


@dataclass(frozen=True)
class Provenance:
    """Where one file (known by its SHA-256) came from, recorded beside its edition in the store
    so `crimebot history` and `ask --json` can say when and from where it was fetched.

    `fetched_at` is None for the files shipped in data/ons: they were not fetched by this
    deployment, and `url` is then the ONS page SOURCES.md names.
    """

    url: str
    released: str | None
    fetched_at: str | None


def iso_date(text: str) -> str | None:
    """The first "24 April 2025" in the text as 2025-04-24."""
    match = LONG_DATE.search(text)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(0), "%d %B %Y").date().isoformat()
    except ValueError:
        return None


def shipped_provenance(folder: Path = SHIPPED) -> dict[str, Provenance]:
    """The shipped files' pages and release dates, from their SOURCES.md, by SHA-256."""
    listing = folder / "SOURCES.md"
    if not listing.is_file():
        return {}
    return {row["sha"]: Provenance(row["page"], iso_date(row["released"]), None)
            for row in SOURCES_ROW.finditer(listing.read_text(encoding="utf-8"))}


@dataclass(frozen=True)
class Settings:
    """Where to fetch from; tests point `base` at a fake ONS site on 127.0.0.1."""

    base: str
    lookup_urls: tuple[str, ...]
    timeout: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read once, by `crimebot fetch` at start, and handed down to `fetch`."""
        return cls(
            base=read("CRIMEBOT_ONS_BASE", environ),
            lookup_urls=read("CRIMEBOT_LOOKUP_URLS", environ),
            timeout=read("CRIMEBOT_ONS_TIMEOUT", environ),
        )


class DownloadError(Exception):
    """ONS could not be reached; the message tells the operator to pass --source."""
