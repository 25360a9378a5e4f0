"""Charts a reporter can publish: the data behind a series chart, then its drawing.

The chart DATA (`ChartData`, frozen, built from the store and the answer's `Finding`) carries
every rule a graphics desk checks: one line per 12-month window (a year to June is never joined
to a year to December), no line across periods that are not held, not published or incomplete
(the gap is labelled) nor across a comparability break (ONS's reason is given), the asked period
highlighted with the answer's own figures, and a source naming the editions actually plotted.
`crimebot chart --json` prints it so a desk can restyle the chart; the tests check it, not
pixels.

The DRAWING (`render_chart`) only turns that data into a PNG or SVG. matplotlib is imported
inside it, never at module level, and nothing on the answer path imports this module. The
figure is built with the object-oriented API (no pyplot), which keeps no global state and is
safe to run in a worker thread off the event loop.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.answer import from_finding
from bot.periods import ye
from bot.places import ENGLAND_AND_WALES, NATIONAL_NAME, display
from bot.rates import rate_of
from bot.series import BOUNDARY_CHANGES
from bot.store import FigureRow, Store
from bot.style import capitalised, month_window
from bot.wording import and_list, edition_name, headline, num

if TYPE_CHECKING:
    from bot.finding import Finding

SOURCE_PREFIX = "Source: ONS / Home Office police recorded crime — "
DERIVED_NOTE = ("Hollow points: totals ONS does not print for that period, the sum of its "
                "offence groups.")
INCOMPLETE_NOTE = ("×: incomplete totals (a force supplied no data for part of the period), "
                   "not joined to the line.")
# What the highlighted figure's label adds when the total is not one ONS printed whole.
FLAGGED = {"partial": " (incomplete)", "derived": " (sum of groups)",
           "old_method": " (older method)"}
COMPUTED_NOTE = "Rates not published by ONS are computed from ONS mid-year population estimates."
OLD_METHOD_NOTE = ("Points marked (older method) are figures only an older edition holds, counted "
                   "before ONS's current method; they are not joined to figures on the new one.")

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
AREA_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
MARKERS = ("o", "s", "^", "D")
NATIONAL_COLOURS = ("#D55E00", "#000000")
NATIONAL_MARKERS = ("s", "v")
WIDTH_IN, DPI = 7.0, 150
HEIGHT_IN = {1: 6.0, 2: 8.8}
MAX_TICKS = 5


class ChartError(ValueError):
    """There is nothing to draw (the question found no single figure with counts held)."""


@dataclass(frozen=True)
class Point:
    """One plotted value. `count` is the recorded count behind it (the value itself on the
    counts panel); `flag` is "derived" for a total ONS does not print."""

    period_end: str
    label: str
    value: float
    count: int | None
    flag: str | None
    edition: str


@dataclass(frozen=True)
class Gap:
    """Where a line stops because the same window's periods between are not usable."""

    after: str
    before: str
    label: str


@dataclass(frozen=True)
class BreakMark:
    """A comparability break: no line joins figures either side of `starts`."""

    area: str
    starts: str
    label: str
    reason: str
    edition: str


@dataclass(frozen=True)
class Line:
    """One area's figures for one 12-month window (`month` 1–12), split into segments that
    may be joined; `incomplete` points are shown but never joined."""

    name: str
    area: str
    month: int
    segments: tuple[tuple[Point, ...], ...]
    gaps: tuple[Gap, ...]
    incomplete: tuple[Point, ...]
    highlighted: bool

    def points(self) -> tuple[Point, ...]:
        return tuple(p for segment in self.segments for p in segment)


@dataclass(frozen=True)
class Panel:
    """kind: "counts", "rates" (per 1,000 residents, compares levels) or "index" (compares
    trends when no rate can be given)."""

    kind: str
    ylabel: str
    lines: tuple[Line, ...]
    breaks: tuple[BreakMark, ...]


