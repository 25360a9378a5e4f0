"""Question → offence, area(s) and period(s), as pure functions over a gazetteer of names.

No store access here: the gazetteer is built once from the store's area and local-authority rows,
then every question is parsed with a few precompiled patterns, dictionary look-ups over word
n-grams and, last, rapidfuzz (imported only when a fuzzy match is needed, so `crimebot ask` starts
fast). Exact and alias matches beat fuzzy ones and the longer name beats the shorter, so
"Bedfordshire police" never becomes Bedford. Every part of a parse says how it was matched
(exact, alias, fuzzy with its score, or default) so the answer can state what it assumed: a fuzzy
place is stated above a high score and asked about below it, and an offence word we do not know
never becomes total recorded crime.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import date

from bot.offences import CATALOGUE, GENERIC_WORDS, OFFENCE_ALIASES, RELATED
from bot.periods import month_end
from bot.places import name_key, normalise

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
    "offence", "thanks", "thank", "cheers", "pls", "hey", "hello", "quick", "question", "q",
    "rising", "falling", "risen", "fallen", "gone", "going", "increase", "increased", "decrease",
    "decreased", "higher", "lower", "worse", "better", "trends", "since", "than", "between",
    "over", "under", "time", "ago", "versus", "vs", "v", "or", "an", "its", "their", "all",
    "police's", "overall", "could", "would", "should", "get", "see", "know", "want", "need",
    "like", "some", "still", "rise", "fall", "fell", "rose", "went", "go", "compared",
    "against", "stat", "statistic", "nos", "no", "vs.", "v.", "yes", "ok", "okay",
    "cops", "officers", "record", "records", "highest", "lowest", "ever", "x",
}

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
MONTH_WORD = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTH_BY_ABBR = {name[:3]: number for name, number in MONTHS.items()}

COMPARE_WORD = re.compile(r"^(?:please\s+)?(?:compare|comparing|comparison of)\s+")
US_SPELLING = re.compile(r"\boffens(e|es)\b")
TOKEN = re.compile(r"[a-z0-9']+")
FUZZY_STATED = 88.0
FUZZY_ASKED = 75.0


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
class OffenceMatch:
    """How the offence was read. how: "exact" (an ONS label), "alias" (a newsroom word),
    "fuzzy" (a misspelling or a long description, scored), "default" (no offence named: total
    recorded crime, said so) or "unknown" (offence words we do not know: ask, offering
    `candidates`). `asks` is what kind of question it was when the answer must say what it can
    answer ("rate", "safety"); `replaced` is the offence a correction inside the question took
    back ("burglary … sorry, robbery"), so the answer can say which one it used, and
    `corrected` the places or periods it took back, as (now, before) pairs. They travel with
    the offence because every answer part reads it."""

    key: str | None
    said: str = ""
    how: str = "default"
    score: float = 100.0
    candidates: tuple[str, ...] = ()
    asks: str = ""
    replaced: str = ""
    corrected: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Parsed:
    """One question, parsed; a comparison has several areas or several periods (one per part)."""

    text: str
    offence: str | None
    offence_said: str
    areas: tuple[AreaMatch, ...]
    periods: tuple[PeriodAsk, ...]
    offence_match: OffenceMatch = field(default_factory=lambda: OffenceMatch(None))


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
    (re.compile(r"(?<![\d/.,:£$-])\b(\d{4,6})\b(?![/.,:%-]\d)"), "junk"),
    # Any other number ("0", "1e9", a 20-digit "year") except the ones that are part of how a
    # reporter says a rate or a window ("per 1,000", "12 months").
    (re.compile(r"(?<![\w/.,:£$=-])(?!(?:12|1,?000|100,?000)(?![\w.,]\d))"
                r"(\d+(?:[.,]\d+)*(?:e[+-]?\d+)?)(?![\w/%=])"), "junk"),
)


def parse_period(text: str) -> tuple[PeriodAsk | None, str]:
    """The first period the text mentions, and the text with that mention removed.

    A number that is not a period we can read ("20222", "1850", "0", "1e9") comes back as kind
    "junk", so the answer says it could not read it instead of quietly giving the latest.
    """
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
        if kind == "junk":
            return PeriodAsk("junk", None, None, said), rest
        return PeriodAsk(kind, None, None, said), rest
    return None, text


# --- offences ---------------------------------------------------------------------------------


def _tokens(text: str) -> list[re.Match[str]]:
    """Word tokens with their positions; hyphens split words ("non-residential")."""
    return list(TOKEN.finditer(text.replace("-", " ")))


def phrase_key(phrase: str) -> str:
    return " ".join(TOKEN.findall(name_key(phrase)))


class OffenceIndex:
    """Every phrase an offence answers to, as a dictionary over word n-grams.

    Matching a question is a handful of dictionary look-ups (longest phrase first), not one regex
    per phrase: that was most of the time a warm answer took. Built once per store; `labels` are
    the store's offence keys and labels (the appendix tables' finer categories) when known.
    """

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        phrases: dict[str, str] = {}
        for offence in CATALOGUE:
            for phrase in (offence.label, *offence.ons_labels, *offence.words):
                phrases.setdefault(phrase_key(phrase), offence.key)
        for key, label in (labels or {}).items():
            cleaned = phrase_key(re.sub(r"^(total|of which)\b", "", label.lower()))
            if cleaned and cleaned not in GENERIC_WORDS:
                phrases.setdefault(cleaned, key)
        for phrase, key in OFFENCE_ALIASES.items():
            if labels is None or key == "" or key in labels:
                phrases[phrase_key(phrase)] = key
        for word in GENERIC_WORDS:
            phrases[word] = "all_crime"
        self.phrases = phrases
        # Phrases that are an ONS label of the offence they name: matched "exact", not "alias".
        self.labels = {phrase_key(label) for offence in CATALOGUE
                       for label in (offence.label, *offence.ons_labels)
                       if phrases.get(phrase_key(label)) == offence.key}
        self.labels |= {p for p, k in phrases.items()
                        if labels and k in labels and p == phrase_key(labels[k])}
        self.longest = max(len(p.split()) for p in phrases)
        self.words = sorted({p for p, k in phrases.items() if " " not in p and k
                             and p not in GENERIC_WORDS and len(p) >= 5})
        # Every word of every offence phrase: what a slipped letter is corrected towards.
        self.vocabulary = frozenset(w for p in phrases for w in p.split())
        self._spellable = sorted(w for w in self.vocabulary if len(w) >= 4 and w.isalpha())
        # Labels long enough to be described in other words ("deaths or serious injuries from
        # unlawful driving"): the set of their content stems, longest first.
        described: dict[frozenset[str], str] = {}
        for phrase, key in phrases.items():
            stems = frozenset(_stem(w) for w in phrase.split() if w not in DESCRIPTION_FILLER)
            if key and len(stems) >= 3:
                described.setdefault(stems, key)
        self.described = sorted(described.items(), key=lambda item: -len(item[0]))

    def find(self, text: str) -> tuple[str | None, str, tuple[int, int]]:
        """(key, phrase, character span) of the longest offence phrase; key "" names a topic ONS
        does not count as one offence ("hate crime"); (None, "", (0, 0)) when none is named."""
        tokens = _tokens(text)
        words = [t.group(0) for t in tokens]
        for size in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start:start + size])
                key = self.phrases.get(phrase)
                if key is not None:
                    return key, phrase, (tokens[start].start(), tokens[start + size - 1].end())
        return None, "", (0, 0)

    def describe(self, text: str) -> tuple[str, list[tuple[int, int]]] | None:
        """An offence named by the content words of its label in another order or form
        ("deaths or serious injuries from unlawful driving"): its key and the character spans
        of the words that named it; None when no label's every content word is there."""
        tokens = _tokens(text)
        stems = [_stem(t.group(0)) for t in tokens]
        present = set(stems)
        for wanted, key in self.described:
            if wanted <= present:
                spans = [(t.start(), t.end()) for t, stem in zip(tokens, stems, strict=True)
                         if stem in wanted]
                return key, spans
        return None

    def respell(self, word: str) -> str | None:
        """The one offence word `word` is a single slip from (a letter dropped, added, changed
        or two swapped, first letter kept), or None when there is none or more than one."""
        from rapidfuzz.distance import OSA

        close = {w for w in self._spellable if w[0] == word[0] and abs(len(w) - len(word)) <= 1
                 and OSA.distance(word, w, score_cutoff=1) <= 1}
        return close.pop() if len(close) == 1 else None

    def fuzzy(self, word: str) -> tuple[str, str, float] | None:
        """A misspelt offence word ("burglries"): same first letter, ratio ≥ 86."""
        from rapidfuzz import fuzz, process

        found = process.extractOne(word, self.words, scorer=fuzz.ratio, score_cutoff=86)
        if found and found[0][0] == word[0]:
            return self.phrases[found[0]], found[0], float(found[1])
        return None

    def suggest(self, words: Iterable[str], limit: int = 4) -> tuple[str, ...]:
        """Offences to offer for words we do not know: related categories, then close spellings."""
        from rapidfuzz import fuzz, process

        keys: list[str] = []
        for word in words:
            keys.extend(RELATED.get(word, ()))
            if len(word) >= 4:
                for phrase, _, _ in process.extract(word, self.words, scorer=fuzz.ratio,
                                                    limit=3, score_cutoff=72):
                    keys.append(self.phrases[phrase])
        return tuple(dict.fromkeys(k for k in keys if k))[:limit]


