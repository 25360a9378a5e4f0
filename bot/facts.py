"""Question → a `Finding`: every number an answer gives, with the basis it stands on.

This is where the rules live that decide what may be said: which area and offence were answered
and what was assumed to get there, the same 12-month window a year earlier, the record among
figures of the same window only (never across a gap it does not name or a boundary change),
the rate ONS publishes or one computed from a population estimate close enough in time, and the
ONS notes that qualify the figure. Every read is a bounded query (one figure, the year before,
the national figure or the nearest, the same-window points), so answers stay fast at any store
size. `bot.wording` turns a Finding into words and never looks anything up. The Finding's shape
lives in `bot.finding` and the series context (year before, record, what stops a comparison) in
`bot.series`, so this module holds only the rules that choose what is answered.
"""

from __future__ import annotations

from dataclasses import replace as dataclass_replace
from datetime import date

from bot import indexes
from bot.finding import Choice, Districts, Finding, Matched, joined
from bot.gazetteer import AreaMatch, Candidate, Gazetteer, Place
from bot.offence_index import OffenceIndex
from bot.offences import BY_KEY, CAVEATS, LOCAL_CAUTION, caveat_for
from bot.period_ask import PeriodAsk, resolve_year
from bot.periods import label as period_label
from bot.periods import year_before
from bot.places import ENGLAND_AND_WALES, display, name_key
from bot.rates import rate_of
from bot.series import Series, boundary_between
from bot.store import AreaRow, EditionRow, FigureRow, Store
from bot.understanding import OffenceMatch, Parsed, parse

# How a rate question's answer opens; replaced when no rate can be given.
RATE_PROMISE = "The rate asked for is given after the count"
# What total recorded crime is called where the answer names it as an assumption.
OFFENCE_DEFAULT = "total recorded crime (excluding fraud)"




# The burglary categories before April 2017, held in the long force series: a question about
# residential burglary in 2012 is answered with domestic burglary, and says so.
PRE_2017 = {"residential_burglary": "domestic_burglary",
            "non_residential_burglary": "non_domestic_burglary"}


def _matched(area: AreaMatch | None, offence: OffenceMatch | None) -> Matched:
    out = []
    if area is not None and area.status == "ok" and area.best is not None:
        out.append(("area", (("how", area.how), ("said", area.said),
                             ("score", round(area.best.score, 1)))))
    if offence is not None:
        out.append(("offence", (("how", offence.how), ("said", offence.said),
                                ("score", round(offence.score, 1)))))
    return tuple(out)


