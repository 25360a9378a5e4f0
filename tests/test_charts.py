"""Charts a graphics desk could publish, tested on the data behind them (not pixels): one line
per 12-month window, no line across what is not held or across a break, periods named as ONS
names them, the answer's own figures highlighted, the editions actually plotted as the source.
One rendered image per kind is checked to open and have the expected size."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from bot.answer import Engine
from bot.charts import (
    DERIVED_NOTE,
    DPI,
    HEIGHT_IN,
    INCOMPLETE_NOTE,
    WIDTH_IN,
    ChartData,
    ChartError,
    Line,
    chart_data,
    render_chart,
    runs,
    ticks,
)
from bot.store import Break, Store
from bot.wording import edition_name
from tests.conftest import TODAY

KENT, DORSET_CSP, NATIONAL = "E23000032", "E22000367", "K04000001"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
QUESTIONS = ("burglary Kent police", "burglary Kent police 2012", "sexual offences Wrexham 2022",
             "violent crime Bedford", "all crime England and Wales", "burglary North West 2019",
             "burglary North West", "shoplifting Manchester 2024", "theft Cambridge 2024",
             "sexual offences Wrexham", "robbery Greater Manchester police 2019")


def chart(engine: Engine, question: str) -> ChartData:
    return chart_data(engine.store, engine.finding(question))


def every_line(data: ChartData) -> list[Line]:
    return [line for panel in data.panels for line in panel.lines]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- lines: windows, gaps, breaks -----------------------------------------------------------


def test_kent_burglary_stops_at_years_not_held_and_labels_them(engine):
    data = chart(engine, "burglary Kent police")
    counts = data.panels[0]
    june = counts.lines[0]
    assert june.highlighted and june.name == "Kent, years to June" and june.month == 6
    assert [(g.after, g.before, g.label) for g in june.gaps] == [
        ("2018-06-30", "2025-06-30", "2019–2024 not held")]
    assert june.segments[-1][0].period_end == "2025-06-30"
    december = next(line for line in counts.lines if line.month == 12)
    assert [g.label for g in december.gaps] == ["2020 not held"]
    assert not december.highlighted


def test_no_line_joins_two_windows_or_skips_a_year(engine):
    for question in QUESTIONS:
        data = chart(engine, question)
        for line in every_line(data):
            for segment in line.segments:
                days = [date.fromisoformat(p.period_end) for p in segment]
                assert {d.month for d in days} == {line.month}, (question, line.name)
                assert all(b.year - a.year == 1 for a, b in pairwise(days)), \
                    (question, line.name)


def test_every_force_burglary_chart_keeps_one_window_per_line(engine):
    forces = [a.code for a in engine.store.areas() if a.kind == "pfa" and a.offered]
    assert len(forces) >= 40
    for code in forces:
        finding = engine.finding_for(code, "burglary", None)
        assert finding is not None
        data = chart_data(engine.store, finding)
        asked = data.panels[0].lines[0]
        assert asked.highlighted and asked.month == int(finding.period_end[5:7])
        for line in every_line(data):
            points = [*line.points(), *line.incomplete]
            assert {int(p.period_end[5:7]) for p in points} == {line.month}
            for gap in line.gaps:
                assert re.fullmatch(r"\d{4}(–\d{4})? (not held|not published|incomplete)"
                                    r"(; \d{4}(–\d{4})? (not held|not published|incomplete))*",
                                    gap.label)


def test_gap_labels_name_runs_of_years_and_why():
    assert runs([(2020, "not held"), (2021, "not held"), (2022, "not published")]) == \
        "2020–2021 not held; 2022 not published"
    assert runs([(2019, "incomplete")]) == "2019 incomplete"


def test_an_incomplete_total_is_marked_never_joined_and_the_gap_after_it_labelled(engine):
    data = chart(engine, "burglary North West 2019")
    assert data.highlight.flag == "partial" and data.highlight.text == \
        "YE Dec 2019: 27,948 (incomplete)"
    december = data.panels[0].lines[0]
    assert [p.period_end for p in december.incomplete] == ["2019-12-31"]
    assert "2019-12-31" not in {p.period_end for p in december.points()}
    assert [(g.after, g.label) for g in december.gaps] == [("2019-12-31", "2020–2022 not held")]
    assert INCOMPLETE_NOTE in data.notes
    assert all(not line.incomplete for panel in data.panels[1:] for line in panel.lines), \
        "an incomplete total has no rate or index"
    assert "excludes Greater Manchester" in data.caption


def test_derived_totals_are_marked_and_said(engine):
    data = chart(engine, "burglary Kent police 2012")
    assert data.highlight.label == "YE Dec 2012" and data.highlight.flag == "derived"
    assert data.highlight.text == "YE Dec 2012: 12,836 (sum of groups)"
    assert DERIVED_NOTE in data.notes
    assert "sum of its ONS offence groups" in data.caption


@pytest.fixture(scope="module")
def broken(db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The real store plus two breaks as ingest will write them from ONS notes: one for Kent's
    burglary, one for every area's robbery (area NULL)."""
    path = tmp_path_factory.mktemp("breaks") / "crime.db"
    shutil.copy(db_path, path)
    with sqlite3.connect(path) as conn:
        conn.executemany("insert into breaks values (?, ?, ?, ?, ?)", [
            (KENT, "burglary", "2022-12-31", "Kent Police changed how it records burglary",
             "pfa-2024-12-31"),
            (None, "robbery", "2023-12-31", "forces moved to a new recording system",
             "pfa-2024-12-31")])
    conn.close()
    return Engine(Store(path), TODAY)


