"""Wording rules on hand-built Findings: no store, no ONS files, milliseconds each."""

from __future__ import annotations

from dataclasses import replace

from bot import wording
from bot.finding import Change, Choice, Districts, Finding, Qualified, Record
from bot.store import AreaRow, Break, EditionRow, FigureRow

WREXHAM = AreaRow("W14000006", "Wrexham", "csp", "W15000001", True)
KENT = AreaRow("E23000032", "Kent", "pfa", "E23000032", True)
CSP_EDITION = EditionRow("csp-2022-12-31", "CSP tables", "Recorded crime data by Community "
                         "Safety Partnership area", "2022-12-31", "2023-04-27")


def figure(**changes: object) -> Finding:
    base = Finding(
        "ok", "figure", area=WREXHAM, force_name="North Wales", offence_key="sexual",
        offence_label="Sexual offences", offence_noun="sexual offences",
        period_end="2022-12-31", count=536, previous_end="2021-12-31", previous_count=461,
        previous_state="held", change=Change("2021-12-31", 461, "2022-12-31", 536, 16.3),
        caveats=("Sexual caveat.", "General caveat."), edition=CSP_EDITION)
    return replace(base, **changes)


def test_the_headline_names_force_place_and_period():
    assert wording.text(figure()).startswith(
        "North Wales Police recorded 536 sexual offences in Wrexham in the year to December "
        "2022, ONS figures show.\n\nThat is up from 461 in the year to December 2021 to 536 in "
        "the year to December 2022, a rise of 16%.")


def test_assumptions_open_the_first_paragraph_so_they_cannot_be_missed():
    text = wording.text(figure(lead=("Taking ‘wrexhm’ as Wrexham.",)))
    assert text.startswith("Taking ‘wrexhm’ as Wrexham. North Wales Police recorded 536")


def test_small_counts_give_the_absolute_change():
    small = figure(count=12, change=Change("2021-12-31", 9, "2022-12-31", 12, None))
    assert "That is up 3, from 9 in the year to December 2021 to 12 in the year to December " \
        "2022 (small numbers, so no percentage is given)." in wording.text(small)


def test_a_missing_year_before_gives_the_latest_like_for_like_change():
    text = wording.text(figure(
        period_end="2025-06-30", previous_end="2024-06-30", previous_state="not_held",
        change=None, like_for_like=Change("2023-12-31", 450, "2024-12-31", 478, 6.2)))
    assert "No figure for the year to June 2024 is held" in text
    assert ("The latest like-for-like change held is for the year to December 2024: it was up "
            "from 450 in the year to December 2023 to 478 in the year to December 2024, a rise "
            "of 6%.") in text


def test_a_boundary_change_gives_no_change():
    text = wording.text(figure(previous_state="boundary", change=None,
                               boundary="Dorset took in Christchurch"))
    assert "No change is given: Dorset took in Christchurch." in text
    assert "a rise of" not in text


def test_a_record_names_its_window_and_its_gaps():
    record = Record("highest", "2016-12-31", 900, "2008-12-31", 14, ("2019-12-31", "2020-12-31"))
    sentence = wording.record_sentence(record, 1000, "2024-12-31")
    assert sentence == ("It is the highest for a year to December since the year to December "
                        "2016 (900); the years to December held start in 2008; 2019–2020 are "
                        "not held.")
    whole = Record("lowest", None, None, "2021-12-31", 4, ())
    assert wording.record_sentence(whole, 5, "2024-12-31") == (
        "It is the lowest of the 4 years to December held, 2021–2024.")


def test_no_rate_says_why():
    text = wording.text(figure(rate_missing="no population estimate is held for the area"))
    assert "No rate per 1,000 residents is given: no population estimate is held for the area." \
        in text


def test_a_rate_is_set_against_the_national_rate_with_both_bases():
    national = FigureRow("2022-12-31", 200000, None, None, "x", None)
    text = wording.text(figure(rate=4.0, rate_basis="ONS published rate, mid-2021 population",
                               national=national,
                               national_rate=(3.3, "computed from the mid-2022 population")))
    assert ("That is 4.0 per 1,000 residents (ONS published rate, mid-2021 population), above "
            "the England and Wales rate of 3.3 (computed from the mid-2022 population).") in text


def test_a_derived_total_is_labelled_as_the_sum_of_its_groups():
    text = wording.text(figure(area=KENT, flag="derived"))
    assert "This total is the sum of its ONS offence groups" in text.split("\n\n")[0]


