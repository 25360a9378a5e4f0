"""Figures → words and numbers: the one answer function every surface calls.

The reply follows the reporting guide's order (figure and force, previous year, series context,
rate against England and Wales, wider picture, caveats, source) and is built from an `Answer`
dataclass that carries every number, so the CLI's JSON and the bot's text cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from bot.offences import BY_KEY, CAVEATS, LOCAL_CAUTION, caveat_for
from bot.periods import label as period_label
from bot.periods import short, year_before
from bot.store import AreaRow, EditionRow, FigureRow, Store
from bot.understanding import (
    AreaMatch,
    Candidate,
    Gazetteer,
    Parsed,
    PeriodAsk,
    Place,
    normalise,
    parse,
    resolve_year,
)

ENGLAND_AND_WALES = "K04000001"

STATUSES = ("ok", "ambiguous", "not_found", "no_data")


@dataclass(frozen=True)
class Choice:
    """A candidate area offered when a name is ambiguous or not found."""

    code: str
    name: str
    kind: str
    force: str | None = None

    @property
    def label(self) -> str:
        """"Bedford (CSP, Bedfordshire)": what a button says."""
        kinds = {"csp": "local area", "pfa": "police force area",
                 "england_and_wales": "national", "region": "region", "country": "country",
                 "other": "other"}
        where = f", {self.force}" if self.force and self.force != self.name else ""
        return f"{self.name} ({kinds.get(self.kind, self.kind)}{where})"


@dataclass(frozen=True)
class Answer:
    """Everything a reply says, as data. `text` is plain text (no markup), paragraphs split by
    blank lines; surfaces escape it for their own format."""

    status: str
    text: str
    area_code: str | None = None
    area_name: str | None = None
    area_kind: str | None = None
    force_name: str | None = None
    offence_key: str | None = None
    offence_label: str | None = None
    period_end: str | None = None
    period_label: str | None = None
    count: int | None = None
    previous_end: str | None = None
    previous_count: int | None = None
    change_pct: float | None = None
    rate_per_1000: float | None = None
    edition: str | None = None
    published: str | None = None
    earlier_period: str | None = None
    later_period: str | None = None
    candidates: tuple[Choice, ...] = ()
    parts: tuple[Answer, ...] = field(default=())

    def to_json(self) -> dict:
        """The `crimebot ask --json` contract."""
        out: dict = {
            "status": self.status,
            "text": self.text,
            "area": ({"code": self.area_code, "name": self.area_name, "kind": self.area_kind}
                     if self.area_code else None),
            "offence": ({"key": self.offence_key, "label": self.offence_label}
                        if self.offence_key else None),
            "period": ({"end": self.period_end, "label": self.period_label}
                       if self.period_end else None),
            "count": self.count,
            "previous": ({"end": self.previous_end, "count": self.previous_count}
                         if self.previous_end else None),
            "change_pct": self.change_pct,
            "rate_per_1000": self.rate_per_1000,
            "candidates": [{k: v for k, v in asdict(c).items() if k != "force"}
                           for c in self.candidates],
            "source": ({"edition": self.edition, "published": self.published}
                       if self.edition else None),
        }
        if self.parts:
            out["parts"] = [part.to_json() for part in self.parts]
        return out


def _force_phrase(name: str | None) -> str:
    """"North Wales" → "North Wales Police"; names that already say police are kept."""
    if not name:
        return "Police"
    if re.search(r"\b(police|constabulary)\b", name, re.I):
        return name
    return f"{name} Police"


SINGULAR = {"offences": "offence", "crimes": "crime", "burglaries": "burglary",
            "robberies": "robbery", "thefts": "theft", "homicides": "homicide", "rapes": "rape"}


def _counted(count: int, noun: str) -> str:
    """"536 sexual offences", but "1 sexual offence"."""
    if count == 1:
        words = noun.split(" ")
        for index, word in enumerate(words):
            if word in SINGULAR:
                words[index] = SINGULAR[word]
                break
        noun = " ".join(words)
    return f"{_num(count)} {noun}"


def _display(name: str) -> str:
    """ONS's "Bristol, City of" as a reporter writes it: "Bristol"."""
    return re.sub(r", (City|County) of$", "", name)