class Facts:
    """Builds Findings from the store; one per Engine, rebuilt indexes after a store swap."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.series = Series(store)
        self._generation = -1
        self.gazetteer: Gazetteer | None = None
        self.index: OffenceIndex | None = None
        self.offences: dict[str, tuple[str, str | None, str]] = {}
        self.forces: dict[str, str] = {}
        self.la_years: dict[str, int] = {}
        self.latest_lookup = 0
        self.split: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
        self.council_of: dict[str, tuple[str, str]] = {}
        self.areas: dict[str, AreaRow] = {}
        self.parents: dict[str, str | None] = {}
        self.recorders: tuple[tuple[str, str], ...] = ()
        self.editions: dict[str, EditionRow] = {}
        self._periods: dict[tuple[str, str], list[tuple[str, bool]]] = {}

    def sync(self) -> Gazetteer:
        """Rebuild the name indexes when the store has been swapped for a new edition."""
        if self.gazetteer is None or self._generation != self.store.generation:
            every = self.store.areas()
            self.areas = {a.code: a for a in every}
            self.editions = {e.key: e for e in self.store.editions()}
            self._periods = {}
            places = [Place(a.code, a.name, a.kind) for a in every if a.offered]
            built = indexes.load(self.store, places)
            self.la_years = built.la_years
            self.latest_lookup = max(self.la_years.values(), default=0)
            self._split_councils(self.store.local_authorities(), {p.code for p in places})
            self.forces = {a.code: a.name for a in every if a.kind == "pfa"}
            self.gazetteer = built.gazetteer
            self.offences = self.store.offence_table()
            self.parents = {k: v[1] for k, v in self.offences.items()}
            self.index = built.offences
            self.recorders = self._recorders(every)
            self._generation = self.store.generation
        return self.gazetteer

    def _recorders(self, every: list[AreaRow]) -> tuple[tuple[str, str], ...]:
        """The bodies that record fraud centrally, each with the first period it holds: who a
        national fraud figure comes from, read from the data. The long series prints them
        ("Action Fraud", "CIFAS", "UK Finance") as rows that are no place and hold one series
        named after themselves, unlike a police body such as British Transport Police."""
        out = []
        for area in every:
            if area.kind != "other":
                continue
            keys = self.store.offences_held(area.code)
            if len(keys) != 1 or self.offences.get(keys[0], ("",))[0] != area.name:
                continue
            held = [p for p, has in self.store.held_periods(area.code, keys[0]) if has]
            if held:
                out.append((area.name, held[0]))
        return tuple(sorted(out, key=lambda r: (r[1], r[0])))

    def _split_councils(self, rows: list[tuple[str, str, str, int]], offered: set[str]) -> None:
        """From the newest lookup: councils whose area ONS prints as several CSP rows (keyed by
        the council's code and by its name), and the district rows that belong to one such
        council alone (row code → council name), for "Wycombe is now part of Buckinghamshire".
        Year 9999 rows are the store's own "this LA-coded area is itself" entries, not a lookup."""
        real = [r for r in rows if r[3] < 9999]
        newest = max((r[3] for r in real), default=0)
        names: dict[str, str] = {}
        rows_of: dict[str, list[str]] = {}
        councils_of: dict[str, set[str]] = {}
        for la_code, la_name, csp_code, year in real:
            if year == newest and csp_code in offered:
                names[la_code] = la_name
                rows_of.setdefault(la_code, []).append(csp_code)
                councils_of.setdefault(csp_code, set()).add(la_code)
        older: dict[str, set[str]] = {}
        for _, la_name, csp_code, year in real:
            if year < newest:
                older.setdefault(csp_code, set()).add(la_name)
        self.split, self.council_of = {}, {}
        for la_code, codes in rows_of.items():
            if len(codes) < 2:
                continue
            council = names[la_code]
            own = tuple(c for c in codes if councils_of[c] == {la_code})
            shared = tuple((_part_named(council, older.get(c, set())), c)
                           for c in codes if c not in own)
            self.split[la_code] = self.split[name_key(council)] = (council, own, shared)
            for code in own:
                if name_key(self.areas[code].name) != name_key(council):
                    self.council_of[code] = (la_code, council)

    # --- names ---------------------------------------------------------------------------

    def _area(self, code: str) -> AreaRow | None:
        return self.areas.get(code)

    def _held(self, code: str, key: str) -> list[tuple[str, bool]]:
        """Which periods are held for an area and offence (dates only), remembered for this
        store generation: the one list most answers need twice (level, then period)."""
        found = self._periods.get((code, key))
        if found is None:
            if len(self._periods) >= 4096:
                self._periods.clear()
            found = self._periods[(code, key)] = self.store.held_periods(code, key)
        return found

    def _has_counts(self, code: str, key: str) -> bool:
        return any(has for _, has in self._held(code, key))

    def _edition(self, key: str) -> EditionRow | None:
        return self.editions.get(key) or self.store.edition(key)

    def label(self, key: str) -> str:
        offence = BY_KEY.get(key)
        if offence:
            return offence.label
        return self.offences.get(key, (key, None, ""))[0]

    def noun(self, key: str) -> str:
        offence = BY_KEY.get(key)
        if offence:
            return offence.noun
        label = self.label(key)
        label = label[0] + label[1:].lower() if label.isupper() else label
        noun = label[0].lower() + label[1:]
        return noun if noun.endswith("offences") else f"{noun} offences"

    def _choices(self, candidates: tuple[Candidate, ...]) -> tuple[Choice, ...]:
        out = []
        for c in candidates:
            area = self._area(c.code)
            force = self.forces.get(area.force_code) if area and area.force_code else None
            out.append(Choice(c.code, c.name, c.kind, force))
        return tuple(out)

    # --- questions -------------------------------------------------------------------------

    def for_question(self, question: str, today: date) -> Finding:
        gazetteer = self.sync()
        assert self.index is not None
        return self.for_parsed(parse(question, gazetteer, self.index), today)

    def for_parsed(self, parsed: Parsed, today: date) -> Finding:
        """A question already read: a follow-up pins its carried parts by code and date."""
        self.sync()
        if len(parsed.areas) > 1:
            return self._comparison(parsed, today)
        return self._single(parsed.areas[0], parsed.offence_match, parsed.periods[0], today)

    def for_area(self, code: str, offence_key: str, period_end: str | None,
                 today: date) -> Finding | None:
        """An exact area, offence and period (None = latest held): what buttons ask for."""
        self.sync()
        area = self._area(code)
        if area is None or not area.offered or offence_key not in self.offences:
            return None
        match = AreaMatch("ok", area.name, (Candidate(area.code, area.name, area.kind, 100.0),))
        ask = PeriodAsk("end", period_end) if period_end else PeriodAsk()
        return self._single(match, OffenceMatch(offence_key, self.label(offence_key), "exact"),
                            ask, today)

    def _single(self, match: AreaMatch, offence: OffenceMatch, ask: PeriodAsk,
                today: date) -> Finding:
        offence_key = offence.key
        if offence.how == "unknown":
            area = self._area(match.best.code) if match.status == "ok" and match.best \
                else None
            code = area.code if area else ENGLAND_AND_WALES
            choices = tuple(Choice(code, self.label(k), "offence", offence_key=k)
                            for k in offence.candidates if k in self.offences)
            return Finding("not_found", "unknown_offence", said=offence.said, area=area,
                           candidates=choices, matched=_matched(match, offence))
        if match.status == "none":
            if offence.how == "default" and not offence.said and ask.said == "":
                return Finding("not_found", "nothing")
            return Finding("not_found", "no_place", offence_key=offence_key,
                           offence_label=self.label(offence_key or "all_crime"),
                           matched=_matched(None, offence))
        key = offence_key or "all_crime"
        if match.status in {"not_found", "ambiguous"}:
            split = self.split.get(name_key(match.said)) if match.status == "ambiguous" else None
            districts = None
            if split and {c.code for c in match.candidates} <= {*split[1],
                                                                *(c for _, c in split[2])}:
                districts = self._districts(split, None, None, None)
            return Finding(match.status, "unknown_place" if match.status == "not_found"
                           else "ask_place", said=match.said, offence_key=key,
                           offence_label=self.label(key),
                           period_end=ask.end if ask.kind == "end" else None,
                           candidates=self._choices(match.candidates),
                           matched=_matched(None, offence), districts=districts)
        best = match.best
        assert best is not None
        area = self._area(best.code)
        assert area is not None
        lead = list(self._place_assumptions(match, area))
        lead.extend(self._offence_assumptions(offence))
        area, key, moved = self._level(area, key, ask, today)
        lead.extend(moved)
        found = self._during_transfer(
            self._figure(area, key, ask, today, tuple(lead), _matched(match, offence)))
        if offence.asks == "rate" and found.kind == "figure" and found.rate is None:
            # The rate asked for cannot be given: say so where the promise of one would be.
            found = dataclass_replace(found, lead=tuple(
                "The rate asked for cannot be given for this figure (the reason follows the "
                "count); here is the count." if line.startswith(RATE_PROMISE) else line
                for line in found.lead))
        return found

    def _during_transfer(self, found: Finding) -> Finding:
        """Fraud across the move to central recording: a force's figure from the period the
        central bodies begin compares with no earlier force figure, and a national figure from
        then compares with no period the police recorded. No change, record or like-for-like
        change is claimed across the move."""
        starts = [first for _, first in self.recorders]
        if (found.kind != "figure" or found.area is None or not starts
                or found.period_end is None or found.period_end < min(starts)
                or caveat_for(found.offence_key or "", self.parents) != CAVEATS["fraud"]):
            return found
        start = min(starts)
        if found.area.kind != "england_and_wales":
            return dataclass_replace(
                found, previous_state="boundary", change=None, record=None, like_for_like=None,
                boundary=(f"forces were passing fraud to central recording from "
                          f"{period_label(start)}, so this force figure is not comparable "
                          "with earlier ones"))
        like = found.like_for_like
        found = dataclass_replace(found, record=None, like_for_like=(
            like if like is None or like.earlier_end >= start else None))
        if found.previous_end is not None and found.previous_end < start:
            return dataclass_replace(
                found, previous_state="boundary", change=None,
                boundary=(f"{period_label(found.previous_end)} was recorded by police forces, "
                          f"{period_label(found.period_end)} centrally by "
                          f"{joined([n for n, _ in self.recorders])}, so the two do not "
                          "compare"))
        return found

    def _place_assumptions(self, match: AreaMatch, area: AreaRow) -> list[str]:
        shown = display(area.name)
        council = self.council_of.get(area.code)
        part_of = [f"{shown} is now part of {display(council[1])} council, but ONS still "
                   "prints it as its own row."] if council and not match.via else []
        if match.how in {"fuzzy", "partial"}:
            return [f"Taking ‘{match.said}’ as {shown}.", *part_of]
        if part_of:
            return part_of
        if match.via:
            said = match.via.title()
            year = self.la_years.get(match.via, 0)
            if year and year < self.latest_lookup:
                return [f"{said} is no longer a council area of its own; ONS now counts it in "
                        f"{shown}."]
            return [f"{said} is counted in the {shown} community safety partnership area."]
        return []

    def _offence_assumptions(self, offence: OffenceMatch) -> list[str]:
        out = []
        if offence.replaced and offence.key:
            out.append(f"Taking your correction: {self.noun(offence.key)}, not "
                       f"‘{offence.replaced}’.")
        out.extend(f"Taking your correction: ‘{now}’, not ‘{before}’."
                   for now, before in offence.corrected)
        if offence.asks == "safety":
            out.append("Recorded crime cannot say how safe a place is: it counts crimes "
                       "reported to and recorded by the police, not the chance of being a "
                       "victim.")
        if offence.how == "fuzzy" and offence.key:
            noun = OFFENCE_DEFAULT if offence.key == "all_crime" else self.noun(offence.key)
            out.append(f"Taking ‘{offence.said}’ as {noun}.")
        elif offence.how == "default":
            if offence.said:
                out.append(f"‘{offence.said.capitalize()}’ is taken as total recorded crime, "
                           "which excludes fraud.")
            elif offence.asks == "safety":
                out.append(f"Here is {OFFENCE_DEFAULT}.")
            else:
                out.append("No offence was named, so this is total recorded crime (excluding "
                           "fraud).")
        if offence.asks == "rate":
            noun = self.noun(offence.key or "all_crime")
            out.append(f"{RATE_PROMISE}: recorded {noun} for the "
                       "size of the population, which measures how much police recorded, not "
                       "the chance that any one person is a victim.")
        return out

    def _level(self, area: AreaRow, key: str, ask: PeriodAsk,
               today: date) -> tuple[AreaRow, str, list[str]]:
        """The finest category ONS holds for this area, moving to the force or to England and
        Wales only where ONS publishes the offence there alone; every move is stated. An offence
        now published only nationally (fraud) keeps the local figure for a period the long
        series holds locally: forces recorded fraud before it moved to Action Fraud."""
        offence = BY_KEY.get(key)
        national_only = offence is not None and offence.level == "national" and not offence.parent
        if national_only and area.kind != "england_and_wales":
            local = self._local_before(area, key, ask, today)
            if local is not None:
                return local
        if not national_only and self._has_counts(area.code, key):
            return area, key, []
        if offence and offence.level == "force" and area.kind == "csp" and area.force_code:
            force = self._area(area.force_code)
            if force is not None:
                return force, key, [
                    f"ONS publishes {self.noun(key)} for police force areas, not for local "
                    f"areas such as {display(area.name)}; here is the figure for "
                    f"{self.forces.get(area.force_code, display(force.name))}."]
        wanted, parent = key, self.offences.get(key, ("", None, ""))[1]
        while parent and area.kind != "england_and_wales":
            if self._has_counts(area.code, parent):
                return area, parent, [
                    f"ONS does not publish {self.noun(wanted)} separately for "
                    f"{display(area.name)}; this is {self.noun(parent)}, which includes them."]
            parent = self.offences.get(parent, ("", None, ""))[1]
        if area.kind != "england_and_wales":
            national = self._area(ENGLAND_AND_WALES)
            if national is not None and self._has_counts(ENGLAND_AND_WALES, key):
                why = self._central_why(area, key) if national_only else (
                    f"ONS publishes {self.noun(key)} only for England and Wales as a whole.")
                return national, key, [f"There is no figure for {display(area.name)}: {why} "
                                       "Here is the England and Wales figure."]
        return area, key, []

    def _local_before(self, area: AreaRow, key: str, ask: PeriodAsk,
                      today: date) -> tuple[AreaRow, str, list[str]] | None:
        """The force's own figure for a period asked by name, where the long series holds one
        (fraud before Action Fraud); a local area's question gets its force's, stated."""
        if ask.kind in {"latest", "junk"}:
            return None
        force = area if area.kind == "pfa" else (
            self._area(area.force_code) if area.force_code else None)
        if force is None:
            return None
        held = [p for p, has in self._held(force.code, key) if has]
        period_end = resolve_year(ask, held, today)[0]
        if period_end is None:
            return None
        said = []
        if force.code != area.code:
            said.append(f"Before fraud moved to central recording, police forces recorded it, "
                        f"but ONS gives no figure for local areas such as {display(area.name)}; "
                        f"here is the force figure for {display(force.name)}.")
        central = [(name, first) for name, first in self.recorders if first <= period_end]
        if central:
            said.append(f"Central fraud figures ({joined([n for n, _ in central])}) are "
                        f"held from {period_label(central[0][1])}, as forces passed fraud to "
                        "Action Fraud, so this force figure may not hold every fraud recorded "
                        "in the area.")
        return force, key, said

    def _recorders_of(self, area: AreaRow, key: str) -> tuple[tuple[str, str], ...]:
        """The central recording bodies behind a national figure for an offence they record."""
        offence = BY_KEY.get(key)
        central = offence is not None and offence.caveat == "fraud"
        return self.recorders if central and area.kind == "england_and_wales" else ()

    def _central_why(self, area: AreaRow, key: str) -> str:
        """Why a fraud question for a place is answered for England and Wales: who records it
        now, and until when the place's force did (both from the data)."""
        names = joined([name for name, _ in self.recorders]) or "Action Fraud"
        force_code = area.code if area.kind == "pfa" else area.force_code
        held = [p for p, has in self._held(force_code, key) if has] if force_code else []
        if held:
            return (f"fraud is now recorded centrally by {names}, not by police forces; "
                    f"local force figures run only to {period_label(held[-1])} (ask for a "
                    "year up to then).")
        return f"fraud is recorded centrally by {names}, not by local police areas."

    # --- one figure ------------------------------------------------------------------------

    def _figure(self, area: AreaRow, key: str, ask: PeriodAsk, today: date,
                lead: tuple[str, ...], matched: Matched) -> Finding:
        base = dict(area=area, offence_key=key, offence_label=self.label(key),
                    offence_noun=self.noun(key), lead=lead, matched=matched,
                    force_name=self.forces.get(area.force_code or "") if area.force_code
                    else None, recorders=self._recorders_of(area, key))
        rows = self._held(area.code, key)
        if not rows:
            held = [k for k in self.store.offences_held(area.code) if k in BY_KEY]
            return Finding("no_data", "not_held", held_offences=tuple(held[:8]), **base)
        counted = [p for p, has in rows if has]
        period_end, how = resolve_year(ask, counted, today)
        split = self._split_since(area, key, ask, counted, period_end, today, base)
        if split is not None:
            return split
        if period_end is None:
            older = PRE_2017.get(key)
            if older and ask.kind in {"year", "end"}:
                held_before = [p for p, has in self._held(area.code, older) if has]
                if resolve_year(ask, held_before, today)[0] is not None:
                    lead = (*lead, f"ONS split burglary differently before April 2017; for that "
                                   f"period it holds {self.noun(older)}.")
                    return self._figure(area, older, ask, today, lead, matched)
            return self._not_held(area, key, ask, rows, counted, how, base, today)
        figure = self.store.figure(area.code, key, period_end)
        assert figure is not None and figure.count is not None
        partial = figure.flag == "partial"
        after = (how,) if how else ()
        index = counted.index(period_end)
        previous_end = year_before(period_end)
        boundary = boundary_between(area.code, previous_end, period_end)
        previous = None if boundary or partial else self.store.figure(area.code, key,
                                                                       previous_end)
        breaks = tuple(self.store.breaks(area.code, key))
        qualified = self.series.qualified(area, key, figure, previous, breaks, self.forces)
        state, change = ("incomplete", None) if partial else self.series.previous(figure, previous)
        if state == "held" and qualified.blocks_change:
            state, change = "qualified", None
        like = None
        if state == "not_held" and not boundary and not qualified.faulty:
            like = self.series.like_for_like(area.code, key, counted, period_end, figure, breaks)
        notes = self.series.notes(area, key, period_end, figure.edition)
        revised = self._revised(area.code, key, figure)
        if previous is not None and previous.count is None:
            notes += tuple(n for n in self.series.notes(area, key, previous_end, previous.edition)
                           if n not in notes)
        notes = tuple(n for n in notes
                      if n != qualified.excluded_why and n not in qualified.faulty)
        national = force_total = None
        if area.kind != "england_and_wales":
            national = self.store.figure(ENGLAND_AND_WALES, key, period_end)
            if national is None or national.flag == "partial":
                national = self.store.nearest_figure(ENGLAND_AND_WALES, key, period_end)
            if national is not None and \
                    (national.flag == "old_method") != (figure.flag == "old_method"):
                national = None  # figures on two ONS methods are not set side by side
            if partial and national is not None and national.period_end != period_end:
                national = None  # a part of a region is not set beside another period's whole
        if area.kind in {"csp", "other"} and area.force_code:
            force_total = self.store.figure(area.force_code, key, period_end)
        rate, basis, missing = ((None, "", "") if partial
                                else self._rate(area.code, figure))
        national_rate = None
        if national is not None and national.count is not None and rate is not None:
            ew_rate, ew_basis, _ = self._rate(ENGLAND_AND_WALES, national)
            national_rate = (ew_rate, ew_basis) if ew_rate is not None else None
        caveats = [caveat_for(key, self.parents), CAVEATS["general"]]
        if area.kind in {"csp", "other"}:
            caveats.append(LOCAL_CAUTION)
        return Finding(
            "ok", "figure", period_end=period_end, count=figure.count, flag=figure.flag,
            previous_end=previous_end, previous_count=previous.count if previous else None,
            previous_state="boundary" if boundary else state, change=change, like_for_like=like,
            record=None if partial or qualified.faulty else self.series.record(area.code, key,
                                                                            figure, breaks),
            boundary=boundary, rate=rate, qualified=qualified,
            rate_basis=basis, rate_missing=missing, national=national,
            national_rate=national_rate, force_total=force_total, notes=notes,
            caveats=tuple(c for c in caveats if c), edition=self._edition(figure.edition),
            edition_key=figure.edition, after=after, revised=revised,
            earlier_period=counted[index - 1] if index > 0 else None,
            later_period=counted[index + 1] if index + 1 < len(counted) else None, **base)

    def _split_since(self, area: AreaRow, key: str, ask: PeriodAsk, counted: list[str],
                     period_end: str | None, today: date, base: dict) -> Finding | None:
        """A question back when the council's own figures stop before the period asked (or,
        for the latest, before its districts' latest) because the newer tables print it as
        its district rows: the rows are offered, never added up."""
        split = self.split.get(area.code) or self.split.get(name_key(area.name))
        if area.kind != "csp" or split is None or area.code in split[1]:
            return None
        codes = [*split[1], *(c for _, c in split[2])]
        held = sorted({p for c in codes for p, has in self._held(c, key) if has})
        if not held:
            return None
        if period_end is None:
            wanted, _ = resolve_year(ask, held, today)
            if wanted is None:
                return None
        elif ask.kind == "latest" and held[-1] > period_end:
            wanted = None
        else:
            return None
        last_own = counted[-1] if counted else None
        since = min((p for p in held if last_own is None or p > last_own), default=None)
        districts = self._districts(split, since if last_own else None, last_own, held[-1])
        return Finding("ambiguous", "districts", said=ask.said, period_end=wanted,
                       districts=districts, candidates=self._choices(tuple(
                           Candidate(c, self.areas[c].name, "csp", 100.0) for c in codes)),
                       **base)

    def _districts(self, split: tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]],
                   since: str | None, last_own: str | None, latest: str | None) -> Districts:
        council, own, shared = split
        return Districts(council, tuple(self.areas[c].name for c in own),
                         tuple((part, self.areas[c].name) for part, c in shared),
                         since, last_own, latest)

    def _not_held(self, area: AreaRow, key: str, ask: PeriodAsk, rows: list[tuple[str, bool]],
                  counted: list[str], how: str, base: dict, today: date) -> Finding:
        """A period not held: name the nearest held periods either side, and any ONS note."""
        target = ask.end or (f"{ask.year}-12-31" if ask.year else None)
        missing = next((p for p, has in reversed(rows) if not has and (
            p == ask.end or (ask.year and p.startswith(f"{ask.year}-")))), None)
        notes = self.series.notes(area, key, missing) if missing else ()
        before = max((p for p in counted if target and p < target), default=None)
        after = min((p for p in counted if target and p > target), default=None)
        split: tuple[tuple[str, int], ...] = ()
        if ask.end:
            split = tuple((self.label(k), f.count) for k, (_, parent, _) in
                          sorted(self.offences.items()) if parent == key and k in BY_KEY
                          for f in [self.store.figure(area.code, k, ask.end)]
                          if f is not None and f.count is not None)
        return Finding("no_data", "period_not_held", said=ask.said or how,
                       unreadable=ask.kind == "junk",
                       period_end=missing, held=tuple(counted), nearest=(before, after),
                       split=split, notes=notes, whole=self._whole(area, key, ask, today), **base)

    def _whole(self, area: AreaRow, key: str, ask: PeriodAsk,
               today: date) -> tuple[str, str] | None:
        """(council, period end) when a district row does not hold the period asked but the
        older tables print its council as a whole for it (Wycombe 2022 → Buckinghamshire)."""
        council = self.council_of.get(area.code)
        if council is None or council[0] not in self.areas or ask.kind == "latest":
            return None
        held = [p for p, has in self._held(council[0], key) if has]
        found, _ = resolve_year(ask, held, today)
        return (self.areas[council[0]].name, found) if found else None

    def _rate(self, code: str, figure: FigureRow) -> tuple[float | None, str, str]:
        """ONS's published rate where there is one, else one computed under the shared rule."""
        return rate_of(self.store, code, figure)

    def _revised(self, code: str, key: str,
                 figure: FigureRow) -> tuple[tuple[EditionRow | None, str, int | None], ...]:
        """Earlier editions that printed a different count for this figure (newest wins)."""
        return tuple((self._edition(edition), edition, count)
                     for edition, count in self.store.revisions(code, key, figure.period_end)
                     if edition != figure.edition and count != figure.count)

    # --- comparisons -----------------------------------------------------------------------

    def _comparison(self, parsed: Parsed, today: date) -> Finding:
        parts = [self._single(area, parsed.offence_match, period, today)
                 for area, period in zip(parsed.areas, parsed.periods, strict=True)]
        bad = next((p for p in parts if p.status != "ok"), None)
        if bad is not None:
            return Finding(bad.status, bad.kind, said=bad.said, area=bad.area,
                           offence_key=bad.offence_key, offence_label=bad.offence_label,
                           candidates=bad.candidates, parts=tuple(parts), matched=bad.matched,
                           held=bad.held, nearest=bad.nearest, notes=bad.notes,
                           offence_noun=bad.offence_noun, period_end=bad.period_end,
                           split=bad.split, held_offences=bad.held_offences,
                           lead=bad.lead, districts=bad.districts)
        same_area = len({p.area.code for p in parts if p.area}) == 1
        if same_area:
            parts.sort(key=lambda p: p.period_end or "")
        top = parts[-1] if same_area else parts[0]
        boundary = ""
        qualified = None
        if same_area and top.area is not None and top.offence_key:
            boundary = boundary_between(top.area.code, parts[0].period_end or "",
                                      top.period_end or "")
            qualified = self.series.between(top.area.code, top.offence_key, parts[0].period_end,
                                      top.period_end)
        return Finding("ok", "comparison", boundary=boundary, qualified=qualified,
                       area=top.area,
                       force_name=top.force_name,
                       offence_key=top.offence_key, offence_label=top.offence_label,
                       offence_noun=top.offence_noun, period_end=top.period_end,
                       count=top.count, previous_end=top.previous_end,
                       previous_count=top.previous_count, previous_state=top.previous_state,
                       change=top.change,
                       rate=top.rate, edition=top.edition, edition_key=top.edition_key,
                       earlier_period=top.earlier_period, later_period=top.later_period,
                       matched=top.matched, parts=tuple(parts))


def _part_named(council: str, former: set[str]) -> str:
    """The former council, among those an older lookup put in a shared row, whose name is part
    of the council's name ("Christchurch" in "Bournemouth, Christchurch and Poole"), else ""."""
    whole = f" {name_key(council)} "
    return next((name for name in sorted(former) if f" {name_key(name)} " in whole), "")
