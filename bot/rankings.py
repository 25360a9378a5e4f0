"""Rankings: where an area stands among its siblings, by rate per 1,000, by change or by count.

A ranking is only fair among like areas for the same 12-month window, so the siblings are fixed by
geography (local areas in a force, forces in a region, in Wales or in England and Wales) and every
figure comes from the store for one period. Published rates win over computed ones; an area whose
figure is missing, partial or too small to rank is listed as such rather than quietly dropped or
ranked on noise. `rank` returns data; `ranking_lines` lays it out, and `bot.telegram.render`
sets it as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from bot.gazetteer import AreaMatch, Candidate, Gazetteer
from bot.offence_index import catalogue_index, parse_offence
from bot.offences import BY_KEY
from bot.parts import Button, Line
from bot.period_ask import PeriodAsk, parse_period, resolve_year
from bot.periods import label as period_label
from bot.periods import year_before
from bot.places import ENGLAND_AND_WALES, WALES, display_name, name_key, normalise
from bot.rates import rate_of
from bot.series import break_between, crosses_boundary, notes_text, undercounts
from bot.store import AreaRow, Store
from bot.style import rate, signed_percent, source_line
from bot.words import FILLER

# Counts under this make a percentage change meaningless and a rate volatile (reporting guide).
SMALL = 50
# How many rows a list shows when the question gives no number; the asked area is always shown.
DEFAULT_LIMIT = 10

# Police force areas by English region (ONS region codes). Force boundaries have not changed since
# 2006 and no store table carries the force → region link, so it lives here; a test checks it
# against the Region column of the ONS long force series.
REGION_FORCES: dict[str, tuple[str, ...]] = {
    "E12000001": ("E23000007", "E23000008", "E23000013"),
    "E12000002": ("E23000002", "E23000003", "E23000004", "E23000005", "E23000006"),
    "E12000003": ("E23000009", "E23000010", "E23000011", "E23000012"),
    "E12000004": ("E23000018", "E23000019", "E23000020", "E23000021", "E23000022"),
    "E12000005": ("E23000014", "E23000015", "E23000016", "E23000017"),
    "E12000006": ("E23000023", "E23000024", "E23000025", "E23000026", "E23000027",
                  "E23000028"),
    "E12000007": ("E23000001", "E23000034"),
    "E12000008": ("E23000029", "E23000030", "E23000031", "E23000032", "E23000033"),
    "E12000009": ("E23000035", "E23000036", "E23000037", "E23000038", "E23000039"),
}

_TRIGGER = re.compile(r"\b(rank|ranks|ranked|ranking|rankings|league table|highest|lowest|top|"
                      r"bottom|worst|best|biggest|largest|greatest|smallest|fewest|most|least)\b"
                      r"(?! since| ever| on record| in \d+ years)")
# Questions about which offence is commonest in one place rank offences, not areas.
_NOT_AREAS = re.compile(r"\b(?:most|least) (?:common|frequent)\b|\bcommonest\b|"
                        r"\b(?:top|main|biggest) (?:crimes?|offences?|types?)\b")
_LOW = re.compile(r"\b(lowest|bottom|fewest|least|smallest|best)\b")
_RISE = re.compile(r"\b(rises?|rising|increases?|increased|jumps?|growth|up)\b")
_FALL = re.compile(r"\b(falls?|falling|drops?|decreases?|decreased|declines?|reductions?|down)\b")
_RATE = re.compile(r"\b(rates?|per (?:1,?000|thousand|head|capita|person|resident)|per-capita)\b")
_COUNT = re.compile(r"\b(most|fewest|number|numbers|count|counts|volume)\b")
_LIMIT = re.compile(r"\b(?:top|bottom)\s+(\d{1,3})\b")
_FORCE_LEVEL = re.compile(r"\b(forces|force|police|constabulary|constabularies|pfas?)\b")
_LOCAL_LEVEL = re.compile(r"\b(areas?|councils?|districts?|csps?|boroughs?|local|places?|towns?|"
                          r"cities|partnerships?)\b")
_CONTAINER_WORDS = {"in", "across", "among", "amongst", "within", "of"}
_RANK_STOP = FILLER | {
    "rank", "ranks", "ranked", "ranking", "rankings", "league", "table", "highest", "lowest",
    "top", "bottom", "worst", "best", "biggest", "largest", "greatest", "smallest", "fewest",
    "least", "rise", "rises", "rising", "increase", "increases", "increased", "jump", "jumps",
    "growth", "fall", "falls", "falling", "drop", "drops", "decrease", "decreases", "decreased",
    "decline", "declines", "reduction", "reductions", "forces", "areas", "councils",
    "districts", "csps", "boroughs", "places", "towns", "cities", "partnerships", "amongst",
    "among", "had", "stand", "stands", "sit", "sits", "come", "comes", "place", "position",
    "head", "capita", "person", "resident", "residents", "thousand", "1,000", "big", "large",
    "constabularies", "pfas", "volume",
}


@dataclass(frozen=True)
class RankingAsk:
    """A ranking question, parsed but not yet resolved against the figures.

    `focus` is the area to highlight ("where does Wrexham rank"), `within` the area whose parts
    are ranked ("in Kent"); either may be absent, ambiguous or not found. `level` is "csp" or
    "pfa" when the question said so, else None (decided from the places).
    """

    text: str
    offence: str | None
    offence_said: str
    measure: str
    highest_first: bool
    period: PeriodAsk
    limit: int | None
    level: str | None
    focus: AreaMatch | None
    within: AreaMatch | None


@dataclass(frozen=True)
class Entry:
    """One area's line. `value` is the rate per 1,000, the % change or the count, by measure."""

    code: str
    name: str
    count: int | None
    previous: int | None = None
    value: float | None = None
    position: int | None = None
    tied: bool = False
    computed_rate: str = ""
    small: bool = False
    reason: str = ""
    rate_basis: str = ""


