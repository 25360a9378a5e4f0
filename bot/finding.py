"""A `Finding`: everything one answer may say, as data, and the parts it is made of.

Its own module so that wording, answers, charts and tests can hold a Finding without the rules
that build one (`bot.facts`) or the store queries behind them (`bot.series`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.places import KIND_NAMES, display
from bot.store import AreaRow, Break, EditionRow, FigureRow

Matched = tuple[tuple[str, tuple[tuple[str, object], ...]], ...]


@dataclass(frozen=True)
class Choice:
    """A candidate offered when a place is ambiguous or an offence unknown; `offence_key` is set
    when the choice is an offence (the area stays `code`)."""

    code: str
    name: str
    kind: str
    force: str | None = None
    offence_key: str | None = None

    @property
    def label(self) -> str:
        """"Bedford (local area, Bedfordshire)": what a button says."""
        if self.offence_key:
            return self.name
        kinds = {**KIND_NAMES, "england_and_wales": "national"}
        where = f", {display(self.force)}" if self.force and self.force != self.name else ""
        return f"{display(self.name)} ({kinds.get(self.kind, self.kind)}{where})"


@dataclass(frozen=True)
class Change:
    """Counts a year apart in the same 12-month window; pct is None for small or odd bases."""

    earlier_end: str
    earlier_count: int
    later_end: str
    later_count: int
    pct: float | None


@dataclass(frozen=True)
class Record:
    """"Highest/lowest since": only among figures of the same 12-month window, stopping at a
    boundary change. `since_end` None means the highest/lowest of all `held`; `missing` names
    the same-window years inside the span that are not held."""

    kind: str
    since_end: str | None
    since_count: int | None
    first_end: str
    held: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Qualified:
    """What ONS's own notes say about this figure, read from the store (never typed in):
    `broken` is the break between this figure and the year before (or the record span) that
    stopped a comparison; `faulty` the notes that call this figure (or the one a year earlier,
    `faulty_previous`) an undercount; `excluded` the forces a partial total leaves out, with
    ONS's reason; `old_method` the newer edition's method note, when this figure is one only an
    older edition holds on the old method."""

    broken: Break | None = None
    faulty: tuple[str, ...] = ()
    faulty_previous: bool = False
    excluded: tuple[str, ...] = ()
    excluded_why: str = ""
    old_method: str = ""
    method_differs: bool = False

    @property
    def blocks_change(self) -> bool:
        return bool(self.broken or self.faulty or self.faulty_previous or self.method_differs)


@dataclass(frozen=True)
class Districts:
    """A council that the newer ONS tables print as several district rows (the December 2024
    CSP tables and the June 2025 CSV print Buckinghamshire as Aylesbury Vale, Chiltern, South
    Bucks and Wycombe). `rows` are the rows that are the council's alone; `shared` names a part
    of the council counted in a row that also covers another council, as (part, row), e.g.
    ("Christchurch", "Dorset"). `since` is the first period printed as districts and `last_own`
    the last period held for the council as a whole (both None when it has no row of its own).
    The rows are never added up: the guide warns that summing by local authority double-counts,
    and a shared row covers more than the council."""

    council: str
    rows: tuple[str, ...]
    shared: tuple[tuple[str, str], ...] = ()
    since: str | None = None
    last_own: str | None = None
    latest: str | None = None


@dataclass(frozen=True)
class Finding:
    """Everything one answer may say, as data. kind: "figure", "no_place", "unknown_place",
    "ask_place", "unknown_offence", "not_held" (no figures for that offence there),
    "period_not_held", "nothing" (no question), "comparison", "districts" (the council's
    figures stop where the newer tables print it as its districts: a question back)."""

    status: str
    kind: str
    said: str = ""
    area: AreaRow | None = None
    force_name: str | None = None
    offence_key: str | None = None
    offence_label: str | None = None
    offence_noun: str = ""
    period_end: str | None = None
    count: int | None = None
    flag: str | None = None
    previous_end: str | None = None
    previous_count: int | None = None
    previous_state: str = ""
    change: Change | None = None
    like_for_like: Change | None = None
    record: Record | None = None
    boundary: str = ""
    rate: float | None = None
    rate_basis: str = ""
    rate_missing: str = ""
    national: FigureRow | None = None
    national_rate: tuple[float, str] | None = None
    force_total: FigureRow | None = None
    qualified: Qualified | None = None
    notes: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    edition: EditionRow | None = None
    edition_key: str | None = None
    lead: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    matched: Matched = ()
    earlier_period: str | None = None
    later_period: str | None = None
    held: tuple[str, ...] = ()
    nearest: tuple[str | None, str | None] = (None, None)
    split: tuple[tuple[str, int], ...] = ()
    held_offences: tuple[str, ...] = ()
    candidates: tuple[Choice, ...] = ()
    revised: tuple[tuple[EditionRow | None, str, int | None], ...] = ()
    unreadable: bool = False
    districts: Districts | None = None
    whole: tuple[str, str] | None = None
    recorders: tuple[tuple[str, str], ...] = ()
    parts: tuple[Finding, ...] = field(default=())

    @property
    def assumptions(self) -> tuple[str, ...]:
        """Every plain sentence that says what was assumed or substituted."""
        return self.lead + self.after


def joined(names: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)
