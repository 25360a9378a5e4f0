"""Reporters' questions generated from the store itself, repeatably.

Why generated rather than a fixed list: a benchmark over a handful of hand-picked questions
measures the easy path. Building questions from every offered area and every catalogue offence,
in every period form a reporter uses (plus typos, Welsh names, county short forms and
comparisons), exercises the exact, alias, fuzzy and not-found branches of the parser in the
proportions the bot will meet them. A seeded `random.Random` makes two runs ask the same things,
so numbers from different commits are comparable.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.offences import CATALOGUE

AREA_KINDS = ("csp", "pfa", "england_and_wales", "region", "country")
PERIOD_FORMS = ("none", "latest", "year", "fy", "year_to", "12_months_to", "last_year")
WELSH_NAMES = ("Wrecsam", "Caerdydd", "Abertawe", "Casnewydd", "Sir y Fflint", "Ynys Môn",
               "Bro Morgannwg")
COUNTY_SHORT = ("Beds", "Herts", "Notts", "Hants", "Glos", "Northants", "Lancs")
CATEGORIES = ("plain", "typo", "welsh", "county_short", "comparison")
# Mostly well-formed questions, as in real use, with a steady share of every awkward kind.
CATEGORY_WEIGHTS = (55, 12, 8, 8, 17)
MONTHS = ("March", "June", "September", "December")
TEMPLATES = (
    "{offence} {place} {period}",
    "{offence} in {place} {period}",
    "how many {offence} in {place} {period}?",
    "{place} {offence} {period}",
    "what is the {offence} figure for {place} {period}",
)


@dataclass(frozen=True)
class Question:
    """One generated question and what it was built to exercise (for the coverage table)."""

    text: str
    category: str
    area_kind: str
    offence: str
    period_form: str


@dataclass(frozen=True)
class Universe:
    """What the store offers: names by area kind and the calendar years figures exist for."""

    names_by_kind: dict[str, list[str]]
    years: list[int]
    periods: list[str]


def load_universe(db_path: Path) -> Universe:
    """Read offered areas and held years straight from the SQLite file (read-only).

    Read with plain sqlite3 so the generator does not depend on private parts of `bot.store`.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        names: dict[str, list[str]] = {kind: [] for kind in AREA_KINDS}
        for name, kind in conn.execute(
                "select name, kind from areas where offered = 1 order by code"):
            if kind in names:
                names[kind].append(name)
        periods = sorted(row[0] for row in conn.execute(
            "select distinct period_end from figures"))
    finally:
        conn.close()
    missing = [kind for kind, found in names.items() if not found]
    if missing:
        raise ValueError(f"the store offers no areas of kind {', '.join(missing)}")
    return Universe(names, sorted({int(p[:4]) for p in periods}), periods)


def _period(form: str, rng: random.Random, universe: Universe) -> str:
    """A period phrase; mostly one the store holds (as reporters usually ask for published
    periods), sometimes any recent quarter-end, which exercises the "not held" answers."""
    recent = [p for p in universe.periods if int(p[:4]) >= universe.years[-1] - 12]
    if rng.random() < 0.75:
        end = rng.choice(recent or universe.periods)
        year, month = int(end[:4]), MONTHS[int(end[5:7]) // 3 - 1]
    else:
        year, month = rng.choice(universe.years[-12:]), rng.choice(MONTHS)
    if form == "none":
        return ""
    if form == "latest":
        return rng.choice(("latest", "latest figures", "most recent"))
    if form == "year":
        return str(year)
    if form == "fy":
        march = [int(p[:4]) for p in recent if p.endswith("-03-31")]
        start = (rng.choice(march) if march and rng.random() < 0.75 else year) - 1
        return f"{start}/{(start + 1) % 100:02d}"
    if form == "year_to":
        return f"year to {month} {year}"
    if form == "12_months_to":
        return f"12 months to {month} {year}"
    return "last year"


def _typo(name: str, rng: random.Random) -> str:
    """Drop or swap one letter of the place, the two slips reporters make most on a phone."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 4:
        return name
    i = rng.choice(letters[1:-1])
    if rng.random() < 0.5 or i + 1 >= len(name) or not name[i + 1].isalpha():
        return name[:i] + name[i + 1:]
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def _place(kind: str, rng: random.Random, universe: Universe) -> str:
    name = rng.choice(universe.names_by_kind[kind])
    if kind == "pfa" and rng.random() < 0.4:
        name += rng.choice((" police", " constabulary", " force"))
    return name


def generate(universe: Universe, count: int, seed: int = 20250630) -> list[Question]:
    """`count` questions; round-robin over area kinds, offences and period forms within each
    category so that every combination class appears even in a short (`--quick`) run."""
    rng = random.Random(seed)
    out: list[Question] = []
    for i in range(count):
        category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
        offence = CATALOGUE[i % len(CATALOGUE)]
        form = PERIOD_FORMS[i % len(PERIOD_FORMS)]
        kind = AREA_KINDS[i % len(AREA_KINDS)]
        words = rng.choice((*offence.words, offence.label.lower()))
        period = _period(form, rng, universe)
        if category == "typo":
            kind = rng.choice(("csp", "pfa"))
            place = _typo(_place(kind, rng, universe), rng)
        elif category == "welsh":
            kind, place = "csp", rng.choice(WELSH_NAMES)
        elif category == "county_short":
            kind, place = "pfa", rng.choice(COUNTY_SHORT)
        else:
            place = _place(kind, rng, universe)
        if category == "comparison":
            if rng.random() < 0.5:
                other = _place(rng.choice(AREA_KINDS[:2]), rng, universe)
                text = f"{words} {place} vs {other} {period}"
            else:
                year = rng.choice(universe.years[-6:])
                text = f"{words} {place} {year} vs {year - 1}"
                form = "year"
        else:
            text = rng.choice(TEMPLATES).format(offence=words, place=place, period=period)
        out.append(Question(" ".join(text.split()), category, kind, offence.key, form))
    return out
