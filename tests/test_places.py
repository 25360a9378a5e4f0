"""Places: one display rule and one name key, whichever surface names the area."""

from __future__ import annotations

from bot.answer import Answer
from bot.parts import CAVEAT, LEAD, SOURCE, Paragraph, joined_text
from bot.places import display, display_name, name_key
from bot.story import build_story


def test_ons_inverted_names_read_in_order_and_a_city_is_never_its_region():
    assert display("Bristol, City of") == "City of Bristol"
    assert display("London, City of") == "City of London"
    assert display("Herefordshire, County of") == "County of Herefordshire"
    assert display("Leeds") == "Leeds"


def test_a_force_in_a_list_is_named_as_police_once():
    assert display_name("North Wales", "pfa") == "North Wales Police"
    assert display_name("Dyfed-Powys Police", "pfa") == "Dyfed-Powys Police"
    assert display_name("London, City of", "pfa") == "City of London Police"
    assert display_name("North Wales", "region") == "North Wales"


def test_two_spellings_of_one_place_share_a_key():
    assert name_key("Bristol, City of") == name_key("City of Bristol") == "city of bristol"
    assert name_key("Rhondda Cynon Taf") == name_key("Rhondda-Cynon-Taf")


def test_a_story_headline_names_the_area_as_the_answer_does():
    paragraphs = (Paragraph(LEAD, "Avon and Somerset Police recorded 4,000 burglaries in City "
                                  "of Bristol in the year to December 2024."),
                  Paragraph(CAVEAT, "A caveat.", label="Caveat:"),
                  Paragraph(SOURCE, "Source: ONS."))
    answer = Answer(
        "ok", joined_text(paragraphs), area_code="E06000023", area_name="Bristol, City of",
        area_kind="csp", offence_key="burglary", offence_label="Burglary",
        period_end="2024-12-31", period_label="the year to December 2024", count=4000,
        previous_count=4000, paragraphs=paragraphs)
    story = build_story(answer)
    assert story.headline == "Burglary in City of Bristol: 4,000 in the year to December 2024"
    assert story.paragraphs == (answer.paragraphs[0].text, "A caveat.")
    assert story.source == "Source: ONS."