def test_sources_never_show_note_markers_and_use_the_period_not_the_cover():
    appendix = EditionRow("appendix-2022-09-30", "Appendix tables - year ending September 2023",
                          "Crime in England and Wales: Appendix tables [note 1]", "2022-09-30",
                          "2023-01-26")
    line = wording.source_line(appendix)
    assert line == ("Source: ONS / Home Office police recorded crime — Crime in England and "
                    "Wales: Appendix tables, edition year ending September 2022, published 26 "
                    "January 2023.")
    assert wording.edition_name(appendix) == (
        "Crime in England and Wales: Appendix tables, year ending September 2022")


def test_the_long_series_is_named_for_what_it_is():
    series = EditionRow("pfa-series-2018-12-31", "Recorded crime data at Police Force Area level",
                        "Recorded crime data at Police Force Area level", "2018-12-31", None)
    assert "open data series of rolling 12-month totals by police force area, which ends with " \
        "the year to December 2018" in wording.source_line(series)


def test_an_unknown_offence_lists_choices_and_guesses_nothing():
    unknown = Finding("not_found", "unknown_offence", said="gun crime", candidates=(
        Choice("E22000345", "Possession of firearms with intent", "offence",
               offence_key="10a-possession-of-firearms-with-intent"),))
    assert wording.text(unknown).startswith(
        "I don't know the offence “gun crime”, so I haven't guessed. Did you mean: possession "
        "of firearms with intent?")


def test_a_period_not_held_names_the_nearest_either_side():
    gap = Finding("no_data", "period_not_held", said="2015", area=WREXHAM,
                  offence_noun="burglaries", offence_label="Burglary",
                  held=("2011-12-31", "2021-12-31"), nearest=("2011-12-31", "2021-12-31"))
    assert ("The nearest periods held are the year to December 2011 (before it) and the year to "
            "December 2021 (after it).") in wording.text(gap)


def test_a_junk_year_is_said_to_be_unreadable():
    junk = Finding("no_data", "period_not_held", said="20222", area=WREXHAM, unreadable=True,
                   offence_noun="burglaries", held=("2021-12-31",))
    assert wording.text(junk).startswith("I couldn't read “20222” as a year")


def test_a_comparison_runs_from_earlier_to_later():
    early = figure(period_end="2021-12-31", count=461)
    late = figure()
    both = Finding("ok", "comparison", offence_label="Sexual offences", parts=(early, late))
    assert ("Change from the year to December 2021 to the year to December 2022: up 16%."
            in wording.text(both))


def test_a_revised_figure_names_what_earlier_editions_printed():
    text = wording.text(figure(revised=((CSP_EDITION, CSP_EDITION.key, 530),)))
    assert ("ONS has revised this figure since it was first published: Recorded crime data by "
            "Community Safety Partnership area, year ending December 2022 printed 530.") in text


BCP = AreaRow("E06000058", "Bournemouth, Christchurch and Poole", "csp", "E23000039", True)


def test_a_council_printed_as_its_districts_is_a_question_back_not_a_sum():
    districts = Districts("Bournemouth, Christchurch and Poole", ("Bournemouth", "Poole"),
                          (("Christchurch", "Dorset"),), since="2023-12-31",
                          last_own="2022-12-31", latest="2025-06-30")
    asked = Finding("ambiguous", "districts", area=BCP, offence_key="burglary",
                    offence_label="Burglary", offence_noun="burglaries",
                    period_end="2024-12-31", districts=districts)
    assert wording.text(asked) == (
        "From the year to December 2023 ONS prints Bournemouth, Christchurch and Poole as its "
        "former districts: Bournemouth and Poole, with Christchurch counted in Dorset (a row "
        "that also covers another council area). It publishes no burglary figure for "
        "Bournemouth, Christchurch and Poole as a whole after the year to December 2022. "
        "Adding the districts up would not be an ONS figure, so I haven't. Which one do you "
        "want for the year to December 2024?")
    latest = wording.text(replace(asked, period_end=None))
    assert latest.startswith(
        "ONS's latest burglary figure for Bournemouth, Christchurch and Poole as a whole is for "
        "the year to December 2022; newer figures, up to the year to June 2025, exist only for "
        "its districts.")
    assert latest.endswith("For Bournemouth, Christchurch and Poole as a whole, ask for 2022 or "
                           "earlier.")


def test_a_district_name_holding_and_keeps_the_list_readable():
    assert wording.and_list(["Northampton", "Daventry and South Northamptonshire"]) == \
        "Northampton, and Daventry and South Northamptonshire"
    assert wording.and_list(["A", "B", "C"]) == "A, B and C"


