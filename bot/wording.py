"""A `Finding` → the words of a reply. Pure: no store, no look-ups, nothing but the Finding.

The reply follows the reporting guide's order (what was assumed, figure and force, the year
before, series context, rate against England and Wales, wider picture, ONS notes, caveats,
source). Every rule about what may be said was settled in `bot.facts`; this module only says it,
so each wording rule is tested on hand-built Findings in milliseconds.
"""

from __future__ import annotations

import re
from datetime import date

from bot.finding import Change, Districts, Finding, Qualified, Record, joined
from bot.parts import (
    ASSUMPTION,
    CAVEAT,
    CHANGE,
    COMPARISON,
    CONTEXT,
    LEAD,
    RATE,
    SOURCE,
    Paragraph,
    joined_text,
)
from bot.periods import label as period_label
from bot.periods import short
from bot.places import display, region_phrase
from bot.places import force_name as _force_name
from bot.store import EditionRow
from bot.style import change as change_words
from bot.style import count as num
from bot.style import edition_name, source_line, window
from bot.style import percent as pct
from bot.style import rate as rate_text

HELP = ("Ask me about police recorded crime in England and Wales, for example: "
        "“sexual offences Wrexham 2022”, “burglaries in Leeds last year”, "
        "“violent crime Bedfordshire police latest” or “shoplifting Manchester 2024 vs 2023”.")

SINGULAR = {"offences": "offence", "crimes": "crime", "burglaries": "burglary",
            "robberies": "robbery", "thefts": "theft", "homicides": "homicide", "rapes": "rape"}


def counted(count: int, noun: str) -> str:
    """"536 sexual offences", but "1 sexual offence"."""
    if count == 1:
        words = noun.split(" ")
        for index, word in enumerate(words):
            if word in SINGULAR:
                words[index] = SINGULAR[word]
                break
        noun = " ".join(words)
    return f"{num(count)} {noun}"


def force_phrase(name: str | None) -> str:
    """"North Wales" → "North Wales Police"; names that already say police are kept."""
    return _force_name(name) if name else "Police"


def periods_held(periods: tuple[str, ...]) -> str:
    """A compact list of held periods: "Dec 2021, Dec 2022 … Jun 2025" or a range."""
    if len(periods) <= 6:
        return ", ".join(short(p) for p in periods)
    return f"{short(periods[0])} to {short(periods[-1])} ({len(periods)} periods)"


def _years(ends: tuple[str, ...]) -> str:
    years = [int(e[:4]) for e in ends]
    runs: list[tuple[int, int]] = []
    for year in years:
        if runs and runs[-1][1] == year - 1:
            runs[-1] = (runs[-1][0], year)
        else:
            runs.append((year, year))
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)


def headline(f: Finding) -> str:
    assert f.area is not None and f.count is not None and f.period_end is not None
    area, noun, when = f.area, f.offence_noun, period_label(f.period_end)
    what = counted(f.count, noun)
    central = recorded_by(f)
    if central:
        text = f"{central} recorded {what} in England and Wales in {when}"
    elif area.kind == "england_and_wales":
        text = f"Police in England and Wales recorded {what} in {when}"
    elif area.kind in {"region", "country"}:
        text = f"Police in {region_phrase(area.name)} recorded {what} in {when}"
    elif area.kind == "pfa" or area.code == "x-british-transport-police":
        text = f"{force_phrase(area.name)} recorded {what} in {when}"
    else:
        text = f"{force_phrase(f.force_name)} recorded {what} in {display(area.name)} in {when}"
    text += ", ONS figures show."
    q = f.qualified
    if f.flag == "partial" and q is not None and q.excluded:
        text = text[:-1] + (f"; the {display(area.name)} total excludes "
                            f"{and_list([display(n) for n in q.excluded])}, so it is not the "
                            f"whole of {region_phrase(display(area.name))}, and no change, record "
                            "or rate is "
                            "given for it. ONS: " + q.excluded_why.strip())
        text += "" if text.endswith(".") else "."
    elif f.flag == "partial":
        text += (" This total is incomplete: a force supplied no data for part of the period "
                 "(see the note below), so it is not comparable with other periods and no "
                 "change, record or rate is given.")
    if f.flag == "derived":
        text += (" This total is the sum of its ONS offence groups: the series does not print "
                 "it for this period.")
    return text