@dataclass(frozen=True)
class Highlight:
    """The asked period with the answer's own figures, taken from the same `Answer` the text
    and `crimebot ask --json` give: the chart cannot say something else."""

    period_end: str
    label: str
    count: int
    text: str
    flag: str | None
    previous_end: str | None
    previous_count: int | None
    rate: float | None
    national_end: str | None
    national_count: int | None
    national_rate: float | None


@dataclass(frozen=True)
class ChartData:
    title: str
    subtitle: str
    area: str
    offence: str
    panels: tuple[Panel, ...]
    highlight: Highlight
    editions: tuple[str, ...]
    source: str
    notes: tuple[str, ...]
    caption: str

    def to_json(self) -> dict:
        """`crimebot chart --json`: everything behind the chart, for a desk to restyle it."""
        return asdict(self)


# --- the data ---------------------------------------------------------------------------------

Value = Callable[[FigureRow], tuple[float | None, str]]


def count_value(row: FigureRow) -> tuple[float | None, str]:
    """A count that may be joined to its neighbours, else why not."""
    if row.count is None:
        return None, "not published"
    if row.flag == "partial":
        return None, "incomplete"
    return float(row.count), ""


def rate_value(store: Store, code: str) -> Value:
    """The rate the answer would give for each figure (published, else computed)."""
    def value(row: FigureRow) -> tuple[float | None, str]:
        _, why = count_value(row)
        if why:
            return None, why
        rate, _, _ = rate_of(store, code, row)
        return (rate, "") if rate is not None else (None, "no rate")
    return value


def runs(missing: list[tuple[int, str]]) -> str:
    """[(2020, "not held"), (2021, "not held"), (2022, "not published")] →
    "2020–2021 not held; 2022 not published"."""
    out: list[tuple[int, int, str]] = []
    for year, why in missing:
        if out and out[-1][2] == why and out[-1][1] == year - 1:
            out[-1] = (out[-1][0], year, why)
        else:
            out.append((year, year, why))
    return "; ".join(f"{a} {why}" if a == b else f"{a}–{b} {why}" for a, b, why in out)


def crosses(breaks: Iterable[BreakMark], earlier: str, later: str) -> bool:
    return any(earlier < b.starts <= later for b in breaks)


def window_line(rows: list[FigureRow], value: Value, breaks: tuple[BreakMark, ...], name: str,
                area: str, month: int, highlighted: bool, show_incomplete: bool) -> Line:
    """One window's line: a segment ends at any year between two points that has no usable
    figure (the gap names the years and why), at an incomplete total (shown unjoined on the
    counts panel), at any comparability break and where ONS's counting method changes."""
    by_year = {int(r.period_end[:4]): r for r in rows}
    segments: list[list[Point]] = []
    gaps: list[Gap] = []
    incomplete: list[Point] = []
    drawn: Point | None = None
    anchor: str | None = None
    missing: list[tuple[int, str]] = []
    for year in range(min(by_year), max(by_year) + 1):
        row = by_year.get(year)
        if row is None:
            missing.append((year, "not held"))
            continue
        amount, why = value(row)
        if amount is None and show_incomplete and row.flag == "partial" and row.count is not None:
            shown: float | None = float(row.count)
        else:
            shown = amount
        if shown is None:
            missing.append((year, why))
            continue
        if anchor is not None and missing:
            gaps.append(Gap(anchor, row.period_end, runs(missing)))
        point = Point(row.period_end, ye(row.period_end), shown, row.count, row.flag,
                      row.edition)
        if amount is None:
            incomplete.append(point)
        elif (drawn is None or anchor != drawn.period_end or missing
              or crosses(breaks, drawn.period_end, row.period_end)
              or (drawn.flag == "old_method") != (row.flag == "old_method")):
            segments.append([point])
        else:
            segments[-1].append(point)
        drawn = point if amount is not None else drawn
        anchor, missing = row.period_end, []
    return Line(f"{name}, {month_window(month)}", area, month,
                tuple(tuple(s) for s in segments), tuple(gaps), tuple(incomplete), highlighted)


