"""Where the ONS editions live: the datasets `crimebot fetch` walks, not pinned files.

Each ONS dataset page has a JSON view at its URL + `/data` listing every edition; each edition
lists its files. Naming the datasets (not the files) is what lets next quarter's edition arrive
without a code change.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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

__all__ = ["DATASETS", "LOOKUP_URL", "ONS_BASE", "SHIPPED", "DownloadError", "Settings"]


@dataclass(frozen=True)
class Settings:
    """Where to fetch from; tests point `base` at a fake ONS site on 127.0.0.1."""

    base: str
    lookup_urls: tuple[str, ...]
    timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            base=read("CRIMEBOT_ONS_BASE"),
            lookup_urls=read("CRIMEBOT_LOOKUP_URLS"),
            timeout=read("CRIMEBOT_ONS_TIMEOUT"),
        )


class DownloadError(Exception):
    """ONS could not be reached; the message tells the operator to pass --source."""