def _num(value: int) -> str:
    return f"{value:,}"


def _pct(value: float) -> str:
    return f"{abs(value):.0f}%" if abs(value) >= 1 else f"{abs(value):.1f}%"


def _rate(value: float) -> str:
    return f"{value:.1f}" if value >= 0.95 else f"{value:.2f}"


def _periods_held(periods: list[str]) -> str:
    """A compact list of held periods: "Dec 2021, Dec 2022 … Jun 2025" or a range."""
    if len(periods) <= 6:
        return ", ".join(short(p) for p in periods)
    return f"{short(periods[0])} to {short(periods[-1])} ({len(periods)} periods)"


KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("E23000035", "2022-12-31"): "Devon and Cornwall Police could not supply October–December "
                                 "2022 data after moving to a new IT system.",
    ("E23000035", "2021-12-31"): "Devon and Cornwall Police figures are not available in this "
                                 "edition after its move to a new IT system.",
    ("E23000005", "2020-03-31"): "Greater Manchester Police supplied no data for part of "
                                 "2019/20 after moving to a new IT system.",
}

def known_gap(area: AreaRow, period_end: str) -> str:
    """The ONS note for a force's missing data, for the force and every area it polices."""
    return KNOWN_GAPS.get((area.force_code or area.code, period_end), "")


HELP = ("Ask me about police recorded crime in England and Wales, for example: "
        "“sexual offences Wrexham 2022”, “burglaries in Leeds last year”, "
        "“violent crime Bedfordshire police latest” or “shoplifting Manchester 2024 vs 2023”.")


