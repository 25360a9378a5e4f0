"""Follow-up questions: what a short reply ("and Flintshire?", "the year before", "same for
burglary", "chart it") takes from the answer it follows.

Pure: no store, no surface. An answer leaves a `Topic` (offence, place(s), period(s), measure);
`follow_on` reads the new text against it and returns a `FollowUp`: the question it stands for
(as a `Parsed`, with carried places and periods pinned by code and date so nothing is re-guessed
from a name), what was carried, and the lead that says so. Whatever the new text names wins;
only what it leaves out is carried, and every carried part is said in the lead ("Following on
from sexual offences, year to December 2022: …") and in the JSON `context`, never silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from bot.gazetteer import AreaMatch, Candidate, Gazetteer, Place
from bot.offence_index import OffenceIndex
from bot.period_ask import PeriodAsk
from bot.periods import month_end
from bot.places import normalise
from bot.style import period_words
from bot.understanding import OffenceMatch, Parsed, parse

MAX_PAIRS = 6  # places × periods a follow-up may expand to; more is a table, not an answer

NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_COUNT = r"(a|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"

# Openings that make a short message read as a follow-up in a private chat.
OPENING = re.compile(
    r"^(?:and|also|plus|what about|how about|what of|same for|same but|same|now|then|"
    r"compare(?:d)? (?:it |that )?(?:with|to)|vs\.?|versus|v\.?|against|"
    r"(?:and |what about |how about )?(?:the )?(?:year|12 months) (?:before|after|earlier|"
    r"later)|(?:the )?previous year|last year|"
    rf"{_COUNT} years? (?:before|earlier|after|later|on)|"
    r"per (?:1,?000|thousand)|as a rate|(?:the |what'?s the )?rate|"
    r"chart|graph|plot|"
    r"how does (?:that|it|this) rank|where does (?:that|it|this) rank|rank (?:it|that)|"
    r"(?:write )?(?:it|that) up|story)\b")
COMPARING = re.compile(r"^(?:and |now |then )?(?:compare(?:d)? (?:it |that |this )?(?:with|to)|"
                       r"vs\.?|versus|v\.?|against|next to|alongside)\s+")
RELATIVE = re.compile(
    rf"\b(?:the )?(?:(?P<n>{_COUNT}) years?|year|12 months) (?P<way>before|earlier|after|later|"
    r"on)\b|\b(?:the )?previous year\b")
MEASURE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("chart", re.compile(r"\b(?:chart|graph|plot)(?: it| that| this)?\b")),
    ("ranking", re.compile(r"\b(?:how|where) does (?:that|it|this) rank\b|\brank(?:ed|ing)?"
                           r"(?: it| that| this)?\b|\bleague table\b")),
    ("story", re.compile(r"\b(?:write (?:it|that|this) up|story)\b")),
    ("rate", re.compile(r"\bper (?:1,?000|thousand)(?: residents| people)?\b|\bas a rate\b|"
                        r"\b(?:the |what'?s the )?rate\b")),
)
# Words that only point back at the answer followed; dropped before the rest is read.
POINTING = re.compile(
    r"^(?:and|also|plus|what about|how about|what of|same for|same but|same|now|then)\b\s*|"
    r"\b(?:it|that|this|there|then|instead|too|as well|also|the same|same|please|though)\b|[?!.]")
FORCE = re.compile(r"\b(?:the|its|their|whole|that) (?:whole )?(?:police )?force(?: area)?"
                   r"(?: as a whole)?\b|\bforce[- ]wide\b")
CONTAINER = re.compile(r"\b(?:in|across|among|amongst|within)\s+(?P<place>.+)$")


@dataclass(frozen=True)
class Topic:
    """What an answer was about, kept with it so a reply to it can follow on.

    `measure` is how it was given: a figure ("count"; "rate" when the rate was asked for), a
    "ranking" (then `scope` is the area whose parts were ranked and `order` its measure), a
    "chart" or a "story". `question` is the question the answer stood for, said back in JSON.
    """

    question: str
    offence_key: str
    offence_label: str
    places: tuple[Place, ...]
    period_ends: tuple[str, ...]
    measure: str = "count"
    scope: Place | None = None
    order: str = "rate"
    force: str = ""

    def to_json(self) -> dict:
        return {"question": self.question, "offence": {"key": self.offence_key,
                                                       "label": self.offence_label},
                "areas": [{"code": p.code, "name": p.name, "kind": p.kind} for p in self.places],
                "periods": list(self.period_ends), "measure": self.measure,
                "scope": ({"code": self.scope.code, "name": self.scope.name,
                           "kind": self.scope.kind} if self.scope else None),
                "order": self.order, "force": self.force}

    @classmethod
    def from_json(cls, data: dict) -> Topic:
        scope = data.get("scope")
        return cls(data["question"], data["offence"]["key"], data["offence"]["label"],
                   tuple(Place(a["code"], a["name"], a["kind"]) for a in data["areas"]),
                   tuple(data["periods"]), data["measure"],
                   Place(scope["code"], scope["name"], scope["kind"]) if scope else None,
                   data.get("order", "rate"), data.get("force", ""))


@dataclass(frozen=True)
class FollowUp:
    """A follow-up, read: the question it stands for and what it took from `after`.

    `parsed` is set for an answer (figure, chart, story), `ranking` (question text) for a
    ranking. `carried` names the parts taken ("offence", "area", "period"); `measure` is what
    the surface should give.
    """

    after: Topic
    question: str
    measure: str
    carried: tuple[str, ...]
    lead: str
    parsed: Parsed | None = None
    ranking: str | None = None
    taken: dict = field(default_factory=dict, compare=False)

    def context(self) -> dict:
        """The `context` object of the JSON: what was taken, from which answer."""
        return {"after": {"question": self.after.question},
                "carried": list(self.carried), "taken": self.taken,
                "question": self.question, "measure": self.measure}


def reads_as_follow_up(text: str) -> bool:
    """Does a message read as following on ("and …", "what about …", "the year before",
    "per 1,000?", "chart it")? Private chats carry context only for these."""
    return bool(OPENING.match(normalise(text)))


def noun(label: str) -> str:
    """"Sexual offences" → "sexual offences"; an acronym ("CSEW …") keeps its capitals."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def shift(end: str, years: int) -> str:
    """The same 12-month window `years` later (earlier when negative)."""
    day = date.fromisoformat(end)
    return month_end(day.year + years, day.month).isoformat()


