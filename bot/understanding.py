"""Question → offence, area(s) and period(s), as pure functions over a gazetteer of names.

No store access here: the place names (`bot.gazetteer`), offence phrases (`bot.offence_index`)
and period words (`bot.period_ask`) each have their own module; this one reads a whole question
with them: corrections, comparisons and lists, and the offence a question names before it is
split, so "criminal damage and arson" is never two parts. Every part of a parse says how it was
matched (exact, alias, fuzzy with its score, or default) so the answer can state what it assumed:
a fuzzy place is stated above a high score and asked about below it, and an offence word we do
not know never becomes total recorded crime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

from bot.gazetteer import AreaMatch, Gazetteer
from bot.offence_index import OffenceIndex, catalogue_index
from bot.offences import GENERIC_WORDS
from bot.period_ask import PeriodAsk, parse_period
from bot.places import normalise
from bot.words import FILLER, TOKEN

COMPARE_WORD = re.compile(r"^(?:please\s+)?(?:compare|comparing|comparison of)\s+")
US_SPELLING = re.compile(r"\boffens(e|es)\b")


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