_CATALOGUE_INDEX: OffenceIndex | None = None

# Words a description of an offence may use that say nothing about which offence it is.
DESCRIPTION_FILLER = frozenset({
    "a", "an", "and", "or", "of", "the", "by", "from", "caused", "causing", "involving", "to",
    "with", "in", "on", "for", "selected", "total", "offence", "offences", "crime", "crimes",
    "other", "all", "due", "through", "because", "excluding", "including", "any", "number",
})


def _stem(word: str) -> str:
    """A crude singular ("injuries" → "injury", "deaths" → "death"), applied to both sides."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def catalogue_index() -> OffenceIndex:
    """The index of the catalogue's own phrases, built once (no store needed)."""
    global _CATALOGUE_INDEX
    if _CATALOGUE_INDEX is None:
        _CATALOGUE_INDEX = OffenceIndex()
    return _CATALOGUE_INDEX


def parse_offence(text: str) -> tuple[str | None, str, str]:
    """(offence key, the words that named it, the text without them), catalogue phrases only.
    A word one slip from an offence word is respelt first, and kept only where it then names
    the offence ("highest vilent crime rate" is violence, not the "crime rate" of all crime)."""
    index = catalogue_index()
    respelt, said = text, ""
    for word in re.findall(r"[a-z]{5,}", text):
        if word in FILLER or word in index.vocabulary:
            continue
        fixed = index.respell(word)
        if fixed is not None:
            trial = re.sub(rf"\b{re.escape(word)}\b", fixed, respelt)
            key, phrase, _ = index.find(trial)
            if key and fixed in phrase.split() and phrase not in GENERIC_WORDS:
                respelt, said = trial, word
    key, phrase, (start, end) = index.find(respelt)
    if key is not None:
        return key, said or phrase, (respelt[:start] + " " + respelt[end:]).strip()
    for word in re.findall(r"[a-z][a-z'-]{4,}", text):
        if word in FILLER:
            continue
        found = index.fuzzy(word)
        if found:
            return found[0], word, re.sub(rf"\b{re.escape(word)}\b", " ", text)
    return None, "", text