@dataclass(frozen=True)
class Ranking:
    """A resolved ranking. status: "ok", "ambiguous", "not_found" or "no_data" (then `message`
    says why and `candidates` may offer places)."""

    status: str
    message: str = ""
    offence_key: str | None = None
    offence_label: str | None = None
    measure: str = "rate"
    highest_first: bool = True
    level: str = "csp"
    scope_code: str | None = None
    scope_name: str | None = None
    period_end: str | None = None
    previous_end: str | None = None
    focus_code: str | None = None
    ranked: tuple[Entry, ...] = ()
    not_ranked: tuple[Entry, ...] = ()
    limit: int = DEFAULT_LIMIT
    notes: tuple[str, ...] = ()
    rate_basis: str = ""
    benchmarks: tuple[str, ...] = ()
    source: str = ""
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def focus(self) -> Entry | None:
        return next((e for e in (*self.ranked, *self.not_ranked) if e.code == self.focus_code),
                    None)


# --- parsing ------------------------------------------------------------------------------------


def _place_spans(tokens: list[str], gazetteer: Gazetteer) -> list[tuple[int, int, list[str]]]:
    """Exact names in the token list, longest first, not overlapping: (start, end, codes)."""
    taken = [False] * len(tokens)
    found: list[tuple[int, int, list[str]]] = []
    for size in range(min(len(tokens), 7), 0, -1):
        for start in range(len(tokens) - size + 1):
            if any(taken[start:start + size]):
                continue
            span = " ".join(tokens[start:start + size])
            if size == 1 and (span in _RANK_STOP or len(span) < 3):
                continue
            codes = gazetteer.by_name.get(span)
            if codes:
                found.append((start, start + size, list(codes)))
                for i in range(start, start + size):
                    taken[i] = True
    return sorted(found)


