"""Police force area tables "Table P…", every edition since 2018 (old and new layouts)."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.places import ENGLAND, ENGLAND_AND_WALES, WALES
from bot.readers.common import (
    ExtraOffence,
    Note,
    Observation,
    UnreadableFile,
    a1,
    clean_label,
    count_of,
    find_header,
    footnoted,
    label_key,
    number,
    period_from_span,
    period_from_title,
    printed_label,
    text,
)
from bot.readers.notes import table_notes


def area_table(
    rows: list[list[object]], header_at: int, period_end: str, columns: dict[int, str], *,
    rates: dict[int, str] | None = None, basis: str | None = None,
    partial: frozenset[str] = frozenset(),
) -> list[Observation]:
    """Observations from a table keyed by "Area Code, Area Name" (force tables P1, P3, P5 …).

    `rates` columns give published rates (with `basis`); codes in `partial` are totals that
    lack a force, flagged so they are never read as the whole.
    """
    out: list[Observation] = []
    printed = {index: printed_label(rows, header_at, index) for index in [*columns, *(rates or {})]}
    for at, row in enumerate(rows[header_at + 1:], start=header_at + 1):
        code = text(row[0])
        name = footnoted(row[1])[0] if len(row) > 1 else ""
        if not name or not (code or name.lower().startswith("british transport")):
            continue
        flag = "partial" if code in partial else None
        for index, key in columns.items():
            out.append(Observation(
                level="table", code=code, name=name, force_code=code, force_name=name,
                la_code="", la_name="", offence=key, period_end=period_end,
                count=count_of(row[index] if index < len(row) else None), flag=flag,
                cell=a1(at, index), row_label=text(row[1]), column_label=printed[index],
            ))
        for index, key in (rates or {}).items():
            value = number(row[index] if index < len(row) else None)
            if value is not None:
                out.append(Observation(
                    level="table", code=code, name=name, force_code=code, force_name=name,
                    la_code="", la_name="", offence=key, period_end=period_end, count=None,
                    rate=value, rate_basis=basis, flag=flag,
                    cell=a1(at, index), row_label=text(row[1]), column_label=printed[index],
                ))
    return out


def group_columns(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """Offence columns of a force table, including a group printed one row above the header.

    In the 2018–2019 force tables "Total recorded crime" sits above the offence groups, its
    own header cell left empty.
    """
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    columns: dict[int, str] = {}
    for index in range(max(len(header), len(above))):
        cell = header[index] if index < len(header) else ""
        if not text(cell) and index < len(above):
            cell = above[index]
        label = clean_label(footnoted(cell)[0])
        if "per 1,000 household" in label or label.startswith(("population", "household")):
            continue
        key = ("residential_burglary"
               if label.startswith("residential burglary (per 1,000 population)")
               else label_key(cell))
        if key and key not in columns.values():
            columns[index] = key
    return columns


def partial_totals(rows: list[list[object]], header_at: int, columns: dict[int, str]
                   ) -> frozenset[str]:
    """Codes of the totals that lack a force: a force row with no figure at all.

    December 2019: Greater Manchester supplied nothing, so the England and Wales, England and
    North West rows add up the other forces only.
    """
    partial: set[str] = set()
    region = ""
    for row in rows[header_at + 1:]:
        code = text(row[0])
        if code[:3] in {"E12", "W92"}:
            region = code
        if code[:3] in {"E23", "W15"} and columns and all(
            number(row[i] if i < len(row) else None) is None for i in columns
        ):
            partial |= {ENGLAND_AND_WALES, ENGLAND if code.startswith("E") else WALES}
            if region:
                partial.add(region)
    return frozenset(partial)


def series_columns(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """Column → period end for a series table: spans in the header row or the row above it.

    Only count columns: never "% involving a knife" or a "% change" column.
    """
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    spans: dict[int, str] = {}
    group = ""
    for index, cell in enumerate(header):
        label = text(cell)
        group = text(above[index]) if index < len(above) and text(above[index]) else group
        if "%" in label or "rate" in label.lower() or "%" in group or "change" in group.lower():
            continue
        period = period_from_span(label)
        if period is None and index < len(above) and label.lower().startswith("number"):
            period = period_from_span(text(above[index]))
        if period:
            spans[index] = period
    return spans


def knife_table(rows: list[list[object]], header_at: int, title: str) -> list[Observation]:
    """Knife crime by force: either one period (named in the title) or a series by period."""
    spans = series_columns(rows, header_at)
    if spans:
        out: list[Observation] = []
        for column, period_end in spans.items():
            out += area_table(rows, header_at, period_end, {column: "knife"},
                              partial=partial_totals(rows, header_at, {column: "knife"}))
        return out
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    subtitle = text(rows[1][0]) if len(rows) > 1 and rows[1] else ""
    period = period_from_title(subtitle) or period_from_title(title)
    first = clean_label(header[2]) if len(header) > 2 else ""
    over = clean_label(above[2]) if len(above) > 2 else ""
    if not period or not (first.startswith("total of selected serious")
                          or (over.startswith("total of selected serious")
                              and first.startswith("number"))):
        return []
    return area_table(rows, header_at, period, {2: "knife"},
                      partial=partial_totals(rows, header_at, {2: "knife"}))


def knife_rates(rows: list[list[object]], header_at: int) -> list[Observation]:
    """Published knife crime rates, per 100,000 population in the tables, converted exactly to
    the per 1,000 every answer uses (a rate ONS publishes is never recomputed)."""
    heading = " ".join(text(cell) for row in rows[:header_at + 2] for cell in row).lower()
    per = 100_000 if "100,000" in heading else 1_000
    out: list[Observation] = []
    for column, period_end in series_columns(rows, header_at).items():
        partial = partial_totals(rows, header_at, {column: "knife"})
        out += [replace(o, rate=o.rate * 1_000 / per) for o in area_table(
            rows, header_at, period_end, {}, rates={column: "knife"},
            basis=f"ONS published rate per {per:,} population, shown per 1,000",
            partial=partial) if o.rate is not None]
    return out


FIREARMS = ExtraOffence(
    "firearms", "Offences involving firearms (excluding conventional air weapons)", None, None)


def firearms_table(rows: list[list[object]], header_at: int) -> list[Observation]:
    out: list[Observation] = []
    for column, period_end in series_columns(rows, header_at).items():
        out += area_table(rows, header_at, period_end, {column: FIREARMS.key})
    return out



def force_table(
    rows: list[list[object]], where: str
) -> tuple[str, list[Observation], list[Note]] | None:
    """One "Table P…" sheet of the force tables, any edition since 2018; None if not ours.

    Returns the kind read ("counts", "rates", "knife", "firearms"), the observations and the
    notes its footnotes attach to rows or columns.
    """
    title = text(rows[0][0]) if rows and rows[0] else ""
    lowered = title.lower()
    header_at = find_header(rows, "area code", "area name")
    if header_at is None:
        return None
    period = period_from_title(title)
    if "knife" in lowered and "rate" not in lowered:
        return "knife", knife_table(rows, header_at, title), []
    if "knife" in lowered:
        return "rates", knife_rates(rows, header_at), []
    if "firearm" in lowered and "number of" in lowered:
        return "firearms", firearms_table(rows, header_at), []
    if "offence group" not in lowered or not period:
        return None
    header = [text(cell) for cell in rows[header_at]]
    if "rate of offences" in lowered or "rate per 1,000" in lowered:
        columns = group_columns(rows, header_at)
        population = next((c for c in header if c.lower().startswith("population")), "")
        year = re.search(r"mid-(\d{4})", population)
        basis = (f"ONS published rate, mid-{year.group(1)} population" if year
                 else "ONS published rate")
        observations = area_table(rows, header_at, period, {}, rates=columns, basis=basis)
        kind = "rates"
    elif "number of offences" in lowered:
        columns = group_columns(rows, header_at)
        if "sexual" not in columns.values():
            raise UnreadableFile(f"{where}: no offence columns found in the header row")
        partial = partial_totals(rows, header_at, columns)
        observations = area_table(rows, header_at, period, columns, partial=partial)
        kind = "counts"
    else:
        return None
    return kind, observations, table_notes(rows, header_at, columns, period)



def flag_partial_rates(observations: list[Observation]) -> list[Observation]:
    """A rate printed for a partial total is partial too (the rate table cannot tell)."""
    partial = {(o.code, o.period_end) for o in observations if o.flag == "partial"}
    return [replace(o, flag="partial") if o.rate is not None and (o.code, o.period_end) in partial
            else o for o in observations]


