"""What a question says about time: "2022", "year to March 2023", "2021/22", "last year".

Parsed before anything is known about which periods are held (`parse_period`), then resolved
against the held periods (`resolve_year`), so a year that is not held is said, never guessed.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date

from bot.periods import month_end

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
MONTH_WORD = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTH_BY_ABBR = {name[:3]: number for name, number in MONTHS.items()}


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