def lines(rows: list[FigureRow], value: Value, breaks: tuple[BreakMark, ...], name: str,
          area: str, highlight_month: int, months: set[int] | None = None) -> tuple[Line, ...]:
    """One line per 12-month window held (the asked window first), or only `months` (the
    comparison panel, where an incomplete total has no rate or index and is left out)."""
    windows: dict[int, list[FigureRow]] = {}
    for row in rows:
        windows.setdefault(int(row.period_end[5:7]), []).append(row)
    order = sorted(windows, key=lambda m: (m != highlight_month, m))
    built = (window_line(windows[m], value, breaks, name, area, m, m == highlight_month,
                         months is None)
             for m in order if months is None or m in months)
    return tuple(line for line in built if line.segments or line.incomplete)


def breaks_for(store: Store, code: str, offence: str) -> tuple[BreakMark, ...]:
    """ONS's breaks for the series, and the boundary changes the answers also respect."""
    out = [BreakMark(code, b.starts, f"ONS: not comparable before {ye(b.starts)}", b.reason,
                     b.edition) for b in store.breaks(code, offence)]
    change = BOUNDARY_CHANGES.get(code)
    if change:
        out.append(BreakMark(code, change[0], f"Not comparable before {ye(change[0])}",
                             change[1], ""))
    return tuple(sorted(out, key=lambda b: b.starts))


def within(rows: list[FigureRow], first: str, last: str) -> list[FigureRow]:
    return [r for r in rows if first <= r.period_end <= last]


def stretch(breaks: Iterable[BreakMark], period_end: str) -> tuple[str, str]:
    """The comparable span around a period: from the latest break at or before it to the day
    before the next break."""
    starts = sorted(b.starts for b in breaks)
    low = max((s for s in starts if s <= period_end), default="")
    high = min((s for s in starts if s > period_end), default="9999")
    return low, high


def index_panel(area: list[FigureRow], national: list[FigureRow], area_breaks: tuple[
                BreakMark, ...], national_breaks: tuple[BreakMark, ...], names: tuple[str, str],
                codes: tuple[str, str], period_end: str) -> Panel | None:
    """Both series in the asked window, each scaled to 100 at their first common period on the
    asked period's side of every break (an index across a break would compare unlike things)."""
    low, high = stretch((*area_breaks, *national_breaks), period_end)
    month = int(period_end[5:7])

    def usable(rows: list[FigureRow]) -> dict[str, FigureRow]:
        return {r.period_end: r for r in rows if low <= r.period_end < high
                and int(r.period_end[5:7]) == month and count_value(r)[0]}
    mine, theirs = usable(area), usable(national)
    common = sorted(set(mine) & set(theirs))
    if not common:
        return None
    base = common[0]

    def scaled(base_row: FigureRow) -> Value:
        def value(row: FigureRow) -> tuple[float | None, str]:
            amount, why = count_value(row)
            if amount is None:
                return None, why
            return 100.0 * amount / (base_row.count or 1), ""
        return value
    drawn = []
    for rows, code, name, breaks in ((area, codes[0], names[0], area_breaks),
                                     (national, codes[1], names[1], national_breaks)):
        kept = [r for r in rows if base <= r.period_end < high]
        by_day = mine if code == codes[0] else theirs
        drawn += lines(kept, scaled(by_day[base]), breaks, name, code, month, {month})
    return Panel("index", f"Index ({ye(base)} = 100)", tuple(drawn),
                 (*area_breaks, *national_breaks))