def qualification_sentences(f: Finding) -> list[str]:
    """ONS's own qualifications that stop a comparison, for the lead: one short clause of why,
    from the note itself."""
    q = f.qualified
    if q is None or f.period_end is None:
        return []
    out: list[str] = []
    if q.faulty:
        out.append("ONS says this figure is an undercount (“" + _quote(q.faulty[0]) + "”), so "
                   "no change or record is given from it.")
    if q.broken is not None:
        out.append(f"ONS says figures from {period_label(q.broken.starts)} on are not "
                   "directly comparable with earlier ones, so no change or record is given "
                   f"across that point (ONS: {_quote(q.broken.reason)}).")
    if q.old_method and f.flag == "old_method":
        out.append("This figure is on ONS's older method: a newer edition revised the series "
                   f"({_quote(q.old_method)}) but does not cover this period, so it is not "
                   "compared with figures on the new method.")
    elif q.method_differs and f.previous_end:
        out.append(f"The figure for {period_label(f.previous_end)} is on ONS's older method "
                   f"({_quote(q.old_method)}), so no change is given from it.")
    if q.faulty_previous and f.previous_end:
        out.append(f"ONS says the figure for {period_label(f.previous_end)} is an undercount, "
                   "so no change is given from it.")
    return out


def comparison_block(q: Qualified) -> str:
    """Why two figures of one area are not set side by side as a change, from ONS's notes."""
    if q.broken is not None:
        return (f"ONS says figures from {period_label(q.broken.starts)} on are not directly "
                f"comparable with earlier ones (ONS: {_quote(q.broken.reason)})")
    if q.faulty:
        return f"ONS says one of the figures is an undercount (ONS: {_quote(q.faulty[0])})"
    return f"the two figures are on different ONS methods (ONS: {_quote(q.old_method)})"


def _quote(note: str) -> str:
    """A note as a clause inside a sentence: no trailing full stop or stray spaces."""
    return re.sub(r"\s+", " ", note).strip().rstrip(".")


def recorded_by(f: Finding) -> str:
    """"Action Fraud, CIFAS and UK Finance": the central bodies that held the series by the
    figure's period ("" before they began, when police forces recorded it)."""
    assert f.period_end is not None
    return joined([name for name, first in f.recorders if first <= f.period_end])


def change_sentence(change: Change, *, lead: str = "That is") -> str:
    """A change always names both figures and both periods, so it never reads as a
    contradiction of a figure stated elsewhere."""
    earlier = f"{num(change.earlier_count)} in {period_label(change.earlier_end)}"
    later = f"{num(change.later_count)} in {period_label(change.later_end)}"
    diff = change.later_count - change.earlier_count
    if diff == 0:
        return f"{lead} unchanged: {later}, as against {earlier}."
    direction = "up" if diff > 0 else "down"
    if change.pct is None:
        return (f"{lead} {direction} {num(abs(diff))}, from {earlier} to {later} (small "
                "numbers, so no percentage is given).")
    word = "a rise" if diff > 0 else "a fall"
    return f"{lead} {direction} from {earlier} to {later}, {word} of {pct(change.pct)}."


def previous_sentence(f: Finding) -> str:
    assert f.previous_end is not None
    before = period_label(f.previous_end)
    if f.previous_state == "held" and f.change is not None:
        return change_sentence(f.change)
    if f.previous_state == "boundary":
        return f"No change is given: {f.boundary}."
    if f.previous_state == "not_published":
        return f"The figure for {before} was not published (not available), so no change is " \
               "given."
    if f.previous_state in {"incomplete", "qualified"}:
        return ""
    if f.previous_state == "partial":
        return f"The figure for {before} is incomplete, so no change is given."
    if f.previous_state == "small_or_negative":
        return (f"The year before, {before}, the published count was "
                f"{num(f.previous_count or 0)}; no percentage change is given for counts this "
                "small or negative.")
    text = f"No figure for {before} is held, so there is no year-on-year comparison."
    if f.like_for_like is not None:
        change = f.like_for_like
        text += (f" The latest like-for-like change held is for {period_label(change.later_end)}: "
                 + change_sentence(change, lead="it was"))
    return text