# --- areas ------------------------------------------------------------------------------------


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
        for variant in {bare, key.replace("'", ""), bare.replace("'", "")} - {key}:
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


# --- whole questions --------------------------------------------------------------------------

COMPARE = re.compile(r"\s+(?:vs\.?|versus|v\.?|compared (?:with|to)|against|or)\s+")
# A comma inside a number ("per 1,000") never separates list items.
LIST = re.compile(r"\s+and\s+|\s*;\s*|\s*,(?!\d{3}\b)\s*")


def _pieces(pattern: re.Pattern[str], text: str,
            protected: list[tuple[int, int]]) -> list[str]:
    pieces, last = [], 0
    for separator in pattern.finditer(text):
        if any(start <= separator.start() < end for start, end in protected):
            continue
        pieces.append(text[last:separator.start()])
        last = separator.end()
    pieces.append(text[last:])
    return [p.strip() for p in pieces if p.strip()]


def _names_a_part(piece: str, gazetteer: Gazetteer) -> bool:
    """A list item is a place named exactly (or by alias) or a period on its own."""
    period, words = parse_period(piece)
    match = gazetteer.match(words)
    return (match.status in {"ok", "ambiguous"} and match.how in {"exact", "alias"}) or (
        match.status == "none" and period is not None and period.kind != "junk")