def comparison_panel(store: Store, f: Finding, rows: list[FigureRow],
                     breaks: tuple[BreakMark, ...]) -> Panel | None:
    """The area against England and Wales: rates per 1,000 when the answer gives a rate (it
    compares levels), otherwise an index (trends). Asked window only, plus the window of the
    national figure the answer quotes when that differs."""
    assert f.area is not None and f.offence_key and f.period_end
    if f.area.code == ENGLAND_AND_WALES or not rows:
        return None
    first, last = rows[0].period_end, rows[-1].period_end
    national = within(store.series(ENGLAND_AND_WALES, f.offence_key), first, last)
    if f.national is not None and f.national.period_end not in {r.period_end for r in national}:
        national = sorted([*national, f.national], key=lambda r: r.period_end)
    if not national:
        return None
    month = int(f.period_end[5:7])
    national_breaks = breaks_for(store, ENGLAND_AND_WALES, f.offence_key)
    name = display(f.area.name)
    if f.rate is None:
        return index_panel(rows, national, breaks, national_breaks, (name, NATIONAL_NAME),
                           (f.area.code, ENGLAND_AND_WALES), f.period_end)
    months = {month} | ({int(f.national.period_end[5:7])} if f.national else set())
    drawn = (*lines(rows, rate_value(store, f.area.code), breaks, name, f.area.code, month,
                    {month}),
             *lines(national, rate_value(store, ENGLAND_AND_WALES), national_breaks,
                    NATIONAL_NAME, ENGLAND_AND_WALES, month, months))
    return Panel("rates", "Crimes per 1,000 residents", drawn, (*breaks, *national_breaks))


def source(store: Store, panels: tuple[Panel, ...]) -> tuple[tuple[str, ...], str]:
    """The editions actually plotted, oldest first, named as the answer's source line names
    them (no "[note n]" markers); the line groups the editions of one set of tables."""
    keys = {p.edition for panel in panels for line in panel.lines
            for p in (*line.points(), *line.incomplete)}
    editions = sorted(((store.edition(k), k) for k in keys),
                      key=lambda e: (e[0].period_end if e[0] else "", e[1]))
    names = tuple(dict.fromkeys(edition_name(e, k) for e, k in editions))
    grouped: dict[str, list[str]] = {}
    for name in names:
        tables, _, ending = name.rpartition(", year ending ")
        grouped.setdefault(tables or name, []).append(ending)
    parts = [tables if not endings[0] else
             f"{tables}, year{'s' if len(endings) > 1 else ''} ending {and_list(endings)}"
             for tables, endings in grouped.items()]
    return names, SOURCE_PREFIX + "; ".join(parts) + "."


def single(f: Finding) -> Finding:
    """The one figure a chart is about: a comparison's latest (or first-named) part."""
    if f.kind == "comparison":
        f = next((p for p in f.parts if p.area == f.area and p.period_end == f.period_end), f)
    if f.kind != "figure" or f.area is None or not f.offence_key or f.count is None \
            or f.period_end is None:
        raise ChartError("no single figure to chart")
    return f


def chart_data(store: Store, finding: Finding) -> ChartData:
    """Everything the chart shows, from the same store and Finding as the answer's text."""
    f = single(finding)
    assert f.area is not None and f.offence_key and f.period_end and f.count is not None
    code, key, month = f.area.code, f.offence_key, int(f.period_end[5:7])
    rows = store.series(code, key)
    breaks = breaks_for(store, code, key)
    name = display(f.area.name)
    counts = Panel("counts", "Recorded crimes (12 months)",
                   lines(rows, count_value, breaks, name, code, month), breaks)
    if not any(line.segments or line.incomplete for line in counts.lines):
        raise ChartError(f"no counts held for {key} in {code}")
    compare = comparison_panel(store, f, rows, breaks)
    panels = (counts, compare) if compare else (counts,)
    editions, source_line = source(store, panels)
    every = [p for panel in panels for line in panel.lines for p in line.points()]
    marks = {f"{b.label}: {b.reason}.": None for panel in panels for b in panel.breaks}
    computed = compare is not None and compare.kind == "rates" and any(
        store.figure(line.area, key, p.period_end).rate is None
        for line in compare.lines for p in line.points())
    notes = (*marks, *(note for note, shown in (
        (DERIVED_NOTE, any(p.flag == "derived" for p in every)),
        (INCOMPLETE_NOTE, any(line.incomplete for line in counts.lines)),
        (OLD_METHOD_NOTE, any(p.flag == "old_method" for p in every)),
        (COMPUTED_NOTE, computed)) if shown))
    said = from_finding(f)
    highlight = Highlight(
        f.period_end, ye(f.period_end), f.count,
        f"{ye(f.period_end)}: {num(f.count)}{FLAGGED.get(f.flag or '', '')}", f.flag,
        said.previous_end, said.previous_count, said.rate_per_1000, said.national_end,
        said.national_count, said.national_rate)
    label = f.offence_label or key
    held = sorted(p.period_end for line in counts.lines for p in (*line.points(),
                                                                  *line.incomplete))
    return ChartData(
        f"{name}: {label}",
        f"Police recorded crime, 12-month totals, {ye(held[0])} to {ye(held[-1])}", code, key,
        panels, highlight, editions, source_line, notes, headline(f))