def test_the_store_gives_an_areas_breaks_and_those_for_every_area(broken):
    assert broken.store.breaks(KENT, "burglary") == [Break(
        KENT, "burglary", "2022-12-31", "Kent Police changed how it records burglary",
        "pfa-2024-12-31")]
    assert [b.starts for b in broken.store.breaks("E23000005", "robbery")] == ["2023-12-31"]
    assert broken.store.breaks("E23000005", "burglary") == []


def test_no_line_crosses_a_break_and_the_break_says_why(broken):
    data = chart(broken, "burglary Kent police")
    marks = data.panels[0].breaks
    assert [(b.starts, b.label, b.reason) for b in marks] == [
        ("2022-12-31", "ONS: not comparable before YE Dec 2022",
         "Kent Police changed how it records burglary")]
    december = next(line for line in data.panels[0].lines if line.month == 12)
    for segment in december.segments:
        sides = {p.period_end >= "2022-12-31" for p in segment}
        assert len(sides) == 1, "a segment joins figures either side of the break"
    assert [s[0].period_end for s in december.segments][-1] == "2022-12-31"
    assert "ONS: not comparable before YE Dec 2022: Kent Police changed how it records " \
        "burglary." in data.notes, "the reason is printed under the chart"


def test_a_break_for_every_area_splits_the_national_line_too(broken):
    data = chart(broken, "robbery Greater Manchester police 2024")
    for panel in data.panels:
        assert {b.starts for b in panel.breaks} == {"2023-12-31"}
        for line in panel.lines:
            for segment in line.segments:
                assert len({p.period_end >= "2023-12-31" for p in segment}) == 1, line.name


def test_the_dorset_boundary_change_is_a_break_as_in_the_text(engine):
    finding = engine.finding_for(DORSET_CSP, "burglary", None)
    assert finding is not None
    data = chart_data(engine.store, finding)
    (mark,) = data.panels[0].breaks
    assert mark.starts == "2023-12-31" and "Christchurch" in mark.reason
    for line in data.panels[0].lines:
        for segment in line.segments:
            assert len({p.period_end >= "2023-12-31" for p in segment}) == 1


# --- labels, highlight, source ------------------------------------------------------------


