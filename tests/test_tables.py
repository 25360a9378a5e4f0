"""Readers take every ONS layout by content: small hand-built tables, then the real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from bot.readers import read_file
from bot.readers.common import footnoted, period_from_span, period_from_title, title_for_period
from bot.readers.force import force_table
from bot.readers.notes import note_periods
from bot.readers.series import derived_totals, placeholders

# --- small tables built here ------------------------------------------------------------------


@pytest.mark.parametrize(("label", "expected"), [
    ("ENGLAND AND WALES7,8", ("ENGLAND AND WALES", (7, 8))),
    ("Residential burglary6,7", ("Residential burglary", (6, 7))),
    ("Total recorded crime (excluding fraud4)", ("Total recorded crime (excluding fraud)", (4,))),
    ("Stalking and harassment 5", ("Stalking and harassment", (5,))),
    ("Leicestershire [note 4] ", ("Leicestershire", ())),
    ("London, City of", ("London, City of", ())),
])
def test_footnote_digits_are_taken_off_labels(label, expected):
    assert footnoted(label) == expected


def test_two_digit_years_glued_to_footnotes_are_read():
    assert period_from_title("number of offences, year ending March 181,2,3") == "2018-03-31"
    assert period_from_title("year ending December 20191,2") == "2019-12-31"
    assert period_from_span("Apr '17 to Mar '18") == "2018-03-31"
    assert period_from_span("Jan 2024 to\n Dec 2024") == "2024-12-31"


def test_a_cover_title_that_disagrees_with_the_tables_follows_the_tables():
    title = "Crime in England and Wales, Appendix tables - year ending September 2023"
    assert title_for_period(title, "2022-09-30").endswith("year ending September 2022")
    assert title_for_period(title, "2023-09-30") == title


def old_p1(manchester: list[object]) -> list[list[object]]:
    """A 2019-style Table P1: the total one row above the groups, footnote digits, footnotes."""
    return [
        ["Table P1: Police recorded crime by offence group and police force area, number of "
         "offences, year ending December 20191,2", "", "", "", ""],
        ["", "", "", "", ""],
        ["England and Wales (excluding Greater Manchester Police)", "", "", "", ""],
        ["", "", "Total recorded crime (excluding fraud3)", "", ""],
        ["Area Code", "Area Name", "", "Violence against the person4", "Sexual offences"],
        ["", "", "Numbers", "", ""],
        ["K04000001", "ENGLAND AND WALES7,8", 1000.0, 400.0, 50.0],
        ["E92000001", "ENGLAND8", 900.0, 350.0, 45.0],
        ["E12000002", "North West8", 300.0, 100.0, 12.0],
        ["E23000005", "Greater Manchester8,9", *manchester],
        ["E23000006", "Cheshire", 300.0, 100.0, 12.0],
        ["W92000004", "WALES", 100.0, 50.0, 5.0],
        ["W15000004", "Dyfed-Powys4", 100.0, 50.0, 5.0],
        ["Source: Home Office", "", "", "", ""],
        ["4. Due to a technical issue there is an undercount of Dyfed-Powys violence against "
         "the person offences.", "", "", "", ""],
        ["8. Greater Manchester Police have been unable to supply data for the period July to "
         "December 2019.", "", "", "", ""],
    ]


def test_old_force_counts_keep_the_total_above_the_header_and_drop_footnote_digits():
    kind, found, _ = force_table(old_p1(["..", "..", ".."]), "test")
    assert kind == "counts"
    by = {(o.code, o.offence): o for o in found}
    assert by["E23000006", "all_crime"].count == 300
    assert by["W15000004", "violence"].count == 50
    assert by["W15000004", "violence"].name == "Dyfed-Powys"


def test_totals_lacking_a_force_are_flagged_partial_and_the_missing_force_is_null():
    _, found, _ = force_table(old_p1(["..", "..", ".."]), "test")
    flags = {o.code: o.flag for o in found if o.offence == "sexual"}
    assert flags["K04000001"] == flags["E92000001"] == flags["E12000002"] == "partial"
    assert flags["E23000006"] is None and flags["W92000004"] is None
    assert next(o for o in found if o.code == "E23000005").count is None


def test_complete_tables_have_no_partial_totals():
    _, found, _ = force_table(old_p1([200.0, 80.0, 9.0]), "test")
    assert not any(o.flag for o in found)


def test_footnotes_that_qualify_figures_become_scoped_notes():
    _, _, notes = force_table(old_p1(["..", "..", ".."]), "test")
    dyfed = [n for n in notes if n.area_code == "W15000004"]
    assert [(n.offence, n.period_from, n.period_to) for n in dyfed] == [
        ("violence", "2019-12-31", "2019-12-31")]
    gmp = {n.area_code for n in notes if "Greater Manchester" in n.text}
    assert gmp == {"K04000001", "E92000001", "E12000002", "E23000005"}


def test_a_gap_of_months_touches_every_year_that_contains_them():
    assert note_periods("unable to supply data for October 2022 to December 2022",
                        "2022-12-31") == ("2022-10-31", "2023-11-30")
    assert note_periods("undercount for November to December 2024", "2024-12-31") == (
        "2024-11-30", "2025-11-30")
    assert note_periods("no months named here", "2018-03-31") == ("2018-03-31", "2018-03-31")


def series(values: dict[str, int | None], period: str = "2016-03-31", force: str = "Kent"
           ) -> dict[tuple[str, str, str], int | None]:
    return {(force, key, period): value for key, value in values.items()}


COMPLETE = {"homicide": 1, "death_driving": 1, "violence_with_injury": 10,
            "violence_without_injury": 20, "stalking_harassment": 5, "sexual": 7, "robbery": 3,
            "domestic_burglary": 4, "non_domestic_burglary": 6, "vehicle": 8,
            "theft_person": 2, "bicycle": 2, "shoplifting": 9, "other_theft": 11,
            "criminal_damage": 12, "drugs": 4, "weapons": 1, "public_order": 6, "misc": 2}


def test_group_totals_are_derived_from_complete_components():
    derived = derived_totals(series(COMPLETE))
    assert derived["Kent", "violence", "2016-03-31"] == 37
    assert derived["Kent", "burglary", "2016-03-31"] == 10
    assert derived["Kent", "theft", "2016-03-31"] == 42
    assert derived["Kent", "all_crime", "2016-03-31"] == 37 + 7 + 3 + 42 + 12 + 4 + 1 + 6 + 2


def test_an_incomplete_component_gives_no_total():
    derived = derived_totals(series({**COMPLETE, "bicycle": None}))
    assert ("Kent", "theft", "2016-03-31") not in derived
    assert ("Kent", "all_crime", "2016-03-31") not in derived
    assert derived["Kent", "violence", "2016-03-31"] == 37


def test_unused_categories_and_part_year_burglary_are_placeholders():
    counts = {**series({"residential_burglary": 0, "domestic_burglary": 5}, "2016-03-31"),
              **series({"residential_burglary": 0, "domestic_burglary": 7}, "2016-03-31", "Essex"),
              **series({"residential_burglary": 300, "domestic_burglary": 200}, "2017-09-30"),
              **series({"residential_burglary": 800, "domestic_burglary": 0}, "2018-03-31")}
    assert placeholders(counts) == {
        ("Kent", "residential_burglary", "2016-03-31"),
        ("Essex", "residential_burglary", "2016-03-31"),
        ("Kent", "residential_burglary", "2017-09-30"),
        ("Kent", "domestic_burglary", "2017-09-30"),
        ("Kent", "domestic_burglary", "2018-03-31"),
    }


# --- the real files ---------------------------------------------------------------------------

TITLES = {
    "appendixtablesyejune2025.xlsx":
        ("appendix-2025-06-30", "Crime in England and Wales, Appendix tables - year ending June "
         "2025", "2025-10-23"),
    "ons_source_crime_data.xlsx":
        ("appendix-2022-09-30", "Crime in England and Wales, Appendix tables - year ending "
         "September 2022", "2023-01-26"),
    "policeforceareatablesyearendingmarch2018v2.xlsx":
        ("pfa-2018-03-31", "Crime in England & Wales, year ending March 2018 - PFA tables", None),
    "policeforceareatablesyearendingsep18corrected.xlsx":
        ("pfa-2018-09-30", "Crime in England & Wales, year ending September 2018 - PFA tables "
         "(corrected, published 6 February 2019)", "2019-02-06"),
    "policeforceareatablesyeendingmarch2019.xlsx":
        ("pfa-2019-03-31", "Crime in England & Wales, year ending March 2019 - PFA tables", None),
    "pfatablesdec19.xlsx":
        ("pfa-2019-12-31", "Crime in England and Wales, year ending December 2019 - PFA tables",
         None),
    "policeforceareatablesyedecember2024.xlsx":
        ("pfa-2024-12-31", "Police force area data tables - year ending December 2024", None),
    "ons_csp_recorded_crime_ye_dec2022.xlsx":
        ("csp-2022-12-31", "Crime in England & Wales, year ending December 2022 - Community "
         "Safety Partnership tables", "2023-04-27"),
}


@pytest.mark.parametrize("name", sorted(TITLES))
def test_every_crime_workbook_is_recognised_and_titled_from_its_own_sheets(sources, name):
    contents = read_file(sources / name)
    assert contents is not None
    key, title, published = TITLES[name]
    assert (contents.edition.key, contents.edition.title, contents.edition.published) == (
        key, title, published)


def test_every_file_in_the_folder_but_the_provenance_note_is_read(built, sources):
    _, report = built
    held = {p.name for p in sources.iterdir() if p.is_file()}
    assert set(report.skipped) == {"SOURCES.md"}
    assert set(report.files) == held - {"SOURCES.md"}


def sheet(path: Path, name: str) -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path))
    real = next(s for s in book.sheet_names if s.strip() == name)
    return book.get_sheet_by_name(real).to_python(skip_empty_area=False)


def test_june_2025_appendix_revision_wins_and_the_old_value_is_kept(store):
    assert store.figure("K04000001", "sexual", "2022-03-31").count == 193357
    assert store.revisions("K04000001", "sexual", "2022-03-31") == [
        ("appendix-2022-09-30", 193566), ("appendix-2025-06-30", 193357)]


def test_a_force_figure_from_table_p1_of_march_2019(store, sources):
    rows = sheet(sources / "policeforceareatablesyeendingmarch2019.xlsx", "Table P1")
    header = next(i for i, r in enumerate(rows) if r[0] == "Area Code")
    column = next(i for i, c in enumerate(rows[header]) if str(c).startswith("Sexual offences"))
    kent = next(r for r in rows if r[0] == "E23000032")
    assert store.figure("E23000032", "sexual", "2019-03-31").count == int(kent[column])
    assert store.figure("E23000032", "sexual", "2019-03-31").edition == "pfa-2019-03-31"


def test_total_recorded_crime_above_the_header_is_read_from_march_2018(store, sources):
    rows = sheet(sources / "policeforceareatablesyearendingmarch2018v2.xlsx", "Table P1")
    above = next(i for i, r in enumerate(rows) if str(r[2]).startswith("Total recorded crime"))
    column = 2
    cleveland = next(r for r in rows[above:] if r[0] == "E23000013")
    assert store.figure("E23000013", "all_crime", "2018-03-31").count == int(cleveland[column])


def test_published_force_rates_carry_their_population_year(store):
    figure = store.figure("E23000032", "sexual", "2019-03-31")
    assert figure.rate is not None and figure.rate_basis.endswith("mid-2017 population")


def test_december_2019_england_and_wales_is_partial_never_plain(db_path):
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        flags = dict(conn.execute(
            "select area, flag from figures where offence = 'all_crime' "
            "and period_end = '2019-12-31' and area in ('K04000001', 'E12000002', 'E23000006')"))
    assert flags == {"K04000001": "partial", "E12000002": "partial", "E23000006": None}


def test_notes_from_the_files_qualify_the_figures_they_touch(store):
    assert any("Greater Manchester" in n for n in store.notes_for(
        "K04000001", "sexual", "2019-12-31"))
    assert any("Devon and Cornwall" in n for n in store.notes_for(
        "E23000035", "all_crime", "2022-12-31"))
    assert any("Leicestershire" in n for n in store.notes_for(
        "E23000021", "residential_burglary", "2024-12-31"))
    assert any("North Wales" in n for n in store.notes_for("W15000001", "sexual", "2018-03-31"))
    assert store.notes_for("E23000021", "sexual", "2024-12-31") == []
    assert store.notes_for("E23000035", "all_crime", "2021-12-31") == []


def test_a_csp_gets_the_notes_of_its_force(store):
    leicester = next(a.code for a in store.areas() if a.name == "Leicester" and a.kind == "csp")
    assert any("Leicestershire" in n for n in store.notes_for(leicester, "burglary",
                                                               "2024-12-31"))


def long_series(sources: Path) -> dict[tuple[str, str, str], int]:
    with (sources / "rec-crime-pfa.csv").open(encoding="utf-8-sig") as handle:
        return {(r["PFA"].strip(), r["Offence"].strip(), r["12 months ending"].strip()):
                int(r["Rolling year total number of offences"].replace(",", ""))
                for r in csv.DictReader(handle)}


def test_long_series_totals_are_derived_and_labelled(store, sources):
    raw = long_series(sources)
    parts = ["Homicide", "Death or serious injury caused by illegal driving",
             "Violence with injury", "Violence without injury", "Stalking and harassment"]
    expected = sum(raw["Kent", part, "31-12-2015"] for part in parts)
    figure = store.figure("E23000032", "violence", "2015-12-31")
    assert figure.count == expected
    import sqlite3

    with sqlite3.connect(store.path) as conn:
        flag = conn.execute("select flag from figures where area = 'E23000032' and offence = "
                            "'violence' and period_end = '2015-12-31'").fetchone()[0]
    assert flag == "derived"


def test_long_series_placeholders_are_not_held(store, sources):
    raw = long_series(sources)
    assert raw["Kent", "Residential burglary", "31-12-2016"] == 0
    assert store.figure("E23000032", "residential_burglary", "2016-12-31") is None
    assert raw["Kent", "Domestic burglary", "31-03-2018"] == 0
    assert store.figure("E23000032", "domestic_burglary", "2018-03-31") is None
    assert store.figure("E23000032", "residential_burglary", "2017-09-30") is None
    assert store.figure("E23000032", "residential_burglary", "2018-06-30").count == raw[
        "Kent", "Residential burglary", "30-06-2018"]


def test_a_published_total_beats_a_derived_one(store):
    assert store.figure("E23000032", "all_crime", "2018-03-31").edition == "pfa-2018-03-31"


def test_latest_period_is_kept_in_meta(store):
    assert store.latest_period() == "2025-06-30"


def test_a_file_no_reader_recognises_says_what_was_looked_for(sources, tmp_path):
    from bot.ingest import build, summary

    odd = tmp_path / "notes.csv"
    odd.write_text("Area,Value\nKent,1\n", encoding="utf-8")
    report = build([odd, sources / "pfatablesdec19.xlsx"], tmp_path / "x.db")
    assert report.skipped == ["notes.csv"]
    text = summary(report, tmp_path / "x.db")
    assert "notes.csv: looked for" in text and "12 months ending, PFA, Offence" in text


def test_derived_totals_equal_what_the_force_tables_published(store, sources):
    series = read_file(sources / "rec-crime-pfa.csv")
    derived = {(o.offence, o.period_end): o.count for o in series.observations
               if o.flag == "derived" and o.name == "Kent"}
    for offence in ("all_crime", "violence", "theft", "burglary"):
        for period in ("2018-03-31", "2018-09-30"):
            published = store.figure("E23000032", offence, period)
            assert published.edition.startswith("pfa-2018")
            assert derived[offence, period] == published.count, (offence, period)


def test_each_shipped_file_is_recognised_by_exactly_one_reader(sources):
    from bot.readers import READERS, load

    for path in sorted(sources.iterdir()):
        loaded = load(path)
        if loaded is None:
            continue
        form, grid = loaded
        matched = [r.looks_for for r in READERS if form in r.formats and r.recognises(grid)]
        assert len(matched) == 1, (path.name, matched)