def record_sentence(record: Record, count: int, period_end: str) -> str:
    """Series context for one window; gaps inside the span are named, never jumped silently."""
    name = window(period_end)
    if record.since_end is None:
        text = (f"It is the {record.kind} of the {record.held} {name} held, "
                f"{record.first_end[:4]}–{period_end[:4]}")
    else:
        text = (f"It is the {record.kind} for a year to {name.split(' to ')[1]} "
                f"since {period_label(record.since_end)} ({num(record.since_count or 0)}); "
                f"the {name} held start in {record.first_end[:4]}")
    if record.missing:
        verb = "is" if len(record.missing) == 1 else "are"
        text += f"; {_years(record.missing)} {verb} not held"
    return text + "."


def rate_sentence(f: Finding) -> str:
    if f.rate is None:
        if not f.rate_missing or f.area is None:
            return ""
        return f"No rate per 1,000 residents is given: {f.rate_missing}."
    text = f"That is {rate_text(f.rate)} per 1,000 residents ({f.rate_basis})"
    if f.national_rate is not None and f.national is not None:
        mine, theirs = rate_text(f.rate), rate_text(f.national_rate[0])
        relation = ("in line with" if mine == theirs else
                    "above" if f.rate > f.national_rate[0] else "below")
        when = "" if f.national.period_end == f.period_end else \
            f" for {period_label(f.national.period_end)}"
        text += (f", {relation} the England and Wales rate of {theirs}{when} "
                 f"({f.national_rate[1]})")
    return text + "."


def wider_sentence(f: Finding) -> str:
    parts: list[str] = []
    if f.force_total is not None and f.area is not None and f.area.force_code:
        name = force_phrase(f.force_name)
        if f.force_total.count is not None:
            parts.append(f"{name} as a whole recorded {num(f.force_total.count)}")
        else:
            parts.append(f"the figure for {name} as a whole was not published for this period")
    if f.national is not None and f.national.count is not None:
        if f.national.period_end == f.period_end:
            parts.append(f"England and Wales recorded {num(f.national.count)}")
        else:
            parts.append(f"no England and Wales figure for this period is held (nearest: "
                         f"{num(f.national.count)} in {period_label(f.national.period_end)})")
    return f"In the same period, {'; '.join(parts)}." if parts else ""


def provenance_line(edition: EditionRow) -> str:
    """Where the store's copy of an edition came from, for `crimebot history`: the release
    date ONS gave and when and from which URL this deployment fetched it (or that it shipped)."""
    released = (f"released {date.fromisoformat(edition.released):%-d %B %Y}"
                if edition.released else "release date not recorded")
    if edition.fetched_at:
        return f"{released}; fetched {edition.fetched_at} from {edition.source_url}"
    if edition.source_url:
        return f"{released}; shipped with crimebot, from the ONS page {edition.source_url}"
    return f"{released}; read from a local file, where it was fetched is not recorded"


def figure_paragraphs(f: Finding) -> list[Paragraph]:
    assert f.count is not None and f.period_end is not None
    # Every assumption, the period chosen included, comes before the figure it qualifies.
    paragraphs = [Paragraph(LEAD, " ".join([headline(f), *qualification_sentences(f)]),
                            assumed=(*f.lead, *f.after))]
    change = previous_sentence(f)
    if change:
        paragraphs.append(Paragraph(CHANGE, change))
    if f.record is not None:
        paragraphs.append(Paragraph(CONTEXT, record_sentence(f.record, f.count, f.period_end)))
    for role, sentence in ((RATE, rate_sentence(f)), (CONTEXT, wider_sentence(f))):
        if sentence:
            paragraphs.append(Paragraph(role, sentence))
    paragraphs.extend(Paragraph(CAVEAT, note) for note in f.notes)
    if f.revised:
        paragraphs.append(Paragraph(CONTEXT, "ONS has revised this figure since it was first "
                                    "published: " + "; ".join(
            f"{edition_name(edition, key)} printed "
            + (num(count) if count is not None else "no figure")
            for edition, key, count in f.revised) + "."))
    paragraphs.append(Paragraph(CAVEAT, " ".join(f.caveats), label="Caveat:"))
    paragraphs.append(Paragraph(SOURCE, source_line(f.edition)))
    return paragraphs


