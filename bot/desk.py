"""The release-day desk: what a new edition says about a newsroom's patch.

A digest is built from the store alone, for one edition and a list of areas: the new 12-month
period, the offences at a record high or low for that same window, and the largest rises and falls.
Records follow the reporting guide: only the same 12-month window (years to June with years to
June), only over an unbroken run of years actually held, and the run is stated. Each item carries
(area, offence, period) so the Telegram layer can put a button on it that opens the full answer.
`digest_layout` lays it out as lines; `bot.telegram.render` sets them as Telegram HTML and
`digest_text` as plain text for the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.offences import BY_KEY, CATALOGUE, CAVEATS
from bot.parts import Button, Line
from bot.periods import label as period_label
from bot.periods import year_before
from bot.places import display_name
from bot.series import break_between, crosses_boundary, notes_text, undercounts
from bot.store import Break, EditionRow, FigureRow, Store
from bot.style import change, source_line, window
from bot.style import count as num
from bot.subscriptions import PatchArea

# Counts below this are too small for a % change or a record to mean much (reporting guide).
SMALL = 50
# A "record" needs the new figure and at least two earlier years of the same window.
MIN_RUN = 3
MAX_RECORDS = 6
MAX_CHANGES = 5
MAX_TOTALS = 10

ORDER = {o.key: i for i, o in enumerate(CATALOGUE)}

@dataclass(frozen=True)
class DigestItem:
    """One line of the digest. kind: "record_high", "record_low", "rise", "fall" or "total"."""

    kind: str
    area_code: str
    area_name: str
    offence_key: str
    offence_label: str
    period_end: str
    count: int
    previous: int | None = None
    change_pct: float | None = None
    run_from: str | None = None
    run_years: int = 0
    not_compared: str = ""  # why the year before, though held, is not compared (ONS's notes)

    @property
    def button(self) -> Button:
        return Button(f"{self.area_name}: {self.offence_label}"[:60], self.area_code,
                      self.offence_key, self.period_end)


@dataclass(frozen=True)
class Digest:
    """What one edition says about one patch."""

    edition_key: str | None
    edition_title: str
    source: str
    period_end: str | None
    patch: tuple[PatchArea, ...]
    totals: tuple[DigestItem, ...] = ()
    records: tuple[DigestItem, ...] = ()
    rises: tuple[DigestItem, ...] = ()
    falls: tuple[DigestItem, ...] = ()
    missing: tuple[str, ...] = ()
    not_covered: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def covered(self) -> bool:
        """True when the edition holds figures for at least one area of the patch."""
        return bool(self.totals or self.records or self.rises or self.falls or self.missing)

    @property
    def items(self) -> tuple[DigestItem, ...]:
        return (*self.records, *self.rises, *self.falls)


@dataclass(frozen=True)
class DigestLayout:
    """A digest as lines in blocks: `head` and `tail` always shown, `body` blocks shortened
    from the longest when a surface has a length limit."""

    head: tuple[Line, ...]
    body: tuple[tuple[Line, ...], ...] = ()
    tail: tuple[Line, ...] = ()


# --- facts --------------------------------------------------------------------------------------


def _usable(figure: FigureRow) -> bool:
    """A count that can be a series point: published, and not a partial total."""
    return figure.count is not None and figure.flag != "partial"


def same_window_run(series: Sequence[FigureRow], period_end: str, code: str = "",
                    breaks: Sequence[Break] = (),
                    undercount: Callable[[FigureRow], bool] = lambda _: False
                    ) -> list[FigureRow]:
    """The unbroken run of the same 12-month window ending at `period_end`, oldest first.

    Walks back a year at a time and stops at the first year not held, at a boundary change of
    the area `code`, at a break ONS states, at a change of method and at a figure ONS calls an
    undercount, so a record or a change is never claimed across any of them. An undercounted
    latest figure is a run of one.
    """
    by_end = {f.period_end: f for f in series if _usable(f)}
    run: list[FigureRow] = []
    end = period_end
    while end in by_end and not crosses_boundary(code, end, period_end) \
            and not break_between(breaks, end, period_end):
        figure = by_end[end]
        if run and ((figure.flag == "old_method") != (run[0].flag == "old_method")
                    or undercount(figure)):
            break
        run.append(figure)
        if len(run) == 1 and undercount(figure):
            break
        end = year_before(end)
    return run[::-1]


def _offences_for(store: Store, area: PatchArea) -> list[str]:
    levels = {"local", "force"} if area.kind != "csp" else {"local"}
    held = set(store.offences_held(area.code))
    return sorted((k for k in held if k in BY_KEY and BY_KEY[k].level in levels),
                  key=lambda k: ORDER[k])


def newest_edition(store: Store, areas: Sequence[PatchArea]) -> EditionRow | None:
    """The newest edition holding a total-crime figure for any area of the patch.

    Looking at the patch's own figures skips editions that are not crime tables (population,
    lookups) and national-only tables that say nothing about the patch.
    """
    keys = {f.edition for a in areas for f in store.series(a.code, "all_crime")
            if f.count is not None}
    editions = [e for e in (store.edition(k) for k in keys) if e is not None]
    return max(editions, key=lambda e: (e.period_end, e.key), default=None)


def build_digest(store: Store, patch: Sequence[PatchArea],
                 edition_key: str | None = None) -> Digest:
    """What the edition (default: the newest for this patch) says about the patch."""
    edition = store.edition(edition_key) if edition_key else newest_edition(store, patch)
    if edition is None:
        title = f"edition “{edition_key}” is not held" if edition_key else "no edition held"
        return Digest(edition_key, title, source_line(None), None, tuple(patch))
    period = edition.period_end
    labels = store.offence_labels()
    totals: list[DigestItem] = []
    records: list[DigestItem] = []
    changes: list[DigestItem] = []
    missing: list[str] = []
    not_covered: list[str] = []
    for area in patch:
        total = store.figure(area.code, "all_crime", period)
        if total is None:
            not_covered.append(_name(area))
            continue
        if total.count is None:
            why = notes_text(store, area.code, "all_crime", period)
            missing.append(f"{_name(area)}: ONS published no figures for this period"
                           + (f" ({why})" if why else "") + ".")
            continue
        for offence in _offences_for(store, area):
            series = store.series(area.code, offence)
            undercount = undercounts(store, area.code, offence)
            run = same_window_run(series, period, area.code,
                                  store.breaks(area.code, offence), undercount)
            if not run or run[-1].period_end != period:
                continue
            held_before = store.figure(area.code, offence, year_before(period))
            not_compared = ""
            if len(run) == 1 and held_before is not None and held_before.count is not None:
                not_compared = ("ONS says this figure is an undercount" if undercount(run[-1])
                                else "ONS says the year before is not comparable")
            figure = run[-1]
            count = figure.count
            assert count is not None
            label = labels.get(offence, (offence, None))[0]
            before = run[-2].count if len(run) > 1 else None
            pct = (100.0 * (count - before) / before
                   if before is not None and before > 0 else None)
            item = DigestItem("total", area.code, _name(area), offence, label, period, count,
                              before, pct, run[0].period_end, len(run), not_compared)
            if offence == "all_crime":
                totals.append(item)
            if count < SMALL:
                continue
            earlier = [f.count for f in run[:-1] if f.count is not None]
            if len(run) >= MIN_RUN and count > max(earlier):
                records.append(_as(item, "record_high"))
            elif len(run) >= MIN_RUN and count < min(earlier):
                records.append(_as(item, "record_low"))
            if before is not None and before >= SMALL and pct:
                changes.append(_as(item, "rise" if pct > 0 else "fall"))
    rises = sorted((c for c in changes if c.kind == "rise"),
                   key=lambda c: (-(c.change_pct or 0), c.area_name))[:MAX_CHANGES]
    falls = sorted((c for c in changes if c.kind == "fall"),
                   key=lambda c: (c.change_pct or 0, c.area_name))[:MAX_CHANGES]
    notes: list[str] = []
    if (totals or records or changes) and not any(t.previous is not None for t in totals):
        notes.append(f"No figures for {period_label(year_before(period))} are held for this "
                     "patch, so there are no year-on-year changes or records for this window.")
    newest = newest_edition(store, patch)
    positions = {a.code: i for i, a in enumerate(patch)}
    if newest is not None and newest.key != edition.key:
        notes.append("This is an earlier edition: figures are shown as held now, including any "
                     "later revisions.")
    records.sort(key=lambda r: (ORDER[r.offence_key], positions[r.area_code]))
    return Digest(edition.key, edition.title, source_line(edition), period, tuple(patch),
                  tuple(totals), tuple(records[:MAX_RECORDS]), tuple(rises), tuple(falls),
                  tuple(missing), tuple(not_covered), tuple(notes))


def _as(item: DigestItem, kind: str) -> DigestItem:
    return replace(item, kind=kind)


def _name(area: PatchArea) -> str:
    return display_name(area.name, area.kind)


# --- rendering ----------------------------------------------------------------------------------


def item_text(item: DigestItem) -> str:
    """One digest line as plain text (the totals section names no offence: its title does)."""
    head = (f"{item.area_name}: {num(item.count)}" if item.kind == "total" else
            f"{item.area_name}, {item.offence_label.lower()}: {num(item.count)}")
    if item.kind in ("record_high", "record_low"):
        word = "highest" if item.kind == "record_high" else "lowest"
        return (f"{head}, the {word} of the {item.run_years} {window(item.period_end)} held "
                f"(from {period_label(item.run_from or item.period_end)})")
    if item.previous is None and item.not_compared:
        return f"{head} ({item.not_compared}, so no change is given)"
    if item.previous is None:
        return f"{head} (no figure for the year before is held)"
    if item.change_pct is None or item.change_pct == 0:
        return f"{head} (unchanged on the year before, {num(item.previous)})"
    return (f"{head}, {change(item.change_pct)} from {num(item.previous)} in "
            f"{period_label(year_before(item.period_end))}")


def digest_layout(digest: Digest) -> DigestLayout:
    """The digest's lines in their blocks, for a surface to set: headings and the period are
    strong; the body's blocks are what a length limit may shorten."""
    if digest.period_end is None:
        return DigestLayout((Line(f"No digest: {digest.edition_title}."),))
    head = (Line("New ONS figures: " + period_label(digest.period_end), strong=True),
            Line("Patch: " + "; ".join(a.label for a in digest.patch) + "."))
    body: list[tuple[Line, ...]] = []
    if not digest.covered:
        body.append((Line("This edition holds no figures for the areas in this patch."),))
    totals = [Line("• " + item_text(t)) for t in digest.totals[:MAX_TOTALS]]
    if totals:
        body.append((Line("Total recorded crime (excluding fraud)", strong=True), *totals))
    sections = (("Records for this 12-month window", digest.records),
                ("Largest rises (50 or more offences in both years)", digest.rises),
                ("Largest falls (50 or more offences in both years)", digest.falls))
    for title, items in sections:
        if items:
            body.append((Line(title, strong=True), *(Line("• " + item_text(i)) for i in items)))
    extra = [*digest.missing, *digest.notes]
    if digest.not_covered:
        extra.append("Not in this edition: " + "; ".join(digest.not_covered) + ".")
    if extra:
        body.append(tuple(Line(x) for x in extra))
    if digest.items:
        body.append((Line("Tap a button below for the full answer, with the caveats."),))
    tail = (Line("Caveat: " + CAVEATS["general"]), Line(digest.source))
    return DigestLayout(head, tuple(body), tail)


def digest_text(digest: Digest) -> str:
    """The digest as plain text, for the CLI: every line, no length limit."""
    layout = digest_layout(digest)
    return "\n\n".join("\n".join(line.text for line in block)
                        for block in (layout.head, *layout.body, layout.tail) if block)


def digest_buttons(digest: Digest) -> tuple[Button, ...]:
    """One button per record, rise and fall, each opening the full answer."""
    seen: dict[tuple[str, str, str], Button] = {}
    for item in digest.items:
        seen.setdefault((item.area_code, item.offence_key, item.period_end), item.button)
    return tuple(seen.values())