def _split(text: str, gazetteer: Gazetteer) -> list[str]:
    """Parts of a comparison or list ("A vs B", "A or B", "compare A and B", "A, B and C").
    "and" and commas split only when every item names a place or a period exactly, so
    "Avn and Somerset" stays one (misspelt) name and "England and Wales" is never split."""
    protected = gazetteer.protected(text) if (" and " in text or "," in text) else []
    out: list[str] = []
    for piece in _pieces(COMPARE, text, protected):
        # Spans are positions in the text they were found in: find them again in the piece.
        items = _pieces(LIST, piece, gazetteer.protected(piece) if protected else [])
        if len(items) > 1 and all(_names_a_part(item, gazetteer) for item in items):
            out.extend(items)
        else:
            out.extend(_beside(piece, gazetteer.protected(piece) if protected else [],
                               gazetteer))
    return out


def _beside(piece: str, spans: list[tuple[int, int]], gazetteer: Gazetteer) -> list[str]:
    """"leeds england and wales": a place whose name holds "and" next to another place named
    exactly is two parts, not the longer name with the other one silently dropped."""
    for start, end in spans:
        other = (piece[:start] + " " + piece[end:]).strip()
        match = gazetteer.match(parse_period(other)[1])
        if match.status == "ok" and match.how in {"exact", "alias"}:
            return [other, piece[start:end]]
    return [piece]


Slip = tuple[int, int, str]


def _respell(text: str, index: OffenceIndex, gazetteer: Gazetteer) -> tuple[str, list[Slip]]:
    """The text with every word that is one slip from an offence word respelt ("vilent" →
    "violent"), and where each respelt word now sits with what was typed. Only words that are
    neither filler, an offence word nor a word of a place name are tried, so rapidfuzz is
    imported only for questions that hold such a word."""
    out, slips, last = [], [], 0
    for token in TOKEN.finditer(text):
        word = token.group(0)
        if (len(word) < 5 or not word.isalpha() or word in FILLER or word in index.vocabulary
                or word in gazetteer.words):
            continue
        fixed = index.respell(word)
        if fixed is None:
            continue
        out.append(text[last:token.start()])
        start = sum(len(piece) for piece in out)
        out.append(fixed)
        slips.append((start, start + len(fixed), word))
        last = token.end()
    out.append(text[last:])
    return "".join(out), slips


def _typed(text: str, slips: list[Slip], start: int, end: int) -> str:
    """text[start:end] as it was typed: respelt words inside the span put back."""
    inside = [(a, b, word) for a, b, word in slips if start <= a and b <= end]
    for a, b, word in reversed(inside):
        text = text[:a] + word + text[b:]
        end += len(word) - (b - a)
    return text[start:end]