def _pick(codes: list[str], gazetteer: Gazetteer, said: str, order: tuple[str, ...]) -> AreaMatch:
    """One area for a name by preferred kind; two of the same kind stay ambiguous."""
    candidates = [Candidate(c, gazetteer.places[c].name, gazetteer.places[c].kind, 100.0)
                  for c in codes if c in gazetteer.places]
    exact = [c for c in candidates if name_key(c.name) == said]
    if len(exact) == 1:
        return AreaMatch("ok", said, (exact[0],))
    for kind in order:
        of_kind = [c for c in candidates if c.kind == kind]
        if len(of_kind) == 1:
            return AreaMatch("ok", said, (of_kind[0],))
        if of_kind:
            return AreaMatch("ambiguous", said, tuple(of_kind[:6]))
    return AreaMatch("not_found", said, tuple(candidates[:4]))


def _unlisted_place(tokens: list[str], used: set[int], gazetteer: Gazetteer
                    ) -> tuple[AreaMatch | None, AreaMatch | None]:
    """(focus, within) from words that are no exact name: a misspelt place after "in" is
    looked up and, if unknown, named back; other stray words count only when they match a
    place, so "which borough suffers the worst knife crime" is not a search for "suffers"."""
    spare = [i for i, t in enumerate(tokens) if i not in used and t not in _RANK_STOP
             and not t.isdigit() and len(t) > 1]
    after_in = [i for i in spare if any(tokens[j] in _CONTAINER_WORDS for j in
                                        range(max(0, i - 2), i))]
    if after_in:
        said = " ".join(tokens[i] for i in spare if i >= after_in[0])
        return None, gazetteer.match(said)
    if spare:
        guess = gazetteer.match(" ".join(tokens[i] for i in spare))
        if guess.status in ("ok", "ambiguous"):
            return guess, None
    return None, None


def parse_ranking(question: str, gazetteer: Gazetteer) -> RankingAsk | None:
    """A ranking question ("which area in Kent has the highest burglary rate", "top 10
    shoplifting rises 2024", "where does Wrexham rank for sexual offences in Wales"), or None when
    the question is not one, so the ordinary answer path takes it."""
    if not isinstance(question, str):
        return None
    text = normalise(question)
    period, rest = parse_period(text)
    if not _TRIGGER.search(rest) or _NOT_AREAS.search(rest):
        return None
    limit_match = _LIMIT.search(rest)
    limit = int(limit_match.group(1)) if limit_match else None
    if limit_match:
        rest = rest[:limit_match.start()] + " " + rest[limit_match.end():]
    change_low, change_high = bool(_FALL.search(rest)), bool(_RISE.search(rest))
    if change_low or change_high:
        measure, highest_first = "change", not change_low
    else:
        measure = "rate" if _RATE.search(rest) or not _COUNT.search(rest) else "count"
        highest_first = not _LOW.search(rest)
    level = "pfa" if _FORCE_LEVEL.search(rest) else "csp" if _LOCAL_LEVEL.search(rest) else None
    offence, said, rest = parse_offence(rest)
    tokens = re.sub(r"[^a-z0-9' ]+", " ", rest).split()
    focus: AreaMatch | None = None
    within: AreaMatch | None = None
    used: set[int] = set()
    container_order = ("pfa", "region", "country", "england_and_wales", "csp")
    focus_order = (("pfa", "csp", "region", "country", "england_and_wales") if level == "pfa"
                   else ("csp", "pfa", "region", "country", "england_and_wales"))
    for start, end, codes in _place_spans(tokens, gazetteer):
        used.update(range(start, end))
        said_here = " ".join(tokens[start:end])
        before = [t for t in tokens[max(0, start - 2):start] if t != "the"]
        if before and before[-1] in _CONTAINER_WORDS and within is None:
            within = _pick(codes, gazetteer, said_here, container_order)
        elif focus is None:
            focus = _pick(codes, gazetteer, said_here, focus_order)
        elif within is None:
            within = _pick(codes, gazetteer, said_here, container_order)
    if focus is None and within is None:
        focus, within = _unlisted_place(tokens, used, gazetteer)
    return RankingAsk(text, offence, said, measure, highest_first, period or PeriodAsk(), limit,
                      level, focus, within)


# --- resolving against the store ------------------------------------------------------------------


