"""Question → offence, area(s) and period(s), as pure functions over a gazetteer of names.

No store access here: the gazetteer is built once from the store's area and local-authority rows,
then every question is parsed with regular expressions, dictionary look-ups and, last, rapidfuzz.
Exact and alias matches beat fuzzy ones and the longer name beats the shorter, so "Bedfordshire
police" never becomes Bedford; when two places are genuinely close the result says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process

from bot.offences import CATALOGUE
from bot.periods import month_end

MAX_QUESTION = 4096

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
}

FORCE_WORDS = re.compile(r"\b(police|constabulary|force|police force area|pfa|force area)\b")
LOCAL_WORDS = re.compile(r"\b(council|borough|district|csp|city council|county council|ua)\b")

FILLER = {
    "a", "about", "across", "and", "any", "are", "area", "at", "been", "by", "can", "count",
    "crimebot", "data", "did", "do", "does", "figure", "figures", "for", "from", "give", "got",
    "has", "have", "hi", "how", "i", "in", "is", "it", "many", "me", "much", "number", "numbers",
    "of", "on", "please", "rate", "rates", "recorded", "reported", "show", "stats", "statistics",
    "tell", "the", "there", "to", "total", "was", "were", "what", "whats", "what's", "where",
    "which", "with", "within", "you", "level", "levels", "ons", "per", "people", "1000",
    "police", "constabulary", "force", "council", "borough", "district", "csp", "ua", "pfa",
    "local", "authority", "area's", "compare", "comparison", "change", "trend", "up", "down",
    "year", "years", "12", "months", "month", "ending", "latest", "now", "current", "recent",
    "most", "last", "previous", "this", "financial", "fy", "so", "far", "far?", "chart",
    "happened", "happen", "committed", "reports", "incidents", "offences", "crimes", "crime",
}

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
MONTH_WORD = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTH_BY_ABBR = {name[:3]: number for name, number in MONTHS.items()}

COMPARISON = re.compile(r"\s+(?:vs\.?|versus|v\.?|compared (?:with|to)|against)\s+")


@dataclass(frozen=True)
class PeriodAsk:
    """What the question said about time, before we know which periods are held.

    kind: "latest" (also when nothing was said), "year" (a bare calendar year), "end" (an exact
    12-month window), "last_year" (the latest period ending in the previous calendar year).
    """

    kind: str = "latest"
    end: str | None = None
    year: int | None = None
    said: str = ""


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    kind: str
    score: float


@dataclass(frozen=True)
class AreaMatch:
    """status: "ok" (one area), "ambiguous" (close candidates), "not_found", or "none" (no place
    words were given at all)."""

    status: str
    said: str
    candidates: tuple[Candidate, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class Parsed:
    """One question, parsed; a comparison has two areas or two periods."""

    text: str
    offence: str | None
    offence_said: str
    areas: tuple[AreaMatch, ...]
    periods: tuple[PeriodAsk, ...]
    notes: tuple[str, ...] = field(default=())


def normalise(question: str) -> str:
    """Lower case, accents folded, invisible characters dropped, at most MAX_QUESTION chars."""
    text = unicodedata.normalize("NFKC", question[:MAX_QUESTION])
    text = "".join(c for c in text if unicodedata.category(c) not in {"Cf", "Cc", "Co", "Cs"}
                   or c in "\n\t")
    folded = "".join(c for c in unicodedata.normalize("NFKD", text)
                     if not unicodedata.combining(c))
    folded = folded.lower().replace("’", "'").replace("&", " and ")
    folded = re.sub(r"^\s*/\w+(@\w+)?", " ", folded)
    folded = re.sub(r"@\w+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def name_key(name: str) -> str:
    """The form names are compared in: "Bristol, City of" → "city of bristol"."""
    name = normalise(name)
    name = re.sub(r"^(.*), city of$", r"city of \1", name)
    name = re.sub(r"[^a-z0-9' ]+", " ", name.replace("-", " "))
    return re.sub(r"\s+", " ", name).strip()


# --- periods ----------------------------------------------------------------------------------


def _month(word: str) -> int:
    return _MONTH_BY_ABBR[word[:3]]


PERIOD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:(?:the )?(?:12|twelve) months|(?:the )?year|fy)\s+(?:to|ending|ended)\s+"
                rf"{MONTH_WORD}\s+((?:19|20)\d\d)\b"), "end"),
    (re.compile(r"\b(?:(?:the )?(?:12|twelve) months|(?:the )?year)\s+(?:to|ending|ended)\s+"
                r"((?:19|20)\d\d)\b"), "fy_end"),
    (re.compile(r"\b(?:financial year |fy ?)?(20\d\d|19\d\d)\s?[/-]\s?(\d{2}|\d{4})\b"), "fy"),
    (re.compile(rf"\b{MONTH_WORD}\s+((?:19|20)\d\d)\b"), "end"),
    (re.compile(r"\b(?:last|previous|past) year\b|\blast 12 months\b"), "last_year"),
    (re.compile(r"\b(?:latest|newest|most recent|now|current|currently|today|this year)\b"),
     "latest"),
    (re.compile(r"\b(19\d\d|20\d\d)\b"), "year"),
)


def parse_period(text: str) -> tuple[PeriodAsk | None, str]:
    """The first period the text mentions, and the text with that mention removed."""
    for pattern, kind in PERIOD_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        rest = (text[:match.start()] + " " + text[match.end():]).strip()
        said = match.group(0)
        if kind == "end":
            end = month_end(int(match.group(2)), _month(match.group(1))).isoformat()
            return PeriodAsk("end", end, None, said), rest
        if kind == "fy_end":
            return PeriodAsk("end", month_end(int(match.group(1)), 3).isoformat(), None,
                             said), rest
        if kind == "fy":
            start, second = int(match.group(1)), match.group(2)
            end_year = int(second) if len(second) == 4 else (start // 100) * 100 + int(second)
            if end_year != start + 1:
                continue
            return PeriodAsk("end", month_end(end_year, 3).isoformat(), None, said), rest
        if kind == "year":
            return PeriodAsk("year", None, int(match.group(1)), said), rest
        return PeriodAsk(kind, None, None, said), rest
    return None, text


# --- offences ---------------------------------------------------------------------------------


def _offence_phrases() -> list[tuple[str, str]]:
    phrases: dict[str, str] = {}
    for offence in CATALOGUE:
        for phrase in (*offence.words, offence.label, *offence.ons_labels):
            phrases.setdefault(name_key(phrase), offence.key)
    return sorted(phrases.items(), key=lambda item: -len(item[0]))


OFFENCE_PHRASES = _offence_phrases()
_OFFENCE_WORDS = {phrase: key for phrase, key in OFFENCE_PHRASES if " " not in phrase}


def parse_offence(text: str) -> tuple[str | None, str, str]:
    """(offence key, the words that named it, the text without them); longest phrase wins."""
    text = text.replace("-", " ")
    for phrase, key in OFFENCE_PHRASES:
        match = re.search(rf"(?<![a-z']){re.escape(phrase)}(?![a-z])", text)
        if match:
            return key, phrase, (text[:match.start()] + " " + text[match.end():]).strip()
    for word in re.findall(r"[a-z][a-z'-]{4,}", text):
        if word in FILLER:
            continue
        found = process.extractOne(word, list(_OFFENCE_WORDS), scorer=fuzz.ratio,
                                   score_cutoff=86)
        if found:
            return _OFFENCE_WORDS[found[0]], word, re.sub(rf"\b{re.escape(word)}\b", " ", text)
    return None, "", text


# --- areas ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    kind: str


class Gazetteer:
    """Every name a place answers to, built once from the store's rows."""

    def __init__(self, places: Iterable[Place], names: Iterable[tuple[str, str]]) -> None:
        self.places = {p.code: p for p in places}
        self.by_name: dict[str, list[str]] = {}
        for place in self.places.values():
            self._add(place.name, place.code)
        for name, code in names:
            if code in self.places:
                self._add(name, code)
        for alias, targets in ALIASES.items():
            for target in targets:
                for code in list(self.by_name.get(name_key(target), [])):
                    self._add(alias, code)
        self.choices = list(self.by_name)

    def _add(self, name: str, code: str) -> None:
        key = name_key(name)
        if not key:
            return
        codes = self.by_name.setdefault(key, [])
        if code not in codes:
            codes.append(code)
        bare = re.sub(r"^city of |, city of$| city$|^the ", "", key).strip()
        for variant in {bare, key.replace("'", ""), bare.replace("'", "")} - {key}:
            if len(variant) > 3:
                codes = self.by_name.setdefault(variant, [])
                if code not in codes:
                    codes.append(code)

    def _candidates(self, codes: Iterable[str], score: float) -> list[Candidate]:
        return [Candidate(c, self.places[c].name, self.places[c].kind, score) for c in codes]

    def match(self, text: str) -> AreaMatch:
        """Find the place a question names; `text` has offence and period words removed."""
        wants_force = bool(FORCE_WORDS.search(text))
        wants_local = bool(LOCAL_WORDS.search(text))
        tokens = re.sub(r"[^a-z0-9' ]+", " ", text.replace("-", " ")).split()
        said = " ".join(t for t in tokens if t not in FILLER)
        for size in range(min(len(tokens), 7), 0, -1):
            for start in range(len(tokens) - size + 1):
                span = " ".join(tokens[start:start + size])
                if span in FILLER or len(span) < 2:
                    continue
                codes = self.by_name.get(span)
                if codes:
                    return self._decide(self._candidates(codes, 100.0), span, wants_force,
                                        wants_local)
        if not said:
            return AreaMatch("none", "")
        return self._fuzzy(said, wants_force, wants_local)

    def search(self, text: str, limit: int = 10) -> list[Candidate]:
        """Best-matching places for a name, with scores: what `crimebot areas` lists."""
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

    def _decide(self, found: list[Candidate], said: str, wants_force: bool,
                wants_local: bool) -> AreaMatch:
        if wants_force and any(c.kind == "pfa" for c in found):
            found = [c for c in found if c.kind == "pfa"] + [c for c in found if c.kind != "pfa"]
            return AreaMatch("ok", said, tuple(found[:1]))
        if wants_local and any(c.kind == "csp" for c in found):
            found = [c for c in found if c.kind == "csp"]
        if len(found) == 1:
            return AreaMatch("ok", said, tuple(found))
        order = {"csp": 0, "pfa": 1, "england_and_wales": 2, "country": 3, "region": 4}
        found.sort(key=lambda c: (order.get(c.kind, 5), c.name))
        return AreaMatch("ambiguous", said, tuple(found[:6]))

    def _fuzzy(self, said: str, wants_force: bool, wants_local: bool) -> AreaMatch:
        prefixed = [name for name in self.choices
                    if name.startswith(said + " ") and len(said) >= 4]
        codes = list(dict.fromkeys(c for name in prefixed for c in self.by_name[name]))
        if len(codes) == 1:
            return AreaMatch("ok", said, tuple(self._candidates(codes, 95.0)))
        if len(codes) > 1:
            return self._decide(self._candidates(codes, 95.0), said, wants_force, wants_local)
        found = process.extract(said, self.choices, scorer=fuzz.ratio, limit=8, score_cutoff=55)
        scored: dict[str, Candidate] = {}
        for name, score, _ in found:
            for code in self.by_name[name]:
                if code not in scored or scored[code].score < score:
                    place = self.places[code]
                    scored[code] = Candidate(code, place.name, place.kind, score)
        ranked = sorted(scored.values(), key=lambda c: -c.score)
        if not ranked or ranked[0].score < 80:
            return AreaMatch("not_found", said, tuple(ranked[:4]))
        close = [c for c in ranked if c.score >= ranked[0].score - 6]
        if len(close) == 1 or (wants_force and sum(c.kind == "pfa" for c in close) == 1):
            best = next((c for c in close if c.kind == "pfa"), close[0]) if wants_force \
                else close[0]
            return AreaMatch("ok", said, (best,))
        return AreaMatch("ambiguous", said, tuple(close[:6]))