def test_periods_are_named_as_ons_names_them_never_the_month_after(engine):
    for question in QUESTIONS:
        data = chart(engine, question)
        for line in every_line(data):
            for point in (*line.points(), *line.incomplete):
                month = MONTHS[int(point.period_end[5:7]) - 1]
                assert point.label == f"YE {month} {point.period_end[:4]}"
        end = data.highlight.period_end
        assert data.highlight.label == f"YE {MONTHS[int(end[5:7]) - 1]} {end[:4]}"
    kent = chart(engine, "burglary Kent police")
    assert kent.highlight.text == "YE Jun 2025: 5,355"
    assert ticks(kent.panels[0], kent.highlight)[-1].label == "YE Jun 2025"


def test_the_source_names_the_editions_plotted_without_note_markers(engine):
    data = chart(engine, "burglary Kent police")
    plotted = {p.edition for line in every_line(data) for p in (*line.points(), *line.incomplete)}
    assert set(data.editions) == {edition_name(engine.store.edition(k), k) for k in plotted}
    assert "[note" not in data.source and "Table C2" not in data.source
    assert data.source.startswith("Source: ONS / Home Office police recorded crime — ")
    assert "Police force area data tables, years ending March 2018," in data.source
    assert "June 2025" in data.source
    wrexham = chart(engine, "sexual offences Wrexham 2022")
    assert "Community Safety Partnership area, year ending December 2022" in wrexham.source
    assert "Recorded crime data at Police Force Area level" not in wrexham.source


def test_the_caption_is_the_headline_figure_and_period(engine):
    data = chart(engine, "sexual offences Wrexham 2022")
    assert data.caption == ("North Wales Police recorded 536 sexual offences in Wrexham in the "
                            "year to December 2022, ONS figures show.")
    assert data.subtitle == "Police recorded crime, 12-month totals, YE Dec 2021 to YE Jun 2025"


def test_a_question_without_one_figure_is_a_chart_error(engine):
    for question in ("violent crime Newcastle", "burglary Atlantis", "burglary Leeds 2015"):
        with pytest.raises(ChartError):
            chart(engine, question)


# --- chart and text agree -------------------------------------------------------------------


def point_at(lines: list[Line], area: str, period_end: str):
    return next((p for line in lines if line.area == area
                 for p in (*line.points(), *line.incomplete) if p.period_end == period_end), None)


def test_the_chart_plots_the_figures_the_answer_gives(engine):
    checked = {"previous": 0, "rate": 0, "national_rate": 0, "index": 0}
    for question in QUESTIONS:
        answer = engine.ask(question).to_json()
        data = chart(engine, question)
        code, end = answer["area"]["code"], answer["period"]["end"]
        counts, *compare = data.panels
        assert (data.highlight.period_end, data.highlight.count) == (end, answer["count"])
        assert point_at(list(counts.lines), code, end).count == answer["count"], question
        if answer["previous"] and answer["previous"]["count"] is not None:
            previous = answer["previous"]
            assert point_at(list(counts.lines), code, previous["end"]).count == \
                previous["count"] == data.highlight.previous_count, question
            checked["previous"] += 1
        national = answer["national"]
        if national:
            assert (data.highlight.national_end, data.highlight.national_count) == \
                (national["end"], national["count"]), question
            if compare and compare[0].kind == "rates":
                assert point_at(list(compare[0].lines), NATIONAL, national["end"]).count == \
                    national["count"], question
        if answer["rate_per_1000"] is not None and compare:
            assert compare[0].kind == "rates"
            assert point_at(list(compare[0].lines), code, end).value == \
                answer["rate_per_1000"], question
            checked["rate"] += 1
            if national and national["rate_per_1000"] is not None:
                assert point_at(list(compare[0].lines), NATIONAL, national["end"]).value == \
                    national["rate_per_1000"] == data.highlight.national_rate
                checked["national_rate"] += 1
        elif compare:
            assert compare[0].kind == "index"
            checked["index"] += 1
    assert all(checked.values()), checked


