"""Where the ONS editions live, and fetching them when no local source is given.

The URLs are the one thing to edit when ONS publishes a new quarter; the readers recognise files by
content, so a renamed file still loads.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from bot.config import read

ONS_FILES: dict[str, str] = {
    "policeforceareatablesyedecember2024.xlsx":
        "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/crimeandjustice/"
        "datasets/policeforceareadatatables/yearendingdecember2024/"
        "policeforceareatablesyedecember2024.xlsx",
    "csptablesyedec22.xlsx":
        "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/crimeandjustice/"
        "datasets/recordedcrimedatabycommunitysafetypartnershiparea/current/csptablesyedec22.xlsx",
    "appendixtablesyesept22.xlsx":
        "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/crimeandjustice/"
        "datasets/crimeinenglandandwalesappendixtables/yearendingseptember2022/"
        "appendixtablesyesept22.xlsx",
    "rec-crime-pfa.csv":
        "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/crimeandjustice/"
        "datasets/recordedcrimedataatpoliceforcearealevel/current/rec-crime-pfa.csv",
    "lad23_csp_pfa_lookup.csv":
        "https://open-geography-portal-ons.hub.arcgis.com/api/download/v1/items/"
        "local-authority-district-to-csps-to-police-force-areas-december-2023-lookup/csv",
    "mye23tablesew.xlsx":
        "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/populationandmigration/"
        "populationestimates/datasets/populationestimatesforukenglandandwalesscotlandand"
        "northernireland/mid2023/mye23tablesew.xlsx",
}


class DownloadError(Exception):
    """ONS could not be reached; the message tells the operator to pass --source."""


def download(target: Path, timeout: float | None = None) -> Path:
    """Fetch every ONS file into `target`; fail fast (first failure) when offline."""
    timeout = timeout or read("CRIMEBOT_ONS_TIMEOUT")
    target.mkdir(parents=True, exist_ok=True)
    for name, url in ONS_FILES.items():
        request = urllib.request.Request(url, headers={"User-Agent": "crimebot-ingest"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                (target / name).write_bytes(response.read())
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DownloadError(
                f"could not download {name} from ONS ({error}). Offline? Pass --source DIR "
                "with the ONS files, or set CRIMEBOT_SOURCES.") from error
    return target
