"""Where the ONS editions live: the datasets `crimebot fetch` walks, not pinned files.

Each ONS dataset page has a JSON view at its URL + `/data` listing every edition; each edition
lists its files. Naming the datasets (not the files) is what lets next quarter's edition arrive
without a code change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ONS_BASE = "https://www.ons.gov.uk"
CRIME = "/peoplepopulationandcommunity/crimeandjustice/datasets"
POPULATION = "/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets"

DATASETS: dict[str, str] = {
    "pfa": f"{CRIME}/policeforceareadatatables",
    "csp": f"{CRIME}/recordedcrimedatabycommunitysafetypartnershiparea",
    "appendix": f"{CRIME}/crimeinenglandandwalesappendixtables",
    "pfa-series": f"{CRIME}/recordedcrimedataatpoliceforcearealevel",
    "population": f"{POPULATION}/populationestimatesforukenglandandwalesscotlandandnorthernireland",
}

LOOKUP_URL = (
    "https://open-geography-portal-ons.hub.arcgis.com/api/download/v1/items/"
    "local-authority-district-to-csps-to-police-force-areas-december-2023-lookup/csv")


@dataclass(frozen=True)
class Settings:
    """Where to fetch from; tests point `base` at a fake ONS site on 127.0.0.1."""

    base: str
    lookup_urls: tuple[str, ...]
    timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            base=os.environ.get("CRIMEBOT_ONS_BASE", ONS_BASE).rstrip("/"),
            lookup_urls=tuple(os.environ.get("CRIMEBOT_LOOKUP_URLS", LOOKUP_URL).split()),
            timeout=float(os.environ.get("CRIMEBOT_ONS_TIMEOUT", "20")),
        )


class DownloadError(Exception):
    """ONS could not be reached; the message tells the operator to pass --source."""
