"""A tiny store built in code, for tests that need *a* store rather than ONS's real figures.

Like sqlite-utils' `fresh_db` and Datasette's fixtures: the records are made by hand, but they go
through the real ingest writer (`bot.ingest.write_store`), so the store has the real schema, keys,
views, populations, breaks and flags, and a change to the writer reaches these tests
too. It takes a few milliseconds and needs no file from data/ons, so the wording, rankings, desk
and Telegram tests run on a checkout without the ONS files.

What it holds (every number here is a test expectation, not an ONS figure):
- areas: England and Wales, the North West region, three forces (Greater Manchester, Lancashire,
  North Wales) and six CSPs (Manchester, Bolton and Salford in Greater Manchester, Blackpool in
  Lancashire, Wrexham and Flintshire in North Wales);
- editions: force tables for the years ending December 2023 and December 2024, CSP tables for
  December 2024 (with 2021 to 2023), a long series, a population estimate and a lookup;
- figures for the years ending December 2022 to 2024 (local areas from 2021), with a revision
  (Greater Manchester's 2023 robbery, revised by the 2024 edition), ONS published rates, a
  derived figure, a partial regional total, an offence the catalogue does not name, notes, an
  exclusion and one comparability break (Greater Manchester's knife crime, from April 2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bot.answer import Engine
from bot.ingest import Report, write_store
from bot.readers.common import (
    Edition,
    ExtraOffence,
    FileContents,
    LookupRow,
    Note,
    NoteMarker,
    NoteText,
    Observation,
    Population,
)
from bot.store import Store

# The tiny store's answers are given as of one day, like the real store's (tests/conftest.py).
TINY_TODAY = date(2025, 3, 1)
LATEST = "2024-12-31"


@dataclass(frozen=True)
class Place:
    """An area as a table prints it, with the codes a reader would find beside it."""

    level: str
    code: str
    name: str
    force_code: str = ""
    force_name: str = ""
    la_code: str = ""
    la_name: str = ""


ENGLAND_AND_WALES = Place("table", "K04000001", "England and Wales")
NORTH_WEST = Place("table", "E12000002", "North West")
GREATER_MANCHESTER = Place("pfa", "E23000005", "Greater Manchester", "E23000005",
                           "Greater Manchester")
LANCASHIRE = Place("pfa", "E23000003", "Lancashire", "E23000003", "Lancashire")
MANCHESTER = Place("csp", "E22000101", "Manchester", "E23000005", "Greater Manchester",
                   "E08000003", "Manchester")
BOLTON = Place("csp", "E22000099", "Bolton", "E23000005", "Greater Manchester",
               "E08000001", "Bolton")
SALFORD = Place("csp", "E22000104", "Salford", "E23000005", "Greater Manchester",
                "E08000006", "Salford")
BLACKPOOL = Place("csp", "E22000151", "Blackpool", "E23000003", "Lancashire",
                  "E06000009", "Blackpool")
NORTH_WALES = Place("pfa", "W15000001", "North Wales", "W15000001", "North Wales")
WREXHAM = Place("csp", "W14000006", "Wrexham", "W15000001", "North Wales", "W06000006", "Wrexham")
FLINTSHIRE = Place("csp", "W14000005", "Flintshire", "W15000001", "North Wales", "W06000005",
                   "Flintshire")
CSPS = (MANCHESTER, BOLTON, SALFORD, BLACKPOOL, WREXHAM, FLINTSHIRE)
# In the lookup and the population estimates but in no crime table: a force's population is the
# sum of all its local authorities, not only those that print figures.
PRESTON = Place("csp", "E22000157", "Preston", "E23000003", "Lancashire", "E07000123", "Preston")
CONWY = Place("csp", "W14000003", "Conwy", "W15000001", "North Wales", "W06000003", "Conwy")
UNPRINTED = (PRESTON, CONWY)

# Counts by (place, offence) for the years ending December 2022, 2023 and 2024 (local areas:
# 2021 too).
FORCE_COUNTS: dict[tuple[Place, str], tuple[int, int, int]] = {
    (ENGLAND_AND_WALES, "all_crime"): (6_500_000, 6_700_000, 6_600_000),
    (ENGLAND_AND_WALES, "robbery"): (70_000, 80_000, 81_000),
    (ENGLAND_AND_WALES, "burglary"): (200_000, 190_000, 180_000),
    (ENGLAND_AND_WALES, "knife"): (48_000, 50_000, 52_000),
    (NORTH_WEST, "all_crime"): (800_000, 820_000, 810_000),
    (NORTH_WEST, "robbery"): (7_000, 7_800, 7_600),
    (NORTH_WEST, "burglary"): (25_000, 24_000, 23_000),
    (NORTH_WEST, "knife"): (6_000, 6_200, 6_400),
    (GREATER_MANCHESTER, "all_crime"): (380_000, 390_000, 370_000),
    (GREATER_MANCHESTER, "robbery"): (4_000, 4_800, 4_600),
    (GREATER_MANCHESTER, "burglary"): (12_000, 11_000, 10_500),
    (GREATER_MANCHESTER, "knife"): (3_000, 3_100, 3_500),
    (LANCASHIRE, "all_crime"): (150_000, 155_000, 160_000),
    (LANCASHIRE, "robbery"): (900, 1_000, 1_100),
    (LANCASHIRE, "burglary"): (5_000, 4_800, 4_700),
    (LANCASHIRE, "knife"): (800, 850, 900),
    (ENGLAND_AND_WALES, "sexual"): (196_000, 190_000, 185_000),
    (NORTH_WEST, "sexual"): (25_000, 24_500, 24_000),
    (GREATER_MANCHESTER, "sexual"): (11_000, 10_800, 10_500),
    (LANCASHIRE, "sexual"): (4_000, 3_900, 3_800),
    (NORTH_WALES, "all_crime"): (60_000, 58_000, 57_000),
    (NORTH_WALES, "sexual"): (2_400, 2_300, 2_200),
}
CSP_COUNTS: dict[tuple[Place, str], tuple[int, int, int, int]] = {
    (MANCHESTER, "all_crime"): (132_480, 138_000, 140_000, 135_000),
    (MANCHESTER, "robbery"): (1_824, 1_900, 2_000, 1_860),
    (MANCHESTER, "burglary"): (2_976, 3_100, 3_000, 2_800),
    (MANCHESTER, "sexual"): (3_840, 4_000, 3_900, 3_700),
    (BOLTON, "all_crime"): (27_840, 29_000, 30_000, 31_000),
    (BOLTON, "robbery"): (269, 280, 300, 330),
    (BOLTON, "burglary"): (1_008, 1_050, 1_000, 1_100),
    (BOLTON, "sexual"): (864, 900, 950, 1_000),
    (SALFORD, "all_crime"): (33_600, 35_000, 36_000, 34_000),
    (SALFORD, "robbery"): (480, 500, 520, 480),
    (SALFORD, "burglary"): (1_248, 1_300, 1_250, 1_200),
    (SALFORD, "sexual"): (1_056, 1_100, 1_050, 1_000),
    (BLACKPOOL, "all_crime"): (20_160, 21_000, 20_000, 19_000),
    (BLACKPOOL, "robbery"): (154, 160, 150, 140),
    (BLACKPOOL, "burglary"): (691, 720, 700, 650),
    (BLACKPOOL, "sexual"): (576, 600, 580, 560),
    (WREXHAM, "all_crime"): (12_480, 13_000, 12_500, 12_000),
    (WREXHAM, "sexual"): (461, 536, 520, 500),
    (FLINTSHIRE, "all_crime"): (10_560, 11_000, 11_500, 11_200),
    (FLINTSHIRE, "sexual"): (460, 479, 470, 490),
}
# Greater Manchester's 2023 robbery as the December 2023 edition first printed it; the
# December 2024 edition revised it to FORCE_COUNTS' figure.
FIRST_PRINTED_GM_ROBBERY_2023 = 4_700
# Lancashire's long-series figure for 2021, which only a sum of its parts gives (derived).
DERIVED_LANCASHIRE_2021 = 145_000
# People by local authority (mid-2023), and England and Wales's total.
PEOPLE = {"E08000003": 580_000, "E08000001": 300_000, "E06000009": 140_000,
          "E07000123": 1_400_000, "E08000006": 280_000, "W06000006": 135_000, "W06000003": 410_000,
          "W06000005": 155_000}
PEOPLE_ENGLAND_AND_WALES = 60_850_000
KNIFE_BREAK = ("Greater Manchester Police reviewed their recording of knife or sharp instrument "
               "offences in March 2024; data for Greater Manchester are not directly comparable "
               "with previous years.")
NORTH_WEST_EXCLUSION = ("Greater Manchester Police were unable to supply data for the year ending "
                        "December 2022; their figures are not included in the National and "
                        "Regional totals.")
PERIODS = ("2022-12-31", "2023-12-31", "2024-12-31")
CSP_PERIODS = ("2021-12-31", *PERIODS)


def edition(key: str, title: str, dataset: str, period_end: str, published: str) -> Edition:
    return Edition(key, title, dataset, period_end, published, f"{key}.xlsx", f"sha-{key}")


def observe(place: Place, offence: str, period_end: str, count: int | None, *,
            rate: float | None = None, flag: str | None = None, sheet: str = "Table P1",
            cell: str = "C10") -> Observation:
    return Observation(
        place.level, place.code, place.name, place.force_code, place.force_name, place.la_code,
        place.la_name, offence, period_end, count, rate=rate,
        rate_basis="ONS published rate, mid-2023 population" if rate is not None else None,
        flag=flag, sheet=sheet, cell=cell, row_label=place.name, column_label=offence)


def force_tables_2023() -> FileContents:
    """The December 2023 edition: 2022 and 2023, with the first print of a later revision."""
    observations = [observe(place, offence, period, counts[i])
                    for (place, offence), counts in FORCE_COUNTS.items()
                    for i, period in enumerate(PERIODS[:2])
                    if not (place is NORTH_WEST and period == PERIODS[0])]
    observations = [o for o in observations
                    if not (o.code == GREATER_MANCHESTER.code and o.offence == "robbery"
                            and o.period_end == PERIODS[1])]
    observations.append(observe(GREATER_MANCHESTER, "robbery", PERIODS[1],
                                FIRST_PRINTED_GM_ROBBERY_2023))
    # Without Greater Manchester, the North West's 2022 totals are partial.
    observations += [observe(NORTH_WEST, offence, PERIODS[0],
                             counts[0] - FORCE_COUNTS[GREATER_MANCHESTER, offence][0],
                             flag="partial")
                     for (place, offence), counts in FORCE_COUNTS.items() if place is NORTH_WEST]
    return FileContents(
        edition("pfa-2023-12-31", "Crime in England & Wales, year ending December 2023 - PFA "
                "tables", "pfa", PERIODS[1], "2024-04-25"),
        observations=observations,
        notes=[Note(NORTH_WEST.code, NORTH_WEST.name, None, PERIODS[0], PERIODS[0],
                    NORTH_WEST_EXCLUSION)])


def force_tables_2024() -> FileContents:
    """The December 2024 edition: 2023 and 2024, rates for 2024, one break and an extra offence."""
    observations = [observe(place, offence, period, counts[i + 1])
                    for (place, offence), counts in FORCE_COUNTS.items()
                    for i, period in enumerate(PERIODS[1:])]
    people = {GREATER_MANCHESTER: PEOPLE["E08000003"] + PEOPLE["E08000001"]
              + PEOPLE["E08000006"],
              LANCASHIRE: PEOPLE["E06000009"] + PEOPLE["E07000123"],
              NORTH_WALES: PEOPLE["W06000006"] + PEOPLE["W06000003"] + PEOPLE["W06000005"],
              ENGLAND_AND_WALES: PEOPLE_ENGLAND_AND_WALES}
    observations += [observe(place, offence, PERIODS[2], None,
                             rate=counts[2] / people[place] * 1000, sheet="Table P2")
                     for (place, offence), counts in FORCE_COUNTS.items() if place in people]
    observations.append(observe(ENGLAND_AND_WALES, "19c-rape-of-a-female-aged-16-or-over",
                                PERIODS[2], 30_000, sheet="Table A5"))
    return FileContents(
        edition("pfa-2024-12-31", "Crime in England & Wales, year ending December 2024 - PFA "
                "tables", "pfa", PERIODS[2], "2025-04-24"),
        observations=observations,
        offences=[ExtraOffence("19c-rape-of-a-female-aged-16-or-over",
                               "Rape of a female aged 16 or over", "rape", "19C")],
        note_texts=[NoteText(("P1",), 4, KNIFE_BREAK)],
        markers=[NoteMarker("P1", 4, GREATER_MANCHESTER.code, GREATER_MANCHESTER.name)],
        table_offences={"P1": ("knife",)})


def csp_tables_2024() -> FileContents:
    return FileContents(
        edition("csp-2024-12-31", "Crime in England & Wales, year ending December 2024 - CSP "
                "tables", "csp", PERIODS[2], "2025-04-24"),
        observations=[observe(place, offence, period, counts[i], sheet="Table C2")
                      for (place, offence), counts in CSP_COUNTS.items()
                      for i, period in enumerate(CSP_PERIODS)])


def long_series() -> FileContents:
    """A long series whose total for 2021 is only the sum of its parts (flag 'derived')."""
    return FileContents(
        edition("pfa-series-2021-12-31", "Police recorded crime by police force area",
                "pfa-series", "2021-12-31", "2022-04-28"),
        observations=[observe(LANCASHIRE, "all_crime", "2021-12-31", DERIVED_LANCASHIRE_2021,
                              flag="derived", sheet="")])


def geography() -> list[FileContents]:
    lookups = [LookupRow(2023, p.la_code, p.la_name, p.code, p.name, p.force_code,
                         p.force_name) for p in (*CSPS, *UNPRINTED)]
    populations = [Population(p.la_code, p.la_name, "LAD", 2023, PEOPLE[p.la_code], "MYE4",
                              f"D{row}") for row, p in enumerate((*CSPS, *UNPRINTED), start=10)]
    populations.append(Population(ENGLAND_AND_WALES.code, ENGLAND_AND_WALES.name, "Country",
                                  2023, PEOPLE_ENGLAND_AND_WALES, "MYE4", "D9"))
    return [
        FileContents(edition("lookup-2023", "Local Authority District to CSP to Police Force "
                             "Area lookup (2023)", "lookup", "2023-12-31", ""), lookups=lookups),
        FileContents(edition("population-mid-2023", "Population estimates, mid-2023",
                             "population", "2023-06-30", "2024-07-15"),
                     populations=populations),
    ]


def contents() -> list[FileContents]:
    """Every hand-made file, as the readers would hand them to ingest."""
    return [*geography(), long_series(), force_tables_2023(), force_tables_2024(),
            csp_tables_2024()]


def build_tiny(path: Path) -> Report:
    """Write the tiny store to `path` through the real ingest writer."""
    return write_store(contents(), path)


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.db"
    build_tiny(path)
    return path


@pytest.fixture(scope="session")
def tiny_store(tiny_db: Path) -> Store:
    return Store(tiny_db)


@pytest.fixture(scope="session")
def tiny_engine(tiny_store: Store) -> Engine:
    return Engine(tiny_store, TINY_TODAY)