def test_every_change_names_both_figures_and_both_periods():
    down = wording.change_sentence(Change("2023-12-31", 22_088, "2024-12-31", 20_512, -7.135))
    assert down == ("That is down from 22,088 in the year to December 2023 to 20,512 in the "
                    "year to December 2024, a fall of 7%.")
    same = wording.change_sentence(Change("2023-12-31", 90, "2024-12-31", 90, 0.0))
    assert "90 in the year to December 2024" in same and "the year to December 2023" in same


def test_a_rate_is_rounded_once_when_written():
    """3.2535 → "3.3" and 10.2509 → "10.3": never 3.25 → 3.2 on the way."""
    for published, shown in ((3.2535, "3.3"), (10.2509, "10.3")):
        text = wording.text(figure(rate=published, rate_basis="ONS published rate"))
        assert f"That is {shown} per 1,000 residents" in text


def test_a_percentage_is_rounded_once_when_written():
    text = wording.text(figure(change=Change("2021-12-31", 2500, "2022-12-31", 2524, 0.96)))
    assert "a rise of 1%" in text
    text = wording.text(figure(change=Change("2021-12-31", 2500, "2022-12-31", 2511, 0.44)))
    assert "a rise of 0.4%" in text
    text = wording.text(figure(change=Change("2021-12-31", 400, "2022-12-31", 466, 16.49)))
    assert "a rise of 16%" in text


MET = AreaRow("E23000001", "Metropolitan Police", "pfa", "E23000001", True)
REVIEW = Break("E23000001", "knife", "2024-04-30", "The Metropolitan Police Service have "
               "reviewed their recording of knife or sharp instrument offences from April 2024 "
               "onwards", "pfa-2024-12-31")


def test_a_break_is_stated_in_the_lead_with_one_clause_of_why_and_no_change():
    text = wording.text(figure(
        area=MET, force_name=None, offence_noun="knife offences", previous_state="qualified",
        change=None, qualified=Qualified(broken=REVIEW)))
    lead = text.split("\n\n")[0]
    assert ("ONS says figures from the year to April 2024 on are not directly comparable with "
            "earlier ones, so no change or record is given across that point (ONS: The "
            "Metropolitan Police Service have reviewed their recording") in lead
    assert "up from" not in text and "rise" not in text


def test_an_undercount_and_a_partial_total_are_stated_in_the_lead():
    faulty = wording.text(figure(previous_state="qualified", change=None, qualified=Qualified(
        faulty=("There is an undercount for this force's figures.",))))
    assert "ONS says this figure is an undercount (“There is an undercount for this force's " \
        "figures”), so no change or record is given from it." in faulty.split("\n\n")[0]
    region = AreaRow("E12000002", "North West", "region", None, True)
    partial = wording.text(figure(
        area=region, flag="partial", previous_state="incomplete", change=None,
        qualified=Qualified(excluded=("Greater Manchester",),
                            excluded_why="Greater Manchester Police were unable to supply "
                                         "data.")))
    assert ("the North West total excludes Greater Manchester, so it is not the whole of the "
            "North West, and no change, record or rate is given for it. ONS: Greater Manchester "
            "Police were unable to supply data.") in partial.split("\n\n")[0]


def test_each_paragraph_says_what_it_is_and_the_text_is_them_joined():
    found = figure(lead=("Taking ‘wrexhm’ as Wrexham.",), rate=2.4, rate_basis="ONS's rate",
                   notes=("ONS: a note on this figure.",))
    paragraphs = wording.paragraphs(found)
    assert [p.role for p in paragraphs] == [
        "lead", "change", "rate", "caveat", "caveat", "source"]
    lead, *_, caveat, source = paragraphs
    assert lead.assumed == ("Taking ‘wrexhm’ as Wrexham.",)
    assert lead.body.startswith("North Wales Police recorded 536 sexual offences in Wrexham")
    assert (caveat.label, caveat.body) == ("Caveat:", "Sexual caveat. General caveat.")
    assert source.text.startswith("Source: ONS / Home Office police recorded crime")
    assert wording.text(found) == "\n\n".join(p.text for p in paragraphs)


def test_a_comparison_opens_with_what_it_assumed_then_the_side_by_side():
    first = figure(period_end="2021-12-31", count=461, after=("Kent is taken as the force.",))
    both = Finding("ok", "comparison", area=WREXHAM, offence_label="Sexual offences",
                   parts=(first, figure()))
    roles = [p.role for p in wording.paragraphs(both)]
    assert roles[:3] == ["assumption", "comparison", "lead"]
    assert wording.text(both).startswith("Kent is taken as the force.\n\nSide by side")