# --- the drawing ------------------------------------------------------------------------------


def ticks(panel: Panel, highlight: Highlight) -> list[Point]:
    """At most MAX_TICKS periods spread over the whole panel, always including the asked one:
    the asked window's periods first, then the others, each far enough from those chosen.
    A tick sits at the period's own end and is labelled with it."""
    lines = sorted(panel.lines, key=lambda line: not line.highlighted)
    points = [p for line in lines for p in sorted((*line.points(), *line.incomplete),
                                                  key=lambda p: p.period_end, reverse=True)]
    if not points:
        return []
    days = [day(p) for p in points]
    room = (max(days) - min(days)) / MAX_TICKS
    chosen = [p for p in points if p.period_end == highlight.period_end][:1]
    for point in points:
        if len(chosen) < MAX_TICKS and all(abs(day(point) - day(c)) >= room for c in chosen):
            chosen.append(point)
    return sorted(chosen, key=lambda p: p.period_end)


def day(point: Point | str) -> date:
    return date.fromisoformat(point if isinstance(point, str) else point.period_end)


def style(line: Line, panel: Panel) -> tuple[str, str, float, float]:
    """(colour, marker, line width, opacity): the asked window bold, others lighter, England
    and Wales in its own colours, so no two lines on a panel look alike."""
    national = line.area == ENGLAND_AND_WALES and panel.kind != "counts"
    same = [other for other in panel.lines
            if (other.area == ENGLAND_AND_WALES and panel.kind != "counts") == national]
    number = same.index(line)
    colours, markers = (NATIONAL_COLOURS, NATIONAL_MARKERS) if national else (AREA_COLOURS,
                                                                             MARKERS)
    bold = line.highlighted or (national and number == 0)
    return (colours[number % len(colours)], markers[number % len(markers)],
            2.8 if bold else 1.3, 1.0 if bold else 0.65)