# --- whole questions --------------------------------------------------------------------------


def _parse_part(text: str, gazetteer: Gazetteer) -> tuple[str | None, str, AreaMatch,
                                                          PeriodAsk | None]:
    period, rest = parse_period(text)
    offence, offence_said, rest = parse_offence(rest)
    return offence, offence_said, gazetteer.match(rest), period


def parse(question: str, gazetteer: Gazetteer) -> Parsed:
    """Parse a question; comparisons ("A vs B") give two areas or two periods."""
    text = normalise(question)
    halves = COMPARISON.split(text, maxsplit=1)
    if len(halves) == 2:
        first = _parse_part(halves[0], gazetteer)
        second = _parse_part(halves[1], gazetteer)
        offence = first[0] or second[0]
        said = first[1] or second[1]
        area_a = first[2] if first[2].status != "none" else second[2]
        area_b = second[2] if second[2].status != "none" else area_a
        period_a = first[3] or second[3] or PeriodAsk()
        period_b = second[3] or period_a
        if area_a.said == area_b.said and area_a.best == area_b.best:
            return Parsed(text, offence, said, (area_a,), (period_a, period_b))
        return Parsed(text, offence, said, (area_a, area_b), (period_a, period_b))
    offence, said, area, period = _parse_part(text, gazetteer)
    return Parsed(text, offence, said, (area,), (period or PeriodAsk(),))


def resolve_year(ask: PeriodAsk, held: list[str], today: date) -> tuple[str | None, str]:
    """The period end an ask means among the held periods, and a note saying how it was chosen.

    Returns (None, why) when the asked period is not held; the caller lists what is.
    """
    with_data = sorted(held)
    if not with_data:
        return None, "no figures are held"
    if ask.kind == "latest":
        return with_data[-1], ""
    if ask.kind == "end":
        return (ask.end, "") if ask.end in with_data else (None, "that period is not held")
    year = today.year - 1 if ask.kind == "last_year" else ask.year
    in_year = [p for p in with_data if p.startswith(f"{year}-")]
    if not in_year:
        return None, f"no 12-month period ending in {year} is held"
    december = f"{year}-12-31"
    chosen = december if december in in_year else in_year[-1]
    note = ""
    if ask.kind == "last_year":
        note = f"“Last year” is taken as the latest 12-month period ending in {year}."
    elif chosen != december:
        note = f"No figure for the year to December {year} is held; this is the latest period " \
               f"ending in {year}."
    return chosen, note