def _without(text: str, slips: list[Slip], spans: list[tuple[int, int]]) -> str:
    """The text without `spans`, with every respelt word outside them put back as typed: a
    correction is only kept where it named the offence."""
    cuts = sorted([(a, b, " ") for a, b in spans]
                  + [(a, b, word) for a, b, word in slips
                     if not any(x <= a and b <= y for x, y in spans)])
    out, last = [], 0
    for a, b, put in cuts:
        out.append(text[last:a] + put)
        last = b
    out.append(text[last:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _find_offence(text: str, index: OffenceIndex,
                  gazetteer: Gazetteer) -> tuple[OffenceMatch, str]:
    """The offence the whole question names, and the text without it. Found before splitting
    so "crimes against society" or "criminal damage and arson" are never comparison markers.
    A label described in other words beats a shorter phrase inside the description; a phrase
    that needed a slipped letter put right is "fuzzy", and says what was typed."""
    text = US_SPELLING.sub(lambda m: "offenc" + m.group(1), text)
    fixed, slips = _respell(text, index, gazetteer)
    key, phrase, (start, end) = index.find(fixed)
    described = index.describe(fixed)
    if described is not None and len(described[1]) > len(phrase.split()):
        spans = described[1]
        said = _typed(fixed, slips, spans[0][0], spans[-1][1])
        return (OffenceMatch(described[0], said, "fuzzy", 90.0),
                _without(fixed, slips, spans))
    if key is None:
        return OffenceMatch(None), _without(fixed, slips, [])
    rest = _without(fixed, slips, [(start, end)])
    typed = _typed(fixed, slips, start, end)
    if key == "":
        return OffenceMatch(None, typed, "unknown"), rest
    if any(start <= a and b <= end for a, b, _ in slips):
        return OffenceMatch(key, typed, "fuzzy", 95.0), rest
    if phrase in GENERIC_WORDS:
        return OffenceMatch("all_crime", phrase, "default"), rest
    return OffenceMatch(key, phrase, "exact" if phrase in index.labels else "alias"), rest


# "how safe is Leeds", "is Leeds dangerous": recorded crime cannot answer that, and says so.
SAFETY = re.compile(r"\bhow (?:safe|dangerous|risky)(?: is| are)?\b|"
                    r"\b(?:safe|safety|dangerous)\b")
RATE = re.compile(r"\brates?\b|\bper (?:1,?000|100,?000|head|capita|person|resident)")
# "burglary … sorry, robbery": what follows the marker replaces what came before it.
CORRECTION = re.compile(r"(?:\.\.\.|…|[,;:.!-])?\s*\b(?:sorry|i mean|i meant|no wait|"
                        r"or rather|correction|scratch that|make that|oops)\b[,:!.]*\s*")


def _question_kind(text: str, index: OffenceIndex) -> tuple[str, str]:
    """("safety" | "rate" | "", the text without the safety words). A safety word inside an
    offence phrase ("dangerous driving", "health and safety offences") is the offence's."""
    safety = SAFETY.search(text)
    if safety:
        key, _, (start, end) = index.find(text)
        if key is None or not (start <= safety.start() < end or safety.start() <= start
                               < safety.end()):
            return "safety", (text[:safety.start()] + " " + text[safety.end():]).strip()
    return ("rate" if RATE.search(text) else ""), text


def _take_correction(text: str, index: OffenceIndex,
                     gazetteer: Gazetteer) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A correction inside the question ("burglary leeds … sorry, robbery", "leeds, I mean
    bradford", "2023, sorry, 2024"): what follows the marker replaces the same kind of thing
    before it. Returns the text with what was taken back removed, the offence words taken back,
    and (place or period now, place or period taken back) pairs for the answer to state."""
    marker = CORRECTION.search(text)
    if marker is None:
        return text, "", ()
    before, after = text[:marker.start()], text[marker.end():]
    replaced, corrected = "", []
    key_after, phrase_after, _ = index.find(after)
    key_before, phrase_before, (start, end) = index.find(before)
    after_rest, before_rest = after, before
    if key_after and phrase_after not in GENERIC_WORDS and key_before is not None:
        before, replaced = before[:start] + " " + before[end:], phrase_before
    if key_after is not None:
        after_rest = re.sub(rf"\b{re.escape(phrase_after)}\b", " ", after_rest)
    if key_before is not None:
        before_rest = re.sub(rf"\b{re.escape(phrase_before)}\b", " ", before_rest)
    period_after, after_rest = parse_period(after_rest)
    period_before, before_rest = parse_period(before_rest)
    if period_after is not None and period_before is not None:
        before = before.replace(period_before.said, " ", 1)
        corrected.append((period_after.said, period_before.said))
    place_after, place_before = gazetteer.match(after_rest), gazetteer.match(before_rest)
    if (place_after.status == "ok" and place_after.how in {"exact", "alias"}
            and place_before.status in {"ok", "ambiguous"}):
        before = re.sub(rf"\b{re.escape(place_before.said)}\b", " ", before, count=1)
        corrected.append((place_after.said, place_before.said))
    return re.sub(r"\s+", " ", f"{before} {after}").strip(), replaced, tuple(corrected)


def parse(question: str, gazetteer: Gazetteer, index: OffenceIndex | None = None) -> Parsed:
    """Parse a question into one part per place or period asked about."""
    if index is None:
        index = catalogue_index()
    text = normalise(question)
    asks, cleaned = _question_kind(text, index)
    cleaned, replaced, corrected = _take_correction(cleaned, index, gazetteer)
    offence, rest = _find_offence(cleaned, index, gazetteer)
    rest = COMPARE_WORD.sub("", rest)
    parts: list[tuple[AreaMatch, PeriodAsk | None, str]] = []
    for piece in _split(rest, gazetteer) or [""]:
        period, words = parse_period(piece)
        extra, without = parse_period(words)
        if extra is not None and extra.kind == "junk":
            # "burglary Leeds 2024 1e9": a second number that is no period is not dropped.
            period, words = extra, without
        area = gazetteer.match(words)
        if area.status == "none" and period is None and parts:
            continue
        parts.append((area, period, words))
    offence = dc_replace(_settle_offence(offence, parts, gazetteer, index), asks=asks,
                         replaced=replaced, corrected=corrected)
    areas = [a for a, _, _ in parts if a.status != "none"]
    periods = [p for _, p, _ in parts if p is not None]
    out: list[tuple[AreaMatch, PeriodAsk]] = []
    for area, period, _ in parts:
        pair = (area if area.status != "none" else (areas[0] if areas else area),
                period or (periods[0] if periods else PeriodAsk()))
        if all((pair[0].said, pair[0].best, pair[1]) != (a.said, a.best, p) for a, p in out):
            out.append(pair)
    return Parsed(text, offence.key, offence.said, tuple(a for a, _ in out),
                  tuple(p for _, p in out), offence)


def _settle_offence(offence: OffenceMatch, parts: list[tuple[AreaMatch, PeriodAsk | None, str]],
                    gazetteer: Gazetteer, index: OffenceIndex) -> OffenceMatch:
    """No offence, or only a generic word ("crime"): any other word that is not filler and not a
    place is an offence we do not know, so ask rather than answer total crime."""
    if offence.how not in {"default", "unknown"}:
        return offence
    unknown = [w for area, _, words in parts for w in gazetteer.leftover(words, area)
               if area.status in {"ok", "ambiguous", "none"}]
    if offence.how == "unknown":
        return OffenceMatch(None, offence.said, "unknown", 0.0,
                            index.suggest(offence.said.split() + unknown))
    for word in unknown:
        if len(word) >= 5:
            found = index.fuzzy(word)
            if found:
                return OffenceMatch(found[0], word, "fuzzy", found[2])
    if unknown:
        said = " ".join(unknown + ([offence.said] if offence.said else []))
        return OffenceMatch(None, said, "unknown", 0.0, index.suggest(unknown))
    return offence


def resolve_year(ask: PeriodAsk, held: list[str], today: date) -> tuple[str | None, str]:
    """The period end an ask means among the held periods, and a note saying how it was chosen.

    Returns (None, why) when the asked period is not held; the caller lists what is.
    """
    with_data = sorted(held)
    if not with_data:
        return None, "no figures are held"
    if ask.kind == "latest":
        return with_data[-1], ""
    if ask.kind == "junk":
        return None, f"“{ask.said}” is not a year I can read"
    if ask.kind == "end":
        return (ask.end, "") if ask.end in with_data else (None, "that period is not held")
    year = today.year - 1 if ask.kind == "last_year" else ask.year
    # The sorted slice of periods ending in that year: every one starts "YYYY-", and "." is
    # the character after "-", so bisection finds them without reading a long series.
    in_year = with_data[bisect_left(with_data, f"{year}-"):bisect_left(with_data, f"{year}.")]
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
