"""The name indexes a store carries: the gazetteer, the offence phrases and local authority keys.

`crimebot ingest` builds them into the store itself (tables `place_names`, `offence_phrases`,
`la_keys`), so a fresh `crimebot ask` reads them back instead of folding some 1,500 names and
every offence phrase again, which was a third of its start. The store is one immutable file, so
the tables cannot fall behind its areas; what can differ is the code that builds them (a new
alias in a release that has not re-ingested yet), so the store records a fingerprint of that code
and a store indexed by other code is indexed again in memory, as before.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from bot.gazetteer import Gazetteer, Place
from bot.offence_index import OffenceIndex
from bot.places import name_key
from bot.store import Store

# The modules whose code decides what the indexes hold: a change to any of them is a new index.
INDEX_CODE = ("places.py", "words.py", "gazetteer.py", "offence_index.py", "offences.py",
              "indexes.py")


@dataclass(frozen=True)
class Indexes:
    """What understanding needs from a store: names → codes, phrases → offence keys, and the
    newest lookup year that names each local authority (to say "Harrogate is now part of …")."""

    gazetteer: Gazetteer
    offences: OffenceIndex
    la_years: dict[str, int]


def code_fingerprint() -> str:
    """A checksum of the index-building code, or "" when it cannot be read (then no stored index
    is trusted). A checksum rather than a version number: nobody has to remember to bump it."""
    here = Path(__file__).parent
    try:
        code = b"".join((here / name).read_bytes() for name in INDEX_CODE)
    except OSError:
        return ""
    return f"{zlib.crc32(code):08x}"


def build(store: Store) -> Indexes:
    """The indexes from the store's areas, former names, lookups and offence labels."""
    every = store.areas()
    places = [Place(a.code, a.name, a.kind) for a in every if a.offered]
    offered = {p.code for p in places}
    lookup = store.local_authorities()
    local = [(la_name, csp_code) for _, la_name, csp_code, _ in lookup if csp_code in offered]
    la_years: dict[str, int] = {}
    for _, la_name, _, year in lookup:
        key = name_key(la_name)
        la_years[key] = max(la_years.get(key, 0), year)
    labels = {key: label for key, (label, _, _) in store.offence_table().items()}
    return Indexes(Gazetteer(places, store.former_names(), local), OffenceIndex(labels),
                   la_years)


def load(store: Store, places: list[Place]) -> Indexes:
    """The indexes the store carries when the code that built them is this code, else built
    afresh. `places` are the store's offered areas (read once by the caller)."""
    fingerprint = code_fingerprint()
    if fingerprint and store.meta("index_code") == fingerprint:
        names, phrases, la_years = store.stored_indexes()
        return Indexes(Gazetteer.from_rows(places, names), OffenceIndex.from_rows(phrases),
                       dict(la_years))
    return build(store)


def index_rows(indexes: Indexes) -> dict[str, list[tuple]]:
    """The rows `crimebot ingest` writes, by table."""
    return {"place_names": indexes.gazetteer.rows(),
            "offence_phrases": indexes.offences.rows(),
            "la_keys": sorted(indexes.la_years.items())}