def _siblings(store: Store, scope: AreaRow, level: str) -> list[AreaRow]:
    """The areas ranked inside a scope: local areas in a force, forces in a region, and so on."""
    every = [a for a in store.areas() if a.offered and a.kind == level]
    if scope.kind == "pfa":
        return [a for a in every if a.force_code == scope.code]
    if scope.kind == "region":
        forces = set(REGION_FORCES.get(scope.code, ()))
        return [a for a in every if (a.code if level == "pfa" else a.force_code) in forces]
    if scope.kind == "country":
        prefix = "W" if scope.code == WALES else "E"
        return [a for a in every if (a.code if level == "pfa" else a.force_code or "")
                .startswith(prefix)]
    return [a for a in every if level == "csp" or a.code.startswith(("E23", "W15"))]


def _shown(value: float, measure: str) -> str:
    if measure == "count":
        return f"{value:,.0f}"
    if measure == "change":
        return signed_percent(value)
    return rate(value)


def _entry(store: Store, area: AreaRow, offence: str, period_end: str, measure: str,
           compute_rates: bool = True) -> Entry:
    """One area's value. With `compute_rates` False (ONS published rates for this period but
    not for this area, or never for this area while it did for its siblings, as for the City of
    London's tiny resident population), no rate is made up."""
    figure = store.figure(area.code, offence, period_end)
    name = display_name(area.name)
    if figure is None or figure.count is None:
        why = notes_text(store, area.code, offence, period_end)
        return Entry(area.code, name, None, reason="not available: ONS published no figure"
                     + (f" ({why})" if why else ""))
    if figure.flag == "partial":
        return Entry(area.code, name, figure.count, reason="partial figure (not comparable)")
    count = figure.count
    if measure == "count":
        return Entry(area.code, name, count, value=float(count), small=count < SMALL)
    if measure == "rate":
        if figure.rate is None and not compute_rates:
            return Entry(area.code, name, count, reason="ONS publishes no rate for this area, "
                                                        "so none is computed")
        # The answers' and charts' one rule, so a ranking never rates an area on a population
        # estimate the answer would refuse.
        rate, basis, why = rate_of(store, area.code, figure)
        if rate is None:
            return Entry(area.code, name, count, reason=why)
        how = "" if figure.rate is not None else basis
        basis = f"{how} estimate" if how else basis
        return Entry(area.code, name, count, value=rate, computed_rate=how, small=count < SMALL,
                     rate_basis=basis)
    before = store.figure(area.code, offence, year_before(period_end))
    if before is None or before.count is None or before.flag == "partial":
        return Entry(area.code, name, count, reason="no comparable figure for the year before")
    if crosses_boundary(area.code, year_before(period_end), period_end):
        return Entry(area.code, name, count, before.count,
                     reason="its boundary changed between the two years, so they do not compare")
    if break_between(store.breaks(area.code, offence), before.period_end, period_end) or \
            (before.flag == "old_method") != (figure.flag == "old_method"):
        return Entry(area.code, name, count, before.count,
                     reason="ONS says its figures for the two years are not comparable")
    undercount = undercounts(store, area.code, offence)
    if undercount(figure) or undercount(before):
        return Entry(area.code, name, count, before.count,
                     reason="ONS says one of the two figures is an undercount")
    if min(count, before.count) < SMALL:
        return Entry(area.code, name, count, before.count, small=True,
                     reason=f"fewer than {SMALL} offences in one of the two years, so a % change "
                            "would be unreliable")
    return Entry(area.code, name, count, before.count,
                 value=100.0 * (count - before.count) / before.count)