class Engine:
    """Holds the store and the gazetteer built from it; one per process."""

    def __init__(self, store: Store, today: date | None = None) -> None:
        self.store = store
        self.today = today
        self._generation = -1
        self._gazetteer: Gazetteer | None = None
        self._labels: dict[str, tuple[str, str | None]] = {}
        self._forces: dict[str, str] = {}

    # --- set-up that follows the store --------------------------------------------------

    def _sync(self) -> Gazetteer:
        """Rebuild the name index when the store has been swapped for a new edition."""
        if self._gazetteer is None or self._generation != self.store.generation:
            every = self.store.areas()
            areas = [a for a in every if a.offered]
            offered = {a.code for a in areas}
            names: list[tuple[str, str]] = list(self.store.former_names())
            for _, la_name, csp_code, _ in self.store.local_authorities():
                if csp_code in offered:
                    names.append((la_name, csp_code))
            self._forces = {a.code: a.name for a in every if a.kind == "pfa"}
            self._gazetteer = Gazetteer([Place(a.code, a.name, a.kind) for a in areas], names)
            self._labels = self.store.offence_labels()
            self._generation = self.store.generation
        return self._gazetteer

    def _today(self) -> date:
        return self.today or date.today()

    # --- the public face ----------------------------------------------------------------

    def ask(self, question: str, today: date | None = None) -> Answer:
        """Answer a reporter's question in plain words. Never raises for any input text."""
        if today is not None:
            self.today = today
        if not isinstance(question, str) or not normalise(question):
            return Answer("not_found", "I didn't catch a question. " + HELP)
        gazetteer = self._sync()
        parsed = parse(question, gazetteer)
        if len(parsed.areas) == 2 or parsed.periods[0] != parsed.periods[-1]:
            return self._comparison(parsed)
        return self._single(parsed.areas[0], parsed.offence, parsed.periods[0])

    @property
    def gazetteer(self) -> Gazetteer:
        """The name index for the store as it is now (rebuilt after a store swap)."""
        return self._sync()

    def search_areas(self, text: str, limit: int = 10) -> list[Candidate]:
        return self._sync().search(text, limit)

    def answer_for(self, area_code: str, offence_key: str, period_end: str | None) -> Answer:
        """Answer for an exact area, offence and period (None = latest held): for buttons."""
        self._sync()
        area = self.store.area(area_code)
        if area is None or not area.offered or offence_key not in self._labels:
            return Answer("not_found", "That button is out of date; please ask again. " + HELP)
        match = AreaMatch("ok", area.name, (Candidate(area.code, area.name, area.kind, 100.0),))
        ask = PeriodAsk("end", period_end) if period_end else PeriodAsk()
        return self._single(match, offence_key, ask)

    # --- one area ------------------------------------------------------------------------

    def _single(self, match: AreaMatch, offence: str | None, ask: PeriodAsk) -> Answer:
        offence_key = offence or "all_crime"
        if match.status == "none":
            if offence is None and ask.said == "":
                return Answer("not_found", "I couldn't find a place or an offence in that. "
                              + HELP)
            return Answer("not_found", "Which area? Name a council area, a police force or "
                          "“England and Wales”. " + HELP,
                          offence_key=offence_key, offence_label=self._label(offence_key))
        if match.status == "not_found":
            choices = self._choices(match.candidates)
            text = f"I couldn't find a place called “{match.said}”."
            if choices:
                text += " Did you mean: " + "; ".join(c.label for c in choices) + "?"
            else:
                text += " " + HELP
            return Answer("not_found", text, offence_key=offence_key,
                          offence_label=self._label(offence_key), candidates=choices)
        if match.status == "ambiguous":
            choices = self._choices(match.candidates)
            text = (f"“{match.said}” could mean more than one area. Which one did you mean? "
                    + "; ".join(c.label for c in choices) + ".")
            period_end = ask.end if ask.kind == "end" else None
            return Answer("ambiguous", text, offence_key=offence_key,
                          offence_label=self._label(offence_key), period_end=period_end,
                          candidates=choices)
        best = match.best
        assert best is not None
        return self._figure_answer(best.code, offence_key, ask, offence_given=offence is not None)

    def _label(self, key: str) -> str:
        return self._labels.get(key, (key, None))[0]

    def _choices(self, candidates: tuple[Candidate, ...]) -> tuple[Choice, ...]:
        out = []
        for c in candidates:
            area = self.store.area(c.code)
            force = self._forces.get(area.force_code) if area and area.force_code else None
            out.append(Choice(c.code, c.name, c.kind, force))
        return tuple(out)

    def _figure_answer(self, code: str, offence_key: str, ask: PeriodAsk, *,
                       offence_given: bool) -> Answer:
        area = self.store.area(code)
        assert area is not None
        offence = BY_KEY.get(offence_key)
        level = offence.level if offence else "national"
        lead: list[str] = []
        if level == "force" and area.kind == "csp" and area.force_code:
            lead.append(f"ONS publishes {self._noun(offence_key)} for police force areas, not "
                        f"for local areas such as {_display(area.name)}; here is the figure for "
                        f"{self._forces.get(area.force_code, 'its force')}.")
            area = self.store.area(area.force_code) or area
        elif level == "national" and area.kind != "england_and_wales":
            why = CAVEATS["fraud"] if offence_key == "fraud" else (
                f"ONS publishes {self._noun(offence_key)} only for England and Wales as a whole.")
            lead.append(f"There is no figure for {_display(area.name)}: {why} Here is the "
                        "England and Wales figure.")
            area = self.store.area(ENGLAND_AND_WALES) or area
        series = self.store.series(area.code, offence_key)
        if not series:
            held = self.store.offences_held(area.code)
            text = (f"No {self._noun(offence_key)} figures are held for {_display(area.name)}.")
            if held:
                text += " Figures held there include: " + ", ".join(
                    self._label(k).lower() for k in held[:8]) + "."
            return self._empty("no_data", text, area, offence_key)
        counted = [f.period_end for f in series if f.count is not None]
        period_end, how = resolve_year(ask, counted, self._today())
        if period_end is None:
            asked = ask.said or "that period"
            missing = next((f for f in reversed(series) if f.count is None and (
                f.period_end == ask.end or (ask.year and f.period_end.startswith(f"{ask.year}-"))
            )), None)
            gap = known_gap(area, missing.period_end) if missing else ""
            if missing is not None:
                text = (f"ONS published no {self._noun(offence_key)} figure for "
                        f"{_display(area.name)} for {period_label(missing.period_end)} "
                        f"(marked as not available). {gap}")
            else:
                text = (f"No {self._label(offence_key).lower()} figures for "
                        f"{_display(area.name)} for “{asked}”.")
            text = text.strip() + f" Periods held: {_periods_held(counted)}."
            split = self._split_categories(area.code, offence_key, ask.end)
            if split:
                text += " " + split
            return self._empty("no_data", text, area, offence_key)
        figure = next(f for f in series if f.period_end == period_end)
        return self._compose(area, offence_key, figure, series, lead, [how] if how else [],
                             offence_given=offence_given)

    def _split_categories(self, code: str, offence_key: str, period_end: str | None) -> str:
        """For a period when ONS split an offence differently (burglary before 2017), name the
        categories that are held instead of leaving the reporter with nothing."""
        if not period_end:
            return ""
        found = []
        for key, (_, parent) in sorted(self._labels.items()):
            if parent != offence_key:
                continue
            figure = self.store.figure(code, key, period_end)
            if figure and figure.count is not None:
                found.append(f"{self._label(key).lower()}: {_num(figure.count)}")
        if not found:
            return ""
        return f"For {period_label(period_end)} the figures held are split: " + \
            "; ".join(found) + "."

    def _empty(self, status: str, text: str, area: AreaRow, offence_key: str) -> Answer:
        return Answer(status, text, area_code=area.code, area_name=area.name,
                      area_kind=area.kind, offence_key=offence_key,
                      offence_label=self._label(offence_key))

    def _noun(self, key: str) -> str:
        offence = BY_KEY.get(key)
        return offence.noun if offence else self._label(key).lower()

    # --- composing the reply --------------------------------------------------------------

    def _compose(self, area: AreaRow, offence_key: str, figure: FigureRow,
                 series: list[FigureRow], lead: list[str], after: list[str], *,
                 offence_given: bool) -> Answer:
        count = figure.count
        assert count is not None
        noun = self._noun(offence_key)
        force_name = self._forces.get(area.force_code or "") if area.force_code else None
        when = period_label(figure.period_end)
        if area.kind == "england_and_wales":
            headline = f"Police in England and Wales recorded {_counted(count, noun)} in {when}"
        elif area.kind in {"region", "country"}:
            headline = f"Police in {_display(area.name)} recorded {_counted(count, noun)} in {when}"
        elif area.kind == "pfa" or area.code == "x-british-transport-police":
            headline = f"{_force_phrase(area.name)} recorded {_counted(count, noun)} in {when}"
        else:
            headline = (f"{_force_phrase(force_name)} recorded {_counted(count, noun)} in "
                        f"{_display(area.name)} in {when}")
        headline += ", ONS figures show."
        paragraphs = [*lead, headline, *after]
        if not offence_given:
            paragraphs.append("(No offence was named, so this is total recorded crime.)")

        previous_end = year_before(figure.period_end)
        previous = next((f for f in series if f.period_end == previous_end), None)
        change_pct = None
        previous_count = previous.count if previous else None
        if previous is None:
            paragraphs.append(f"No figure for {period_label(previous_end)} is held, so there is "
                              "no year-on-year comparison.")
        elif previous.count is None:
            gap = known_gap(area, previous_end)
            paragraphs.append(f"The figure for {period_label(previous_end)} was not published "
                              f"(not available), so no change is given. {gap}".strip())
        elif previous.count <= 0 or count < 0:
            paragraphs.append(f"The year before, {period_label(previous_end)}, the published "
                              f"count was {_num(previous.count)}; no percentage change is "
                              "given for counts this small or negative.")
        else:
            diff = count - previous.count
            change_pct = round(100.0 * diff / previous.count, 1)
            direction = "up" if diff > 0 else "down" if diff < 0 else "unchanged"
            if diff == 0:
                paragraphs.append(f"That is unchanged from {period_label(previous_end)}.")
            elif min(count, previous.count) < 50:
                change_pct = None
                paragraphs.append(f"That is {direction} {_num(abs(diff))} from "
                                  f"{_num(previous.count)} in {period_label(previous_end)} "
                                  "(small numbers, so no percentage is given).")
            else:
                word = "a rise" if diff > 0 else "a fall"
                paragraphs.append(f"That is {direction} from {_num(previous.count)} in "
                                  f"{period_label(previous_end)}, {word} of {_pct(change_pct)}.")
        context = series_context(series, figure)
        if context:
            paragraphs.append(context)

        national = (self._national(offence_key, figure.period_end)
                    if area.kind != "england_and_wales" else None)
        rate, rate_text = self._rate(area, offence_key, figure, national)
        if rate_text:
            paragraphs.append(rate_text)
        wider = self._wider(area, offence_key, figure.period_end, national)
        if wider:
            paragraphs.append(wider)
        gap = known_gap(area, figure.period_end)
        if gap:
            paragraphs.append(gap)
        caveats = [caveat_for(offence_key), CAVEATS["general"]]
        if area.kind in {"csp", "other"}:
            caveats.append(LOCAL_CAUTION)
        paragraphs.append("Caveat: " + " ".join(c for c in caveats if c))
        edition = self.store.edition(figure.edition)
        paragraphs.append(source_line(edition))
        counted = [f.period_end for f in series if f.count is not None]
        index = counted.index(figure.period_end)
        return Answer(
            "ok", "\n\n".join(paragraphs), area_code=area.code, area_name=area.name,
            area_kind=area.kind, force_name=force_name, offence_key=offence_key,
            offence_label=self._label(offence_key), period_end=figure.period_end,
            period_label=when, count=count,
            previous_end=previous_end if previous else None, previous_count=previous_count,
            change_pct=change_pct, rate_per_1000=rate,
            edition=edition.title if edition else figure.edition,
            published=edition.published if edition else None,
            earlier_period=counted[index - 1] if index > 0 else None,
            later_period=counted[index + 1] if index + 1 < len(counted) else None,
        )

    def _rate_of(self, code: str, offence_key: str, figure: FigureRow) -> tuple[float, str] | None:
        if figure.rate is not None:
            return figure.rate, figure.rate_basis or "ONS published rate"
        if figure.count is None:
            return None
        year = int(figure.period_end[:4])
        found = self.store.population(code, year)
        if found is None:
            return None
        pop_year, people, _ = found
        if people <= 0:
            return None
        return 1000.0 * figure.count / people, f"computed from the mid-{pop_year} population"

    def _rate(self, area: AreaRow, offence_key: str, figure: FigureRow,
              national: tuple[FigureRow, bool] | None) -> tuple[float | None, str]:
        own = self._rate_of(area.code, offence_key, figure)
        if own is None:
            return None, ("No rate per 1,000 residents is given: no population estimate is held "
                          f"for {_display(area.name)} as a whole.") if area.kind == "csp" else ""
        rate, basis = own
        text = f"That is {_rate(rate)} per 1,000 residents ({basis})"
        if national is not None:
            ew_figure, exact = national
            ew = self._rate_of(ENGLAND_AND_WALES, offence_key, ew_figure)
            if ew is not None:
                mine, theirs = _rate(rate), _rate(ew[0])
                relation = ("in line with" if mine == theirs else
                            "above" if rate > ew[0] else "below")
                when = "" if exact else f" for {period_label(ew_figure.period_end)}"
                text += (f", {relation} the England and Wales rate of {_rate(ew[0])}{when} "
                         f"({ew[1]})")
        return round(rate, 2), text + "."

    def _national(self, offence_key: str, period_end: str) -> tuple[FigureRow, bool] | None:
        """The England and Wales figure for the period, else the nearest one held."""
        series = [f for f in self.store.series(ENGLAND_AND_WALES, offence_key)
                  if f.count is not None]
        if not series:
            return None
        exact = next((f for f in series if f.period_end == period_end), None)
        if exact:
            return exact, True
        target = date.fromisoformat(period_end)
        nearest = min(series, key=lambda f: abs((date.fromisoformat(f.period_end) - target).days))
        return nearest, False

    def _wider(self, area: AreaRow, offence_key: str, period_end: str,
               national: tuple[FigureRow, bool] | None) -> str:
        parts: list[str] = []
        if area.kind in {"csp", "other"} and area.force_code:
            force = self.store.figure(area.force_code, offence_key, period_end)
            name = self._forces.get(area.force_code, "the force")
            if force and force.count is not None:
                parts.append(f"{_force_phrase(name)} as a whole recorded {_num(force.count)}")
            elif force:
                parts.append(f"the figure for {_force_phrase(name)} as a whole was not "
                             "published for this period")
        if national:
            ew, exact = national
            if exact:
                parts.append(f"England and Wales recorded {_num(ew.count or 0)}")
            else:
                parts.append(f"no England and Wales figure for this period is held (nearest: "
                             f"{_num(ew.count or 0)} in {period_label(ew.period_end)})")
        if not parts:
            return ""
        sentence = "; ".join(parts)
        return f"In the same period, {sentence}."

    # --- comparisons ------------------------------------------------------------------------

    def _comparison(self, parsed: Parsed) -> Answer:
        pairs = list(zip(parsed.areas if len(parsed.areas) == 2 else parsed.areas * 2,
                         parsed.periods, strict=False))
        parts = tuple(self._single(area, parsed.offence, period) for area, period in pairs)
        if any(p.status != "ok" for p in parts):
            first_bad = next(p for p in parts if p.status != "ok")
            return Answer(first_bad.status, first_bad.text, parts=parts,
                          candidates=first_bad.candidates, offence_key=first_bad.offence_key,
                          offence_label=first_bad.offence_label)
        a, b = parts
        lines = [f"{_display(p.area_name or '')}, {p.period_label}: {_num(p.count or 0)}"
                 for p in parts]
        summary = "Side by side (" + (a.offence_label or "").lower() + "):\n" + "\n".join(lines)
        if a.count and b.count and a.area_code == b.area_code:
            diff = (a.count or 0) - (b.count or 0)
            if b.count > 0 and min(a.count, b.count) >= 50:
                summary += (f"\nChange: {'up' if diff > 0 else 'down'} {_pct(100 * diff / b.count)}"
                            f" from {b.period_label} to {a.period_label}.")
        text = summary + "\n\n" + a.text + "\n\n" + b.text
        return Answer("ok", text, area_code=a.area_code, area_name=a.area_name,
                      area_kind=a.area_kind, force_name=a.force_name, offence_key=a.offence_key,
                      offence_label=a.offence_label, period_end=a.period_end,
                      period_label=a.period_label, count=a.count, previous_end=a.previous_end,
                      previous_count=a.previous_count, change_pct=a.change_pct,
                      rate_per_1000=a.rate_per_1000, edition=a.edition, published=a.published,
                      earlier_period=a.earlier_period, later_period=a.later_period, parts=parts)