def draw_panel(ax: object, panel: Panel, highlight: Highlight, legend_at: float) -> None:
    """Each line in its own Okabe–Ito colour and marker; gaps labelled, breaks marked (their
    reason is printed under the chart); the legend below the panel, `legend_at` (axes
    fraction) clear of any tick labels."""
    area_lines = [line for line in panel.lines if line.area != ENGLAND_AND_WALES]
    every = [p for line in panel.lines for p in (*line.points(), *line.incomplete)]
    for line in panel.lines:
        colour, marker, width, alpha = style(line, panel)
        dashed = line.area == ENGLAND_AND_WALES and panel.kind != "counts"
        for number, segment in enumerate(line.segments):
            ax.plot([day(p) for p in segment], [p.value for p in segment],
                    color=colour, linewidth=width, alpha=alpha, linestyle="--" if dashed else "-",
                    label=(line.name if panel.kind != "counts" else
                           capitalised(month_window(line.month))) if number == 0 else None)
            for derived in (False, True):
                chosen = [p for p in segment if (p.flag == "derived") == derived]
                if chosen:
                    ax.plot([day(p) for p in chosen], [p.value for p in chosen], marker,
                            color=colour, alpha=alpha, markersize=6 if width > 2 else 4,
                            markerfacecolor="white" if derived else colour)
        if line.incomplete:
            ax.plot([day(p) for p in line.incomplete], [p.value for p in line.incomplete], "x",
                    color=colour, markersize=10, markeredgewidth=2.5)
        for gap in line.gaps if line.highlighted else ():
            ax.axvspan(day(gap.after), day(gap.before), color="#999999", alpha=0.2, lw=0)
            middle = day(gap.after) + (day(gap.before) - day(gap.after)) / 2
            label = gap.label if len(area_lines) == 1 else \
                f"{capitalised(month_window(line.month, abbreviated=True))}: {gap.label}"
            ax.text(middle, 0.02, "\n".join(textwrap.wrap(label, 16)),
                    transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=10.5, style="italic", color="#333333")
    for starts in sorted({b.starts for b in panel.breaks}):
        ax.axvline(day(starts), color="#000000", linestyle=":", linewidth=1.5)
        ax.text(day(starts), 0.99, " break", transform=ax.get_xaxis_transform(), ha="left",
                va="top", fontsize=10.5, fontweight="bold", color="#000000",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    top = max((p.value for p in every), default=1.0)
    ax.set_ylim(0, top * 1.25)
    if panel.kind == "counts":
        point = next((p for line in panel.lines if line.highlighted
                      for p in (*line.points(), *line.incomplete)
                      if p.period_end == highlight.period_end), None)
        if point is not None:
            first, last = min(day(p) for p in every), max(day(p) for p in every)
            right = (day(point) - first) > (last - first) * 0.6
            ax.plot([day(point)], [point.value], "o", markersize=16, markerfacecolor="none",
                    markeredgecolor="#000000", markeredgewidth=2.2)
            ax.annotate(highlight.text, (day(point), point.value),
                        xytext=(-14 if right else 14, 16), textcoords="offset points",
                        ha="right" if right else "left", fontsize=14, fontweight="bold",
                        color="#000000")
    ax.set_ylabel(panel.ylabel, fontsize=12.5)
    ax.yaxis.set_major_formatter("{x:,.1f}" if panel.kind == "rates" else "{x:,.0f}")
    ax.tick_params(labelsize=12)
    ax.grid(True, axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, legend_at), ncol=2, fontsize=11,
              frameon=False, handlelength=2.5)


def render_chart(data: ChartData, fmt: str = "png") -> bytes:
    """The chart as PNG or SVG bytes; cached, since the same data always draws the same."""
    return _render(data, fmt)


@lru_cache(maxsize=64)
def _render(data: ChartData, fmt: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN[len(data.panels)]), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(len(data.panels), 1, sharex=True, squeeze=False)[:, 0]
    for number, (ax, panel) in enumerate(zip(axes, data.panels, strict=True)):
        last = number == len(data.panels) - 1
        draw_panel(ax, panel, data.highlight,
                   -0.04 if not last else -0.22 if len(data.panels) > 1 else -0.15)
    shown = ticks(data.panels[0], data.highlight)
    axes[-1].set_xticks([day(p) for p in shown],
                        ["\n".join(p.label.rsplit(" ", 1)) for p in shown])
    axes[-1].tick_params(axis="x", labelbottom=True)
    fig.suptitle("\n".join(textwrap.wrap(data.title, 42)), fontsize=17, fontweight="bold")
    axes[0].set_title(data.subtitle, fontsize=12, color="#333333")
    footer = [data.source, *data.notes]
    fig.supxlabel("\n".join(line for text in footer for line in textwrap.wrap(text, 92)),
                  fontsize=9, color="#333333", ha="left", x=0.01)
    buffer = io.BytesIO()
    if fmt == "svg":
        from matplotlib import rc_context

        # Text stays text, so a graphics desk can restyle it (only the CLI asks for SVG).
        with rc_context({"svg.fonttype": "none"}):
            fig.savefig(buffer, format=fmt)
    else:
        fig.savefig(buffer, format=fmt)
    return buffer.getvalue()