def _benchmark(store: Store, area: AreaRow, offence: str, period_end: str, measure: str) -> str:
    """The wider picture for the same period: the scope's own figure and England and Wales."""
    entry = _entry(store, area, offence, period_end, measure)
    if entry.value is None:
        if store.figure(area.code, offence, period_end) is None:
            return f"{display_name(area.name)}: no figure for {period_label(period_end)} is held."
        return f"{display_name(area.name)}: {entry.reason}."
    value = _shown(entry.value, measure)
    if measure == "rate":
        how = f"rate {entry.computed_rate}" if entry.computed_rate else "published rate"
        return f"{display_name(area.name)}: {value} per 1,000 ({entry.count:,} recorded; {how})."
    if measure == "change":
        return f"{display_name(area.name)}: {value} ({entry.previous:,} → {entry.count:,})."
    return f"{display_name(area.name)}: {value}."


def _positions(entries: list[Entry], measure: str, highest_first: bool) -> list[Entry]:
    """Standard competition ranking on the value as shown: equal figures share a place."""
    ordered = sorted(entries, key=lambda e: ((-(e.value or 0.0)) if highest_first
                                             else (e.value or 0.0), e.name))
    shown = [_shown(e.value or 0.0, measure) for e in ordered]
    out: list[Entry] = []
    for index, entry in enumerate(ordered):
        position = index + 1
        if index and shown[index] == shown[index - 1]:
            position = out[-1].position or position
        tied = shown.count(shown[index]) > 1
        out.append(replace(entry, position=position, tied=tied))
    return out


def _held(store: Store, areas: list[AreaRow], offence: str) -> tuple[list[str], set[str]]:
    """(periods with a count for any of the areas, the areas ONS ever gave a rate)."""
    held: set[str] = set()
    rated: set[str] = set()
    for area in areas:
        for figure in store.series(area.code, offence):
            if figure.count is not None:
                held.add(figure.period_end)
            if figure.rate is not None:
                rated.add(area.code)
    return sorted(held), rated


def _resolve_places(store: Store, ask: RankingAsk) -> tuple[Ranking | None, AreaRow | None,
                                                            AreaRow | None]:
    """(a refusal, or None; the focus area; the scope area)."""
    for match in (ask.focus, ask.within):
        if match is not None and match.status in ("ambiguous", "not_found"):
            if match.status == "ambiguous":
                names = "; ".join(c.name for c in match.candidates)
                return Ranking("ambiguous", f"“{match.said}” could mean more than one area: "
                               f"{names}. Which one did you mean?",
                               candidates=match.candidates), None, None
            hint = "; ".join(c.name for c in match.candidates[:3])
            return Ranking("not_found", f"I couldn't find a place called “{match.said}”."
                           + (f" Did you mean: {hint}?" if hint else ""),
                           candidates=match.candidates), None, None
    focus = store.area(ask.focus.best.code) if ask.focus and ask.focus.best else None
    within = store.area(ask.within.best.code) if ask.within and ask.within.best else None
    if within is not None and within.kind == "csp" and focus is None:
        focus, within = within, None
    if focus is not None and focus.kind not in ("csp", "pfa") and within is None:
        focus, within = None, focus
    return None, focus, within