def not_held_text(f: Finding) -> str:
    assert f.area is not None
    name, noun = display(f.area.name), f.offence_noun
    if f.kind == "not_held":
        text = f"No {noun} figures are held for {name}."
        if f.held_offences:
            text += " Figures held there include: " + ", ".join(
                k.replace("_", " ") for k in f.held_offences) + "."
        return " ".join([*f.lead, text])
    if f.period_end:
        text = (f"ONS published no {noun} figure for {name} for {period_label(f.period_end)} "
                "(marked as not available).")
    elif f.unreadable:
        text = f"I couldn't read “{f.said}” as a year, so I haven't guessed one."
    else:
        text = f"No {(f.offence_label or noun).lower()} figures for {name} for “{f.said}”."
    text = " ".join([*f.lead, text, *f.notes])
    before, after = f.nearest
    near = [f"{period_label(before)} (before it)" if before else "",
            f"{period_label(after)} (after it)" if after else ""]
    near = [n for n in near if n]
    if near:
        text += (" The nearest period held is " if len(near) == 1 else
                 " The nearest periods held are ") + " and ".join(near) + "."
    text += f" Periods held: {periods_held(f.held)}."
    if f.whole:
        text += (f" For {period_label(f.whole[1])} ONS printed {display(f.whole[0])} as a whole, "
                 f"not {name} on its own; ask for {display(f.whole[0])} to get it.")
    if f.split:
        text += (" For that period the figures held are split: "
                 + "; ".join(f"{label.lower()}: {num(count)}" for label, count in f.split) + ".")
    return text


def and_list(names: tuple[str, ...] | list[str]) -> str:
    """"A, B and C"; "A, and B and C" when a name holds "and" itself."""
    if len(names) == 1:
        return names[0]
    comma = "," if any(" and " in n for n in names) else ""
    return f"{', '.join(names[:-1])}{comma} and {names[-1]}"


def districts_sentence(d: Districts) -> str:
    """"From the year to December 2023 ONS prints Buckinghamshire as its former districts:
    Aylesbury Vale, Chiltern, South Bucks and Wycombe." A row shared with another council is
    named with the part of the council it holds."""
    when = f"From {period_label(d.since)} " if d.since else ""
    text = f"{when}ONS prints {display(d.council)} as its former districts: {and_list(d.rows)}"
    for part, row in d.shared:
        text += (f", with {part} counted in {display(row)}" if part else
                 f", with part of it counted in {display(row)}")
        text += " (a row that also covers another council area)"
    return text + "."


def districts_text(f: Finding) -> str:
    """A question back: the council's own figures stop where the newer tables print its
    districts. Offers the rows (buttons) and says why they are not added up."""
    d = f.districts
    assert d is not None and f.area is not None
    name, what = display(d.council), (f.offence_label or f.offence_noun).lower()
    rows = [districts_sentence(d)]
    if f.period_end is None and d.last_own and d.latest:
        rows.insert(0, f"ONS's latest {what} figure for {name} as a whole is for "
                       f"{period_label(d.last_own)}; newer figures, up to "
                       f"{period_label(d.latest)}, exist only for its districts.")
    elif d.last_own:
        rows.append(f"It publishes no {what} figure for {name} as a whole after "
                    f"{period_label(d.last_own)}.")
    rows.append("Adding the districts up would not be an ONS figure, so I haven't.")
    if f.period_end:
        rows.append(f"Which one do you want for {period_label(f.period_end)}?")
    else:
        rows.append("Which one do you want?")
        if d.last_own:
            rows.append(f"For {name} as a whole, ask for {d.last_own[:4]} or earlier.")
    return " ".join([*f.lead, *rows])


