"""Places: the area codes every layer names, the kinds of area, and how a name is compared and
shown.

One home for each rule about places, so ingest, facts, wording, rankings, the desk, stories and
charts cannot drift: England and Wales's code, the kind an ONS code prefix means, the key two
spellings of one name share, and the one display rule (ONS's "Bristol, City of" is written
"City of Bristol" everywhere a reader sees it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ENGLAND_AND_WALES = "K04000001"
ENGLAND = "E92000001"
WALES = "W92000004"
NATIONAL_NAME = "England and Wales"

# The kind of area an ONS (GSS) code prefix names; anything else is "other" (or a CSP, read
# from its own table).
KIND_BY_PREFIX = {"K04": "england_and_wales", "E92": "country", "W92": "country",
                  "E12": "region", "E23": "pfa", "W15": "pfa"}
# What each kind is called where a reader chooses between areas.
KIND_NAMES = {"csp": "local area", "pfa": "police force area", "region": "region",
              "country": "country", "england_and_wales": NATIONAL_NAME, "other": "other"}

MAX_QUESTION = 4096
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORCE_WORD = re.compile(r"\b(police|constabulary)\b", re.I)


def normalise(question: str) -> str:
    """Lower case, accents folded, invisible characters dropped, at most MAX_QUESTION chars:
    the one folding under which questions and place names are compared."""
    text = question[:MAX_QUESTION]
    if text.isascii():
        # The common case, and the answer path's hottest line: no Unicode folding to do.
        folded = _ASCII_CONTROL.sub("", text).lower()
    else:
        text = unicodedata.normalize("NFKC", text)
        text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in
                       {"Cf", "Cc", "Co", "Cs"})
        folded = "".join(c for c in unicodedata.normalize("NFKD", text)
                         if not unicodedata.combining(c)).lower()
    folded = folded.replace("’", "'").replace("‘", "'").replace("&", " and ")
    folded = re.sub(r"^\s*/\w+(@\w+)?", " ", folded)
    folded = re.sub(r"@\w+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


@lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """The form names are compared in: "Bristol, City of" → "city of bristol"."""
    name = normalise(name)
    name = re.sub(r"^(.*), city of$", r"city of \1", name)
    name = re.sub(r"[^a-z0-9' ]+", " ", name.replace("-", " "))
    return re.sub(r"\s+", " ", name).strip()


def display(name: str) -> str:
    """ONS's "Bristol, City of" in reading order, "City of Bristol": the one rule every answer,
    ranking, digest and story names an area by. Dropping "City of" instead would turn the City
    of London's force ("London, City of") into London, the region."""
    return re.sub(r"^(.*), (City|County) of$", r"\2 of \1", name)


def says_police(name: str) -> bool:
    """Whether a name already says it is a police body ("Dyfed-Powys Police")."""
    return bool(_FORCE_WORD.search(name))


def force_name(name: str) -> str:
    """A force by its police name ("North Wales" → "North Wales Police"), so a force is never
    read as the place of the same name; names that already say police are kept."""
    name = display(name)
    return name if says_police(name) else f"{name} Police"


def display_name(name: str, kind: str = "") -> str:
    """An area as a list names it: the display rule, and with kind "pfa" the force's police
    name."""
    return force_name(name) if kind == "pfa" else display(name)


def region_phrase(name: str) -> str:
    """"the North East", "the East", but "London", "Wales", "Yorkshire and The Humber": a
    region named by its compass point takes "the" in a sentence."""
    return f"the {name}" if re.match(r"(North|South|East|West)\b", name) else name