def rank(store: Store, ask: RankingAsk, today: date | None = None) -> Ranking:
    """Resolve a ranking question against the store: siblings, period, values, positions."""
    refusal, focus, scope = _resolve_places(store, ask)
    if refusal is not None:
        return refusal
    notes: list[str] = []
    offence_key = ask.offence or "all_crime"
    if ask.offence is None:
        notes.append("No offence was named, so this ranks total recorded crime.")
    elif ask.offence_said and ask.offence_said not in catalogue_index().phrases:
        # A slipped letter was put right ("burgalry"): said, as answers say it.
        notes.append(f"Taking ‘{ask.offence_said}’ as {BY_KEY[ask.offence].noun}."
                     if ask.offence in BY_KEY else f"Taking ‘{ask.offence_said}’ as "
                     f"{ask.offence}.")
    labels = store.offence_labels()
    offence = BY_KEY.get(offence_key)
    label = labels.get(offence_key, (offence.label if offence else offence_key, None))[0]
    if (offence is not None and offence.level == "national") or offence_key not in labels:
        return Ranking("no_data", f"{label} figures are published only for England and Wales as "
                       "a whole, so there is nothing to rank.", offence_key=offence_key,
                       offence_label=label)
    level = ask.level or (focus.kind if focus and focus.kind in ("csp", "pfa") else "csp")
    if focus is not None and focus.kind in ("csp", "pfa") and focus.kind != level:
        level = focus.kind
    if scope is not None and scope.kind == "pfa" and level == "pfa":
        level = "csp"
    if offence is not None and offence.level == "force" and level == "csp":
        notes.append(f"ONS publishes {offence.noun} for police force areas only, so forces are "
                     "ranked.")
        level = "pfa"
    if scope is None:
        default = focus.force_code if focus is not None and level == "csp" else ENGLAND_AND_WALES
        scope = store.area(default or ENGLAND_AND_WALES)
    assert scope is not None
    siblings = _siblings(store, scope, level)
    if focus is not None and focus.kind == level and all(a.code != focus.code for a in siblings):
        return Ranking("no_data", f"{focus.name} is not part of {scope.name}, so it has no place "
                       "in that ranking.", offence_key=offence_key, offence_label=label)
    base = dict(offence_key=offence_key, offence_label=label, measure=ask.measure,
                highest_first=ask.highest_first, level=level, scope_code=scope.code,
                scope_name=display_name(scope.name), focus_code=focus.code if focus else None)
    held, rated = _held(store, siblings, offence_key)
    if ask.measure == "change":
        with_before = [p for p in held if year_before(p) in held]
        if ask.period.kind == "latest" and with_before and with_before[-1] != held[-1]:
            notes.append(f"No figures for the year before {period_label(held[-1])} are held, so "
                         f"this is the latest period with a year-earlier comparison.")
        held = with_before
    period_end, how = resolve_year(ask.period, held, today or date.today())
    if period_end is None:
        said = ask.period.said or "that period"
        if ask.measure == "change":
            how += " with a figure for the year before"
        return Ranking("no_data", f"No {label.lower()} figures for “{said}” are held for "
                       f"{scope.name} ({how}).", **base)
    if how:
        notes.append(how)
    areas_in_period = {a.code for a in siblings
                       if store.figure(a.code, offence_key, period_end) is not None}
    published = any((f := store.figure(code, offence_key, period_end)) is not None
                    and f.rate is not None for code in areas_in_period)
    present = [_entry(store, area, offence_key, period_end, ask.measure,
                      not published and (area.code in rated or not rated))
               for area in siblings if area.code in areas_in_period]
    ranked = _positions([e for e in present if e.value is not None], ask.measure,
                        ask.highest_first)
    absent = [Entry(area.code, display_name(area.name), None,
                    reason=f"no figure for {period_label(period_end)} is held")
              for area in siblings if area.code not in areas_in_period]
    not_ranked = tuple(sorted((e for e in [*present, *absent] if e.value is None),
                              key=lambda e: e.name))
    if focus is not None and focus.code not in areas_in_period:
        notes.append(f"No {label.lower()} figure for {focus.name} is held for "
                     f"{period_label(period_end)}.")
    rate_basis = "; ".join(sorted({e.rate_basis for e in ranked if e.rate_basis}))
    benchmarks = tuple(_benchmark(store, area, offence_key, period_end, ask.measure)
                       for area in {a.code: a for a in (scope, store.area(ENGLAND_AND_WALES))
                                    if a is not None}.values()
                       if area.kind != level)
    first = store.figure(present[0].code, offence_key, period_end) if present else None
    edition = store.edition(first.edition) if first else None
    previous_end = year_before(period_end) if ask.measure == "change" else None
    return Ranking("ok", source=source_line(edition), previous_end=previous_end,
                   period_end=period_end, ranked=tuple(ranked), not_ranked=not_ranked,
                   limit=ask.limit or DEFAULT_LIMIT, notes=tuple(notes), rate_basis=rate_basis,
                   benchmarks=benchmarks,
                   **base)


# --- rendering --------------------------------------------------------------------------------


LEVEL_NAMES = {"csp": "local areas", "pfa": "police force areas"}
MEASURE_NAMES = {"rate": "rate per 1,000 residents", "change": "change on the year before",
                 "count": "number recorded"}