def _measure(text: str) -> tuple[str | None, str]:
    for measure, pattern in MEASURE_WORDS:
        if pattern.search(text):
            return measure, pattern.sub(" ", text)
    return None, text


def _relative(text: str, topic: Topic) -> tuple[list[PeriodAsk], str, str]:
    """"the year before", "five years earlier": periods counted from the answer followed (and
    the words that said so)."""
    match = RELATIVE.search(text)
    if not match or not topic.period_ends:
        return [], "", text
    count = match.group("n")
    years = 1 if count is None else NUMBER_WORDS.get(count) or int(count)
    if match.group("way") in {"after", "later", "on"}:
        years = -years
    end = shift(max(topic.period_ends), -years)
    return ([PeriodAsk("end", end, None, period_words(end))], match.group(0).strip(),
            text[:match.start()] + " " + text[match.end():])


def _pinned(place: Place) -> AreaMatch:
    return AreaMatch("ok", place.name, (Candidate(place.code, place.name, place.kind, 100.0),),
                     "exact")


def _named_offence(parsed: Parsed) -> OffenceMatch | None:
    match = parsed.offence_match
    if match.how in {"exact", "alias", "fuzzy", "unknown"} or (match.how == "default"
                                                               and match.said):
        return match
    return None


def _unique(items: list) -> list:
    out: list = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _lead(topic: Topic, carried: tuple[str, ...], relative: str, ranking: bool) -> str:
    parts = []
    if ranking and topic.scope is not None:
        parts.append(f"the ranking in {topic.scope.name}")
    if "offence" in carried:
        parts.append(noun(topic.offence_label))
    if "area" in carried:
        parts.append(" and ".join(p.name for p in topic.places))
    if "period" in carried:
        parts.append(" and ".join(period_words(e) for e in sorted(set(topic.period_ends))))
    elif relative:
        joint = "" if relative.endswith(("before", "after")) else " than"
        parts.append(f"{relative}{joint} the {period_words(max(topic.period_ends))}")
    if not parts:
        return ""
    return f"Following on from {', '.join(parts)}: "