def test_crimebot_chart_json_matches_crimebot_ask_json(db_path):
    env = {"CRIMEBOT_DB": str(db_path), "PATH": "/usr/bin:/bin"}
    asked = json.loads(subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "sexual offences Wrexham 2022"],
        capture_output=True, text=True, env=env, check=True, timeout=120).stdout)
    charted = json.loads(subprocess.run(
        [sys.executable, "-m", "bot", "chart", "--json", "sexual offences Wrexham 2022"],
        capture_output=True, text=True, env=env, check=True, timeout=120).stdout)
    highlight = charted["highlight"]
    assert highlight["count"] == asked["count"] == 536
    assert (highlight["previous_end"], highlight["previous_count"]) == \
        (asked["previous"]["end"], asked["previous"]["count"])
    assert highlight["rate"] == asked["rate_per_1000"]
    assert (highlight["national_count"], highlight["national_rate"]) == \
        (asked["national"]["count"], asked["national"]["rate_per_1000"])
    assert [p["kind"] for p in charted["panels"]] == ["counts", "rates"]
    first = charted["panels"][0]["lines"][0]
    assert set(first) >= {"name", "segments", "gaps", "incomplete"}


# --- the drawing and the CLI ---------------------------------------------------------------


@pytest.mark.parametrize(("question", "panels"), [
    ("all crime England and Wales", ("counts",)),
    ("sexual offences Wrexham 2022", ("counts", "rates")),
    ("burglary North West 2019", ("counts", "index")),
])
def test_each_kind_of_chart_renders_a_png_of_the_expected_size(engine, question, panels):
    data = chart(engine, question)
    assert tuple(p.kind for p in data.panels) == panels
    png = render_chart(data)
    assert png_size(png) == (round(WIDTH_IN * DPI), round(HEIGHT_IN[len(panels)] * DPI))
    assert render_chart(data) is png, "the same data is drawn once"


def test_a_chart_renders_as_svg(engine):
    svg = render_chart(chart(engine, "burglary Kent police"), "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">YE Jun 2025: 5,355</text>" in svg, "text stays text for a desk to restyle"


def test_crimebot_chart_writes_png_and_svg(db_path, tmp_path):
    env = {"CRIMEBOT_DB": str(db_path), "PATH": "/usr/bin:/bin"}
    for name in ("kent.png", "kent.svg"):
        target = tmp_path / name
        result = subprocess.run([sys.executable, "-m", "bot", "chart", "burglary Kent police",
                                 "-o", str(target)], capture_output=True, text=True, env=env,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Kent Police recorded 5,355 burglaries in the year to June 2025" in result.stderr
    assert png_size((tmp_path / "kent.png").read_bytes()) == (round(WIDTH_IN * DPI),
                                                             round(HEIGHT_IN[2] * DPI))
    assert b"<svg" in (tmp_path / "kent.svg").read_bytes()


def test_crimebot_chart_answers_a_question_it_cannot_chart(db_path, tmp_path):
    env = {"CRIMEBOT_DB": str(db_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot", "chart", "violent crime Newcastle",
                             "-o", str(tmp_path / "x.png")], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 1 and "Which one did you mean?" in result.stdout
    assert not (tmp_path / "x.png").exists() and "Traceback" not in result.stderr


def test_answering_text_never_imports_the_charts_or_matplotlib(tiny_db):
    code = ("import sys\nfrom bot.answer import open_engine\nimport bot.telegram\n"
            f"open_engine({str(tiny_db)!r}).ask('sexual offences Wrexham 2022')\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
            "assert 'bot.charts' not in sys.modules, 'bot.charts imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_older_method_knife_figures_are_marked_and_never_joined_to_the_new_method(engine):
    data = chart(engine, "knife crime Kent police 2024")
    points = [p for line in every_line(data) for s in line.segments for p in s]
    assert any(p.flag == "old_method" for p in points), "Kent holds pre-NDQIS knife figures"
    for line in every_line(data):
        for segment in line.segments:
            assert len({p.flag == "old_method" for p in segment}) == 1, segment
    assert any("older method" in note for note in data.notes)
