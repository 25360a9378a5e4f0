"""Appendix tables of Crime in England and Wales: national counts (A4) and rates (A7)."""

from __future__ import annotations

from bot.offences import key_for_label
from bot.places import ENGLAND_AND_WALES, NATIONAL_NAME
from bot.readers.common import (
    ExtraOffence,
    Observation,
    a1,
    count_of,
    find_header,
    label_key,
    number,
    period_from_span,
    plain_name,
    slug,
    text,
)


def appendix_a4(
    rows: list[list[object]], header_at: int
) -> tuple[list[Observation], list[ExtraOffence]]:
    """England and Wales counts by offence from appendix table A4, with its offence tree.

    Code rows sit above the subtotal they belong to, and subtotals above their "TOTAL" row, so
    parents are assigned as the table is read top to bottom.
    """
    header = rows[header_at]
    periods = {i: p for i, cell in enumerate(header) if (p := period_from_span(text(cell)))
               and "%" not in text(cell)}
    observations: list[Observation] = []
    offences: list[ExtraOffence] = []
    pending_codes: list[int] = []
    pending_groups: list[int] = []
    seen: set[str] = set()
    for at, row in enumerate(rows[header_at + 1:], start=header_at + 1):
        code, label = text(row[0]), plain_name(row[1]) if len(row) > 1 else ""
        if not label:
            continue
        if not any(number(cell) is not None for cell in row[2:]):
            continue
        is_total = label.upper().startswith("TOTAL")
        known = key_for_label(label)
        if known and not code and known not in seen:
            key = known
        else:
            key = slug(f"{code} {label}" if code else label)
            while key in seen:
                key += "-x"
        seen.add(key)
        offences.append(ExtraOffence(key, label[0] + label[1:], None, code or None))
        index = len(offences) - 1
        if code:
            pending_codes.append(index)
        else:
            children = pending_codes + (pending_groups if is_total else [])
            for child in children:
                offences[child] = ExtraOffence(offences[child].key, offences[child].label, key,
                                               offences[child].ons_code)
            pending_codes = []
            pending_groups = [] if is_total else [*pending_groups, index]
        for column, period_end in periods.items():
            value = row[column] if column < len(row) else None
            if count_of(value) is None and number(value) is None and text(value) == "":
                continue
            observations.append(Observation(
                level="table", code=ENGLAND_AND_WALES, name=NATIONAL_NAME, force_code="",
                force_name="", la_code="", la_name="", offence=key, period_end=period_end,
                count=count_of(value), cell=a1(at, column),
                row_label=text(row[1]),
                column_label=text(header[column]),
            ))
    return observations, offences


def appendix_rates(rows: list[list[object]]) -> list[Observation]:
    """England and Wales rates per 1,000 population by offence group (appendix table A7)."""
    header_at = find_header(rows, "offence group")
    if header_at is None:
        return []
    periods = {i: p for i, cell in enumerate(rows[header_at])
               if "%" not in text(cell) and (p := period_from_span(text(cell)))}
    out: list[Observation] = []
    seen: set[str] = set()
    for at, row in enumerate(rows[header_at + 1:], start=header_at + 1):
        key = label_key(row[0]) if row else None
        if key is None or key in seen:
            continue
        seen.add(key)
        for column, period_end in periods.items():
            value = number(row[column] if column < len(row) else None)
            if value is not None:
                out.append(Observation(
                    level="table", code=ENGLAND_AND_WALES, name=NATIONAL_NAME, force_code="",
                    force_name="", la_code="", la_name="", offence=key, period_end=period_end,
                    count=None, rate=value, rate_basis="ONS published rate, appendix tables",
                    cell=a1(at, column), row_label=text(row[0]),
                    column_label=text(rows[header_at][column])))
    return out


# --- whole files --------------------------------------------------------------------------