def follow_on(text: str, topic: Topic, gazetteer: Gazetteer, index: OffenceIndex,
              measure: str | None = None) -> FollowUp | None:
    """Read `text` as following `topic`; None when it names nothing and asks for nothing (a
    "thanks" in reply is chatter, not a request to repeat the answer)."""
    said = normalise(text)
    comparing = bool(COMPARING.match(said))
    rest = COMPARING.sub("", said)
    asked, rest = _measure(rest)
    relative, relative_said, rest = _relative(rest, topic)
    if topic.force:  # "and the force?": the police force area of the place answered
        rest = FORCE.sub(f" {topic.force} police ", rest)
    rest = re.sub(r"\s+", " ", POINTING.sub(" ", rest)).strip()
    measure = measure or asked
    scope_said = ""
    if measure == "ranking" and (inside := CONTAINER.search(rest)):
        scope_said, rest = inside.group("place"), rest[:inside.start()]
    parsed = parse(rest, gazetteer, index) if rest else None
    offence = _named_offence(parsed) if parsed else None
    areas = [a for a in parsed.areas if a.status != "none"] if parsed else []
    periods = relative or ([p for p in parsed.periods if p.said] if parsed else [])
    # "why?" or "lol" in reply names no place we know and does not read as following on:
    # it is not a request to repeat the answer for a place called "lol".
    known = [a for a in areas if a.status in {"ok", "ambiguous"}]
    if not (offence or known or periods or measure or comparing or scope_said
            or (areas and OPENING.match(said))):
        return None
    # A comparison keeps the answer's own place and period beside the new one.
    carried = tuple(part for part, named in (("offence", offence), ("area", areas),
                                             ("period", periods))
                    if not named or (comparing and part != "offence"))
    measure = measure or ("count" if topic.measure in {"chart", "story"} else topic.measure)
    offence_match = offence or OffenceMatch(topic.offence_key, topic.offence_label, "exact")
    key = offence_match.key or ""
    label = topic.offence_label if offence is None else (offence.said or key)
    taken = {"offence": ({"key": topic.offence_key, "label": topic.offence_label}
                         if "offence" in carried else None),
             "areas": [p.code for p in topic.places] if "area" in carried else [],
             "periods": sorted(set(topic.period_ends)) if "period" in carried else []}
    lead = _lead(topic, carried, relative_said,
                 measure == "ranking" and topic.measure == "ranking" and not scope_said)
    if measure == "ranking":
        ranking = _ranking_text(topic, label if offence else topic.offence_label, areas,
                                periods, scope_said)
        return FollowUp(topic, ranking, "ranking", carried, lead, ranking=ranking, taken=taken)
    carried_areas = [_pinned(p) for p in topic.places]
    carried_periods = [PeriodAsk("end", e, None, period_words(e))
                       for e in sorted(set(topic.period_ends))]
    if comparing:
        areas = _unique(carried_areas + areas) if areas else carried_areas
        periods = _unique(carried_periods + periods) if periods else carried_periods
    pairs = _pairs(parsed, areas or carried_areas, periods or carried_periods,
                   bool(areas) and bool(periods) and not comparing and not relative)
    if not pairs:
        return None
    question = " vs ".join(_words(offence_match, label, area, period) for area, period in pairs)
    merged = Parsed(question, key or None, offence_match.said,
                    tuple(a for a, _ in pairs), tuple(p for _, p in pairs), offence_match)
    return FollowUp(topic, question, measure, carried, lead, parsed=merged, taken=taken)


def _pairs(parsed: Parsed | None, areas: list[AreaMatch], periods: list[PeriodAsk],
           as_said: bool) -> list[tuple[AreaMatch, PeriodAsk]]:
    """Each place with each period; the new text's own pairing when it named both."""
    if as_said and parsed is not None:
        return list(zip(parsed.areas, parsed.periods, strict=True))[:MAX_PAIRS]
    pairs = [(a, p) for a in _unique(areas) for p in _unique(periods)]
    return pairs[:MAX_PAIRS]


def _words(offence: OffenceMatch, label: str, area: AreaMatch, period: PeriodAsk) -> str:
    place = area.best.name if area.status == "ok" and area.best else area.said
    return " ".join(w for w in (noun(label) if offence.key else offence.said, place,
                                period.said) if w)


def _ranking_text(topic: Topic, label: str, areas: list[AreaMatch], periods: list[PeriodAsk],
                  scope_said: str) -> str:
    """The ranking question a follow-up stands for, in words `bot.rankings` reads."""
    focus = areas[0].said if areas else (topic.places[0].name if topic.places else "")
    scope = scope_said or (topic.scope.name if topic.scope else "")
    period = periods[0].said if periods else (
        period_words(max(topic.period_ends)) if topic.period_ends else "")
    by = {"count": "by number", "change": "by rise"}.get(topic.order, "by rate")
    head = f"where does {focus} rank for" if focus else "rank areas for"
    return " ".join(w for w in (head, noun(label), f"in {scope}" if scope else "", by, period)
                    if w)