def comparison_paragraphs(f: Finding) -> list[Paragraph]:
    lines = [f"{display(p.area.name if p.area else '')}, {period_label(p.period_end or '')}: "
             f"{num(p.count or 0)}" for p in f.parts]
    summary = "Side by side (" + (f.offence_label or "").lower() + "):\n" + "\n".join(lines)
    codes = {p.area.code for p in f.parts if p.area}
    if len(codes) == 1 and len(f.parts) >= 2:
        first, last = f.parts[0], f.parts[-1]
        if f.boundary:
            summary += f"\nNo change is given: {f.boundary}."
        elif any(p.flag == "partial" for p in f.parts):
            summary += "\nNo change is given: one of these totals is incomplete."
        elif f.qualified is not None and f.qualified.blocks_change:
            summary += "\nNo change is given: " + comparison_block(f.qualified) + "."
        elif first.count and last.count is not None and first.period_end and last.period_end:
            diff = last.count - first.count
            when = (f"from {period_label(first.period_end)} to "
                    f"{period_label(last.period_end)}")
            if diff == 0:
                summary += f"\nChange {when}: unchanged."
            elif first.count > 0 and min(first.count, last.count) >= 50:
                summary += f"\nChange {when}: {change_words(100 * diff / first.count)}."
            else:
                summary += f"\nChange {when}: {'up' if diff > 0 else 'down'} {num(abs(diff))}."
    # What was assumed for any part opens the reply, before the side-by-side figures.
    assumed = " ".join(dict.fromkeys(a for p in f.parts for a in p.assumptions))
    opening = [Paragraph(ASSUMPTION, assumed)] if assumed else []
    return [*opening, Paragraph(COMPARISON, summary),
            *(paragraph for p in f.parts for paragraph in paragraphs(p))]


def text(f: Finding) -> str:
    """The reply as plain text, paragraphs split by blank lines."""
    return joined_text(paragraphs(f))


def paragraphs(f: Finding) -> tuple[Paragraph, ...]:
    """The reply's paragraphs, each with its role, in the reporting guide's order."""
    if f.kind == "comparison":
        return tuple(comparison_paragraphs(f))
    if f.kind == "figure":
        return tuple(figure_paragraphs(f))
    return (Paragraph(LEAD, short_text(f)),)


def short_text(f: Finding) -> str:
    """The one-paragraph replies: nothing found, a question back, a figure not held."""
    if f.kind == "nothing":
        return "I couldn't find a place or an offence in that. " + HELP
    if f.kind == "no_place":
        return "Which area? Name a council area, a police force or “England and Wales”. " + HELP
    if f.kind == "unknown_offence":
        said = f" “{f.said}”" if f.said else ""
        out = f"I don't know the offence{said}, so I haven't guessed."
        if f.candidates:
            out += " Did you mean: " + "; ".join(c.label.lower() for c in f.candidates) + "?"
        return out + " Or ask for “all crime”. " + HELP
    if f.kind == "unknown_place":
        out = f"I couldn't find a place called “{f.said}”."
        if f.candidates:
            return out + " Did you mean: " + "; ".join(c.label for c in f.candidates) + "?"
        return out + " " + HELP
    if f.kind == "districts":
        return districts_text(f)
    if f.kind == "ask_place" and f.districts is not None:
        return (f"{districts_sentence(f.districts)} ONS publishes no figure for "
                f"{display(f.districts.council)} as a whole. Which one do you want? "
                + "; ".join(c.label for c in f.candidates) + ".")
    if f.kind == "ask_place":
        return (f"“{f.said}” could mean more than one area. Which one did you mean? "
                + "; ".join(c.label for c in f.candidates) + ".")
    return not_held_text(f)


def matched_json(f: Finding) -> dict:
    return {part: dict(items) for part, items in f.matched}
