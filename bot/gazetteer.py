"""Place names → area codes: every name a place answers to, exact, alias or misspelt.

Built from the store's areas, former names and local authorities. `crimebot ingest` writes the
names it finds into the store (`place_names`), so a fresh process reads them in one query
instead of folding some 1,500 names again. Exact and alias matches beat fuzzy ones and the
longer name beats the shorter, so "Bedfordshire police" never becomes Bedford; rapidfuzz is
imported only when a name is not found as typed.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from bot.places import name_key
from bot.words import FILLER, TOKEN

ALIASES: dict[str, tuple[str, ...]] = {
    # Welsh names of Welsh local authorities and forces
    "wrecsam": ("wrexham",), "caerdydd": ("cardiff",), "abertawe": ("swansea",),
    "casnewydd": ("newport",), "sir y fflint": ("flintshire",), "ynys mon": ("isle of anglesey",),
    "ynys môn": ("isle of anglesey",), "anglesey": ("isle of anglesey",),
    "bro morgannwg": ("vale of glamorgan",), "sir ddinbych": ("denbighshire",),
    "sir benfro": ("pembrokeshire",), "sir gaerfyrddin": ("carmarthenshire",),
    "pen y bont ar ogwr": ("bridgend",), "castell nedd port talbot": ("neath port talbot",),
    "merthyr tudful": ("merthyr tydfil",), "caerffili": ("caerphilly",),
    "sir fynwy": ("monmouthshire",), "rhondda cynon taff": ("rhondda cynon taf",),
    "cymru": ("wales",), "gogledd cymru": ("north wales",), "de cymru": ("south wales",),
    "heddlu gogledd cymru": ("north wales",), "heddlu de cymru": ("south wales",),
    # county short forms
    "beds": ("bedfordshire",), "herts": ("hertfordshire",), "notts": ("nottinghamshire",),
    "hants": ("hampshire",), "glos": ("gloucestershire",), "northants": ("northamptonshire",),
    "lancs": ("lancashire",), "cambs": ("cambridgeshire",), "leics": ("leicestershire",),
    "lincs": ("lincolnshire",), "staffs": ("staffordshire",), "wilts": ("wiltshire",),
    "derbys": ("derbyshire",), "warks": ("warwickshire",), "bucks": ("buckinghamshire",),
    "yorks": ("north yorkshire", "south yorkshire", "west yorkshire"),
    "west mids": ("west midlands",), "the met": ("metropolitan police",),
    "met police": ("metropolitan police",), "met": ("metropolitan police",),
    "metropolitan": ("metropolitan police",), "gmp": ("greater manchester",),
    "btp": ("british transport police",), "hull": ("kingston upon hull",),
    "e and w": ("england and wales",), "e w": ("england and wales",),
    "national": ("england and wales",), "nationally": ("england and wales",),
    "nationwide": ("england and wales",), "the country": ("england and wales",),
    "devon": ("devon and cornwall",), "stoke": ("stoke on trent",),
    "bcp": ("bournemouth christchurch and poole",), "east riding": ("east riding of yorkshire",),
    "berks": ("berkshire",), "worcs": ("worcestershire",), "oxon": ("oxfordshire",),
    "north yorks": ("north yorkshire",), "south yorks": ("south yorkshire",),
    "west yorks": ("west yorkshire",), "london region": ("london",),
    "greater london": ("london",),
}

# "West Yorks", "Central Beds", "South Glos": a direction before a county short form names the
# place with that direction and the full county name, when such a place exists.
DIRECTIONS = ("north", "south", "east", "west", "central", "mid", "north east", "north west",
              "south east", "south west")

FORCE_WORDS = re.compile(r"\b(police|constabulary|force|police force area|pfa|force area)\b")
LOCAL_WORDS = re.compile(r"\b(council|borough|district|csp|city council|county council|ua)\b")

FUZZY_STATED = 88.0
FUZZY_ASKED = 75.0


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    kind: str
    score: float


@dataclass(frozen=True)
class AreaMatch:
    """status: "ok" (one area), "ambiguous" (close candidates), "not_found", or "none" (no place
    words were given at all).

    how: "exact" (a place's own name), "alias" (a short form, Welsh name or a local authority /
    former name answered through its area), "partial" (the start of one name), "fuzzy" (a
    misspelling, scored) or "none". `via` is the local authority or former name that was matched
    when it is not the area's own name, so the answer can say "Harrogate is now part of …".
    """

    status: str
    said: str
    candidates: tuple[Candidate, ...] = ()
    how: str = "exact"
    via: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None



@dataclass(frozen=True)
class Place:
    code: str
    name: str
    kind: str


class Gazetteer:
    """Every name a place answers to, built once from the store's rows.

    Each (name, code) remembers where it came from: "name" (the area's own name), "variant"
    ("Bristol" for "Bristol, City of"), "alias" (short forms, Welsh names), "la" (a local
    authority answered through its CSP) or "former" (a name the tables used before).
    """

    def __init__(self, places: Iterable[Place], names: Iterable[tuple[str, str]],
                 local_names: Iterable[tuple[str, str]] = ()) -> None:
        self.places = {p.code: p for p in places}
        self.by_name: dict[str, list[str]] = {}
        self.source: dict[tuple[str, str], str] = {}
        for place in self.places.values():
            self._add(place.name, place.code, "name")
        for name, code in local_names:
            if code in self.places:
                self._add(name, code, "la")
        for name, code in names:
            if code in self.places:
                self._add(name, code, "former")
        for alias, targets in {**ALIASES, **self._directions()}.items():
            for target in targets:
                key = name_key(target)
                codes = self.by_name.get(key, [])
                own = [c for c in codes if self.source[(key, c)] == "name"]
                for code in own or list(codes):
                    self._add(alias, code, "alias")
        self._finish()

    @classmethod
    def from_rows(cls, places: Iterable[Place],
                  rows: Iterable[tuple[str, str, str]]) -> Gazetteer:
        """The gazetteer `crimebot ingest` stored (`rows()`, read back in order): the same
        names, codes and sources, without folding every name again on each start."""
        self = cls.__new__(cls)
        self.places = {p.code: p for p in places}
        self.by_name, self.source = {}, {}
        for key, code, source in rows:
            self.by_name.setdefault(key, []).append(code)
            self.source[(key, code)] = source
        self._finish()
        return self

    def rows(self) -> list[tuple[str, str, str]]:
        """(name key, code, source) for every name, in the order the names were added."""
        return [(key, code, self.source[(key, code)])
                for key, codes in self.by_name.items() for code in codes]

    def _finish(self) -> None:
        """What every look-up needs beyond the names themselves, derived from them."""
        self.choices = list(self.by_name)
        # The names sorted, with each one's place in `choices`: "names starting with …" is a
        # bisection instead of a scan of every name, and still comes back in `choices` order.
        self._sorted = sorted(self.choices)
        self._order = {name: i for i, name in enumerate(self.choices)}
        self.longest = max((len(n.split()) for n in self.by_name), default=1)
        self.words = frozenset(w for name in self.by_name for w in name.split())

    def _directions(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for short, counties in ALIASES.items():
            if " " in short or len(counties) != 1:
                continue
            for direction in DIRECTIONS:
                full = name_key(f"{direction} {counties[0]}")
                if full in self.by_name:
                    found[f"{direction} {short}"] = (full,)
        return found

    def _put(self, key: str, code: str, source: str) -> None:
        codes = self.by_name.setdefault(key, [])
        if code not in codes:
            codes.append(code)
        self.source.setdefault((key, code), source)

    def _add(self, name: str, code: str, source: str) -> None:
        key = name_key(name)
        if not key:
            return
        self._put(key, code, source)
        bare = re.sub(r"^city of |, city of$| city$|^the ", "", key).strip()
        for variant in sorted({bare, key.replace("'", ""), bare.replace("'", "")} - {key}):
            if len(variant) > 3:
                self._put(variant, code, "variant" if source == "name" else source)

    def _candidates(self, codes: Iterable[str], score: float) -> list[Candidate]:
        return [Candidate(c, self.places[c].name, self.places[c].kind, score) for c in codes]

    def protected(self, text: str) -> list[tuple[int, int]]:
        """Character spans of place names that contain "and" or a comma ("England and Wales",
        "Bournemouth, Christchurch and Poole"), so list splitting leaves them whole."""
        tokens = list(TOKEN.finditer(text))
        words = [t.group(0) for t in tokens]
        spans = []
        for size in range(min(len(words), self.longest), 1, -1):
            for start in range(len(words) - size + 1):
                if "and" not in words[start:start + size] and "," not in text[
                        tokens[start].start():tokens[start + size - 1].end()]:
                    continue
                if " ".join(words[start:start + size]) in self.by_name:
                    spans.append((tokens[start].start(), tokens[start + size - 1].end()))
        return spans

    def match(self, text: str) -> AreaMatch:
        """Find the place a question names; `text` has offence and period words removed."""
        wants_force = bool(FORCE_WORDS.search(text))
        wants_local = bool(LOCAL_WORDS.search(text))
        tokens = re.sub(r"[^a-z0-9' ]+", " ", text.replace("-", " ")).split()
        said = _strip_filler(tokens)
        for size in range(min(len(tokens), self.longest), 0, -1):
            for start in range(len(tokens) - size + 1):
                span = " ".join(tokens[start:start + size])
                if span in FILLER or len(span) < 2:
                    continue
                codes = self.by_name.get(span)
                if codes:
                    rest = [t for t in tokens[:start] + tokens[start + size:] if t not in FILLER]
                    if rest and span != said:
                        # "East Stafordshire": the exact "East" is a word of a misspelt name.
                        typo = self._typo(said, wants_force, wants_local)
                        if typo is not None and typo.status == "ok":
                            return typo
                    return self._decide(span, codes, wants_force, wants_local)
        if not said:
            return AreaMatch("none", "", how="none")
        return self._fuzzy(said, wants_force, wants_local)

    def _typo(self, said: str, wants_force: bool, wants_local: bool) -> AreaMatch | None:
        """One slip (a letter dropped, added, changed or two swapped) in a name of five letters
        or more, keeping its first letter: the commonest typo, safe to take and state."""
        if len(said) < 5:
            return None
        from rapidfuzz import fuzz, process
        from rapidfuzz.distance import OSA

        found = process.extract(said, self.choices, scorer=OSA.distance, score_cutoff=1,
                                limit=6)
        names = [name for name, _, _ in found if name[0] == said[0]]
        codes = list(dict.fromkeys(c for name in names for c in self.by_name[name]))
        if not codes:
            return None
        score = float(max(fuzz.ratio(said, name) for name in names))
        found_places = self._candidates(codes, score)
        if len(found_places) > 1 and wants_force:
            found_places = [c for c in found_places if c.kind == "pfa"] or found_places
        if len(found_places) > 1 and wants_local:
            found_places = [c for c in found_places if c.kind == "csp"] or found_places
        if len(found_places) == 1:
            return AreaMatch("ok", said, tuple(found_places), "fuzzy")
        return AreaMatch("ambiguous", said, tuple(found_places[:6]), "fuzzy")

    def leftover(self, text: str, match: AreaMatch) -> list[str]:
        """Words of `text` that are neither filler nor the place matched nor another place name:
        what could only be an offence we do not know ("gun" in "gun crime Leeds")."""
        used = set(match.said.split()) if match.status != "not_found" else set()
        words = re.sub(r"[^a-z' ]+", " ", text.replace("-", " ")).split()
        return [w for w in words if w not in FILLER and w not in used and len(w) > 1
                and w not in self.by_name]

    def search(self, text: str, limit: int = 10) -> list[Candidate]:
        """Best-matching places for a name, with scores: what `crimebot areas` lists."""
        from rapidfuzz import fuzz, process

        key = name_key(text)
        found = process.extract(key, self.choices, scorer=fuzz.WRatio, limit=limit * 3)
        best: dict[str, Candidate] = {}
        for name, score, _ in found:
            score = 100.0 if name == key else float(score)
            for code in self.by_name[name]:
                if code not in best or best[code].score < score:
                    place = self.places[code]
                    best[code] = Candidate(code, place.name, place.kind, score)
        return sorted(best.values(), key=lambda c: (-c.score, c.name))[:limit]

    def _decide(self, span: str, codes: list[str], wants_force: bool,
                wants_local: bool) -> AreaMatch:
        found = self._candidates(codes, 100.0)
        sources = {c: self.source.get((span, c), "name") for c in codes}

        def how(code: str) -> tuple[str, str]:
            source = sources[code]
            if source in {"la", "former"} and name_key(self.places[code].name) != span:
                return "alias", span
            return ("exact" if source in {"name", "variant"} else "alias"), ""

        def one(candidate: Candidate) -> AreaMatch:
            kind, via = how(candidate.code)
            return AreaMatch("ok", span, (candidate,), kind, via)

        if len(found) == 1:
            return one(found[0])
        if wants_force and any(c.kind == "pfa" for c in found):
            return one(next(c for c in found if c.kind == "pfa"))
        if wants_local and any(c.kind == "csp" for c in found):
            found = [c for c in found if c.kind == "csp"]
            if len(found) == 1:
                return one(found[0])
        # An area's own full name is never ambiguous ("Buckinghamshire" is the area ONS prints
        # under that name, not the old districts its council took over; "London" is the
        # region, "City of London" answers to "london" only as a shortened form).
        own = [c for c in found if sources[c.code] == "name"]
        if len(own) == 1:
            return one(own[0])
        order = {"csp": 0, "pfa": 1, "england_and_wales": 2, "country": 3, "region": 4}
        found.sort(key=lambda c: (sources[c.code] != "name", order.get(c.kind, 5), c.name))
        return AreaMatch("ambiguous", span, tuple(found[:6]), "exact")

    def _starting(self, prefix: str) -> list[str]:
        """The names that start with `prefix`, in `choices` order."""
        start = bisect_left(self._sorted, prefix)
        end = start
        while end < len(self._sorted) and self._sorted[end].startswith(prefix):
            end += 1
        return sorted(self._sorted[start:end], key=self._order.__getitem__)

    def _fuzzy(self, said: str, wants_force: bool, wants_local: bool) -> AreaMatch:
        prefixed = self._starting(said + " ") if len(said) >= 4 else []
        codes = list(dict.fromkeys(c for name in prefixed for c in self.by_name[name]))
        if len(codes) == 1:
            return AreaMatch("ok", said, tuple(self._candidates(codes, 95.0)), "partial")
        if len(codes) > 1:
            found = self._candidates(codes, 95.0)
            if wants_force and sum(c.kind == "pfa" for c in found) == 1:
                return AreaMatch("ok", said, (next(c for c in found if c.kind == "pfa"),),
                                 "partial")
            return AreaMatch("ambiguous", said, tuple(found[:6]), "partial")
        typo = self._typo(said, wants_force, wants_local)
        if typo is not None:
            return typo
        from rapidfuzz import fuzz, process

        found = process.extract(said, self.choices, scorer=fuzz.ratio, limit=8, score_cutoff=60)
        scored: dict[str, Candidate] = {}
        for name, score, _ in found:
            if name[0] != said[0] and score < 97:
                # Misspellings keep their first letter; "Ambridge" is not Cambridge.
                score = min(score, FUZZY_ASKED - 1)
            for code in self.by_name[name]:
                if code not in scored or scored[code].score < score:
                    place = self.places[code]
                    scored[code] = Candidate(code, place.name, place.kind, float(score))
        ranked = sorted(scored.values(), key=lambda c: -c.score)
        if not ranked or ranked[0].score < FUZZY_ASKED:
            return AreaMatch("not_found", said, tuple(c for c in ranked[:4] if c.score >= 60),
                             "fuzzy")
        close = [c for c in ranked if c.score >= ranked[0].score - 6]
        if wants_force and sum(c.kind == "pfa" for c in close) == 1:
            close = [c for c in close if c.kind == "pfa"]
        elif wants_local and sum(c.kind == "csp" for c in close) == 1:
            close = [c for c in close if c.kind == "csp"]
        if len(close) == 1 and close[0].score >= FUZZY_STATED:
            return AreaMatch("ok", said, (close[0],), "fuzzy")
        return AreaMatch("ambiguous", said, tuple(close[:6]), "fuzzy")


def _strip_filler(tokens: list[str]) -> str:
    """The words that name a place: filler dropped from both ends, kept inside ("City of
    London", "Avon and Somerset")."""
    start, end = 0, len(tokens)
    while start < end and tokens[start] in FILLER:
        start += 1
    while end > start and tokens[end - 1] in FILLER:
        end -= 1
    return " ".join(tokens[start:end])
