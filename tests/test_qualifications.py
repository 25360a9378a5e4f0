"""ONS's notes as printed → breaks, method changes, exclusions and undercounts.

The notes are read from the shipped ONS files, so these tests check the classifier against the
wording ONS really uses; the scoping (areas, offences, start period) is checked on the store the
session builds from the same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.qualifications import breaks_in, kind_of, method_changes, starts_of
from bot.readers import FileContents, read_file
from bot.store import Store


@pytest.fixture(scope="module")
def december_2024(sources: Path) -> FileContents:
    found = read_file(sources / "policeforceareatablesyedecember2024.xlsx")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def december_2019(sources: Path) -> FileContents:
    found = read_file(sources / "pfatablesdec19.xlsx")
    assert found is not None
    return found


def note(contents: FileContents, table: str, number: int) -> str:
    return next(n.text for n in contents.note_texts if table in n.tables and n.number == number)


def test_each_kind_of_note_is_read_from_ons_wording(december_2024, december_2019):
    assert kind_of(note(december_2024, "P6", 4)) == "break"  # the Met's April 2024 review
    assert kind_of(note(december_2024, "P6", 8)) == "break"  # Greater Manchester, Dec 2017
    assert kind_of(note(december_2024, "P6", 10)) == "break"  # forces not comparable prior to
    assert kind_of(note(december_2024, "P6", 2)) == "method"  # NDQIS
    assert kind_of(note(december_2024, "P6", 3)) == "revision"
    assert kind_of(note(december_2024, "P1", 4)) == "undercount"  # Leicestershire's burglary
    assert kind_of(note(december_2019, "P5", 6)) == "exclusion"  # GMP supplied no data
    assert kind_of(note(december_2024, "P1", 3)) == ""  # "Includes British Transport Police."


def test_a_break_starts_at_the_first_period_on_the_new_basis():
    assert starts_of("reviewed their recording from April 2024 onwards") == "2024-04-30"
    assert starts_of("not comparable prior to the year ending March 2018") == "2018-03-31"
    assert starts_of("reviewed their recording in December 2017. Previous data have not been "
                     "revised") == "2018-01-31"
    assert starts_of("Most forces improved recording over the years.") is None


def test_breaks_are_scoped_to_the_forces_named_and_the_tables_offence(december_2024, store):
    places = {a.name: a.code for a in store.areas() if a.kind == "pfa"}
    found = {(b.area, b.offence, b.starts) for b in breaks_in(
        december_2024.edition.key, december_2024.note_texts, december_2024.markers,
        december_2024.table_offences, places)}
    assert ("E23000001", "knife", "2024-04-30") in found  # Metropolitan Police
    assert ("E23000005", "knife", "2018-01-31") in found  # Greater Manchester
    assert ("E23000028", "knife", "2018-03-31") in found  # Essex, one line of note 10
    assert ("E23000033", "knife", "2015-03-31") in found  # Sussex, another line
    assert {offence for _, offence, _ in found} == {"knife"}
    assert not any(area is None for area, _, _ in found)  # note 9 names a sub-category only


def test_a_method_change_exempts_the_forces_the_note_says_did_not_move(december_2024, store):
    places = {a.name: a.code for a in store.areas() if a.kind == "pfa"}
    [change] = method_changes(december_2024.edition.key, december_2024.note_texts,
                              december_2024.table_offences, places)
    assert change.offence == "knife" and "E23000037" in change.exempt  # Gloucestershire


def test_older_editions_knife_figures_the_newer_method_did_not_replace_are_flagged(
        store: Store):
    flags = {f.period_end: f.flag for f in store.series("E23000001", "knife")}
    assert flags["2019-12-31"] == "old_method"  # only the December 2019 edition holds it
    assert flags["2020-03-31"] is None  # the December 2024 edition revised it
    assert {f.flag for f in store.series("E23000037", "knife")} <= {None, "partial"}


def test_knife_totals_that_leave_greater_manchester_out_are_partial(store: Store):
    for code in ("K04000001", "E92000001", "E12000002"):
        figure = store.figure(code, "knife", "2019-12-31")
        assert figure is not None and figure.flag == "partial"


def test_published_knife_rates_per_100000_are_held_per_1000(store: Store):
    figure = store.figure("K04000001", "knife", "2024-12-31")
    assert figure is not None and figure.rate == pytest.approx(89.7005092143458 / 100)
    assert "per 100,000" in (figure.rate_basis or "")


def test_the_store_lists_what_it_holds_for_crimebot_notes(store: Store):
    from bot.qualifications import notes_listing

    lines = notes_listing(store, ["Leicestershire", "burglary"])
    assert lines and all("undercount" in line for line in lines)
    met = notes_listing(store, ["Metropolitan"])
    assert any(line.startswith("break · knife · Metropolitan Police") for line in met)
    assert notes_listing(store, ["no-such-word"]) == []
