"""`crimebot browse`: the store in Datasette, on 127.0.0.1, read-only, described for a data desk.

Datasette is an optional extra (`pip install -e ".[browse]"`): the bot never needs it. The
metadata (title, licence, sources, what each table and column means, and the queries a desk asks
first) is made here from the store's own schema, so it names the database the way Datasette will
and never describes a column the store does not have.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.config import ONS_BASE
from bot.sources import DATASETS

LICENCE = "Open Government Licence v3.0"
LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
SOURCE = "Office for National Statistics / Home Office — police recorded crime"
INSTALL = 'Datasette is not installed: pip install -e ".[browse]"'

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "figures_labelled": (
        "One row per figure with every code spelled out and where it was printed: start here.",
        {"area_code": "ONS area code (or crimebot's own code for an area ONS printed without one)",
         "area": "area name as held", "area_kind": "csp, pfa, region, country, …",
         "force": "police force area the area lies in",
         "offence_key": "crimebot's key for the offence", "offence": "offence as ONS labels it",
         "period_end": "last day of the 12 months counted",
         "count": "police recorded crimes (empty when ONS printed no figure)",
         "rate": "ONS published rate per 1,000 residents", "rate_basis": "what the rate rests on",
         "flag": "derived (summed from printed parts) or partial (a total lacking a force)",
         "edition": "title of the edition the count comes from",
         "file": "the ONS file it was read from", "sheet": "sheet (empty for a CSV)",
         "cell": "cell in A1 notation", "row_label": "row heading as printed",
         "column_label": "column heading as printed",
         "cells": "for a derived total, the cells it adds up",
         "rate_file": "file the rate was read from", "rate_sheet": "sheet of the rate",
         "rate_cell": "cell of the rate", "page": "the ONS page the edition is published on"}),
    "figures": ("The newest published count (and rate) for each area, offence and period.", {}),
    "revisions": ("Every edition's count wherever more than one edition printed the figure.", {}),
    "sources": ("Where an edition printed a figure: sheet, cell and headings.", {}),
    "labels": ("Row and column headings as printed, each stored once.", {}),
    "areas": ("Areas: CSPs, police force areas, regions, countries.", {}),
    "offences": ("Offences, with the group each belongs to.", {}),
    "editions": ("The ONS files the store was built from.", {}),
    "notes": ("The files' own notes that qualify figures (undercounts, missing data).", {}),
    "population": ("Mid-year population estimates used for rates crimebot works out.", {}),
    "local_authorities": ("Local authority → CSP → police force area, from ONS lookups.", {}),
}

QUERIES: dict[str, dict[str, str]] = {
    "place_series": {
        "title": "A place's whole series",
        "description": "Every figure held for one area (name or code), by offence and period.",
        "sql": "select offence, period_end, count, rate, flag, edition, file, sheet, cell "
               "from figures_labelled where area = :area or area_code = :area "
               "order by offence, period_end",
    },
    "offence_period": {
        "title": "Every area for one offence and period",
        "description": "One offence (key, e.g. burglary) in one period (e.g. 2024-12-31).",
        "sql": "select area, area_kind, force, count, rate, flag, file, sheet, cell "
               "from figures_labelled where offence_key = :offence "
               "and period_end = :period_end order by area_kind, count desc",
    },
    "revisions": {
        "title": "Revisions of one figure",
        "description": "The count each edition printed for one area, offence and period.",
        "sql": "select e.title as edition, e.published, r.count, e.file, s.sheet, s.cell "
               "from revisions r join areas a on a.code = r.area "
               "join editions e on e.key = r.edition left join sources s on s.id = r.source "
               "where (a.name = :area or a.code = :area) and r.offence = :offence "
               "and r.period_end = :period_end order by e.period_end, e.published",
    },
}


def metadata(db_path: Path) -> dict:
    """Datasette metadata for the store at `db_path` (Datasette names it by the file stem)."""
    tables = {name: {"description": description,
                     **({"columns": columns} if columns else {})}
              for name, (description, columns) in TABLES.items()}
    for table, label in (("areas", "name"), ("offences", "label"), ("editions", "title"),
                         ("labels", "label")):
        tables[table]["label_column"] = label
    return {
        "title": "crimebot: police recorded crime in England and Wales",
        "description": "Every figure crimebot answers from, each cited to the file, sheet and "
                       "cell ONS printed it in.",
        "license": LICENCE, "license_url": LICENCE_URL,
        "source": SOURCE, "source_url": ONS_BASE + DATASETS["pfa"],
        "databases": {db_path.stem: {"tables": tables, "queries": QUERIES}},
    }


def serve(db_path: Path, host: str, port: int, metadata_path: Path) -> int:
    """Run Datasette on the store, immutable (opened read-only, never locked or written)."""
    try:
        from datasette.cli import cli
    except ImportError:
        print(f"crimebot: {INSTALL}", file=sys.stderr)
        return 2
    metadata_path.write_text(json.dumps(metadata(db_path), indent=1), encoding="utf-8")
    return cli.main(["serve", "-i", str(db_path), "--metadata", str(metadata_path),
                     "--host", host, "--port", str(port)], standalone_mode=False) or 0