def series_context(series: list[FigureRow], figure: FigureRow) -> str:
    """"The highest since …" from held figures only, honest about where the series starts."""
    held = [f for f in series if f.count is not None and f.period_end <= figure.period_end]
    earlier = held[:-1]
    if not earlier or figure.count is None:
        return ""
    first = period_label(held[0].period_end)
    count = figure.count
    higher = [f for f in earlier if f.count is not None and f.count >= count]
    lower = [f for f in earlier if f.count is not None and f.count <= count]
    if not higher:
        return (f"It is the highest of the {len(held)} periods held, which start in {first}.")
    if not lower:
        return (f"It is the lowest of the {len(held)} periods held, which start in {first}.")
    last_higher, last_lower = higher[-1], lower[-1]
    if last_higher.period_end < last_lower.period_end and len(held) - held.index(last_higher) > 2:
        return (f"It is the highest since {period_label(last_higher.period_end)} "
                f"({_num(last_higher.count or 0)}); the figures held start in {first}.")
    if last_lower.period_end < last_higher.period_end and len(held) - held.index(last_lower) > 2:
        return (f"It is the lowest since {period_label(last_lower.period_end)} "
                f"({_num(last_lower.count or 0)}); the figures held start in {first}.")
    return ""


def source_line(edition: EditionRow | None) -> str:
    if edition is None:
        return "Source: ONS police recorded crime."
    published = (f", published {date.fromisoformat(edition.published):%-d %B %Y}"
                 if edition.published else "")
    return (f"Source: ONS / Home Office police recorded crime — {edition.dataset}, "
            f"edition {period_label(edition.period_end).replace('the year to', 'year ending')}"
            f"{published}.")


def open_engine(db_path: str | Path, today: date | None = None) -> Engine:
    return Engine(Store(db_path), today)