def _title(r: Ranking) -> str:
    order = ("highest first" if r.highest_first else "lowest first") if r.measure != "change" \
        else ("largest rises first" if r.highest_first else "largest falls first")
    return (f"{r.offence_label}: {LEVEL_NAMES[r.level]} in {r.scope_name} by "
            f"{MEASURE_NAMES[r.measure]}, {period_label(r.period_end or '')} ({order})")


def _line(e: Entry, r: Ranking) -> str:
    value = _shown(e.value or 0.0, r.measure)
    place = f"{'=' if e.tied else ''}{e.position}."
    if r.measure == "rate":
        detail = f"{value} per 1,000 ({e.count:,} recorded{', small count' if e.small else ''}"
        detail += f"; rate {e.computed_rate})" if e.computed_rate else ")"
    elif r.measure == "change":
        detail = f"{value} ({e.previous:,} → {e.count:,})"
    else:
        detail = value + (" (small count)" if e.small else "")
    return f"{place} {e.name}: {detail}"


def _not_ranked_lines(r: Ranking) -> list[Line]:
    """Areas left out, grouped by reason so a long list (small counts) stays one line."""
    lines: list[Line] = []
    groups: dict[str, list[Entry]] = {}
    for entry in r.not_ranked:
        if entry.code == r.focus_code:
            lines.append(Line(f"▶ {entry.name}: {entry.reason}", strong=True))
        else:
            groups.setdefault(entry.reason, []).append(entry)
    for reason, entries in groups.items():
        names = ("; ".join(e.name for e in entries) if len(entries) <= 5
                 else f"{len(entries)} areas")
        lines.append(Line(f"• {names}: {reason}"))
    return [Line("Not ranked:"), *lines] if lines else []


def ranking_lines(r: Ranking, limit: int) -> list[Line]:
    """The ranking's lines with its first `limit` rows (and the asked area, wherever it
    stands): the title and the asked area strong."""
    lines = [Line(_title(r), strong=True)]
    lines += [Line(n) for n in r.notes]
    shown = list(r.ranked[:limit])
    focus = r.focus
    if focus is not None and focus.value is not None and focus not in shown:
        shown.append(focus)
    for index, entry in enumerate(shown):
        if index and r.ranked.index(entry) > r.ranked.index(shown[index - 1]) + 1:
            lines.append(Line("…"))
        line = _line(entry, r)
        lines.append(Line(f"▶ {line}", strong=True) if entry.code == r.focus_code
                     else Line(line))
    if len(r.ranked) > len(shown):
        lines.append(Line(f"({len(r.ranked)} areas ranked.)"))
    if not r.ranked:
        lines.append(Line("No area can be ranked for this period."))
    lines += _not_ranked_lines(r)
    if r.benchmarks:
        lines.append(Line("For comparison: " + " ".join(r.benchmarks)))
    if r.measure == "rate" and r.rate_basis:
        lines.append(Line(f"Rates: {r.rate_basis}."))
    if any(e.small for e in shown):
        lines.append(Line(f"Small count: fewer than {SMALL} offences; figures on small numbers "
                          "are volatile."))
    lines.append(Line(r.source or source_line(None)))
    return lines


def ranking_text(r: Ranking) -> str:
    """The ranking as plain text, for the CLI: every row asked for."""
    if r.status != "ok":
        return r.message
    return "\n".join(line.text for line in ranking_lines(r, r.limit))


def ranking_buttons(r: Ranking, top: int = 3) -> tuple[Button, ...]:
    """Buttons opening the full answer for the asked area and the first few ranked."""
    if r.status != "ok" or not r.period_end or not r.offence_key:
        return ()
    picks = [e for e in r.ranked if e.code == r.focus_code] + [
        e for e in r.ranked[:top] if e.code != r.focus_code]
    return tuple(Button(f"{e.name}: full answer"[:60], e.code, r.offence_key, r.period_end)
                 for e in picks)
