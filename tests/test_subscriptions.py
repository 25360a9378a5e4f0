"""Patches and alerts: names resolved or reported back, settings that survive a restart."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Engine
from bot.config import Paths
from bot.subscriptions import (
    ADMINS_ONLY,
    MAX_PATCH,
    PatchParse,
    Subscriptions,
    parse_patch,
    patch_command,
    patch_problems,
    patch_text,
)
from tests.fake_telegram import parse_html

GROUP = -1001234567890


@pytest.fixture()
def subs(tmp_path: Path):
    opened = Subscriptions(tmp_path / "desk.db")
    yield opened
    opened.close()


def patch(engine: Engine, text: str) -> PatchParse:
    return parse_patch(text, engine.gazetteer)


def test_the_issue_patch_resolves_to_two_local_areas_and_a_force(engine):
    parsed = patch(engine, "Wrexham, Flintshire, North Wales Police")
    assert parsed.complete
    assert [(a.code, a.kind) for a in parsed.areas] == [
        ("W14000006", "csp"), ("W14000005", "csp"), ("W15000001", "pfa")]


def test_welsh_names_and_a_name_with_its_own_comma_resolve(engine):
    parsed = patch(engine, "Caerdydd; Sir y Fflint, Bournemouth, Christchurch and Poole")
    assert parsed.complete
    assert [a.name for a in parsed.areas] == [
        "Cardiff", "Flintshire", "Bournemouth, Christchurch and Poole"]


def test_unknown_and_ambiguous_names_are_reported_and_nothing_changes(engine, subs):
    subs.set_patch(GROUP, patch(engine, "Wrexham"), may_change=True)
    parsed = patch(engine, "Flintshire, Newcastle, Atlantis")
    assert not parsed.complete
    assert [said for said, _ in parsed.unknown] == ["atlantis"]
    assert [said for said, _ in parsed.ambiguous] == ["newcastle"]
    change = subs.set_patch(GROUP, parsed, may_change=True)
    assert not change.ok
    assert "“atlantis”" in change.text and "Newcastle upon Tyne" in change.text
    assert "Newcastle-under-Lyme" in change.text and "not changed" in change.text
    assert [a.name for a in subs.patch(GROUP)] == ["Wrexham"]


def test_an_empty_patch_command_explains_itself(tiny_engine, subs):
    change = subs.set_patch(GROUP, patch(tiny_engine, "   "), may_change=True)
    assert not change.ok and "/patch Wrexham, Flintshire, North Wales Police" in change.text


def test_a_patch_longer_than_the_limit_is_refused(engine):
    names = [a.name for a in engine.store.areas() if a.kind == "pfa"][:MAX_PATCH + 1]
    parsed = patch(engine, ", ".join(f"{name} Police" for name in names))
    assert parsed.too_many and not parsed.complete


def test_only_admins_change_settings(tiny_engine, subs):
    parsed = patch(tiny_engine, "Wrexham")
    for change in (subs.set_patch(GROUP, parsed, may_change=False),
                   subs.subscribe(GROUP, may_change=False),
                   subs.unsubscribe(GROUP, may_change=False)):
        assert not change.ok and change.text == ADMINS_ONLY
    assert subs.patch(GROUP) == [] and not subs.is_subscribed(GROUP)


def test_settings_and_sent_digests_survive_a_restart(tiny_engine, tmp_path):
    path = tmp_path / "desk.db"
    first = Subscriptions(path)
    first.set_patch(GROUP, patch(tiny_engine, "Wrexham, North Wales Police"), may_change=True)
    first.subscribe(GROUP, may_change=True)
    assert first.mark_sent(GROUP, "pfa-2024-12-31")
    first.close()
    again = Subscriptions(path)
    assert [a.code for a in again.patch(GROUP)] == ["W14000006", "W15000001"]
    assert again.subscribed() == [GROUP]
    assert again.was_sent(GROUP, "pfa-2024-12-31")
    assert not again.mark_sent(GROUP, "pfa-2024-12-31"), "a digest is recorded once"
    assert again.mark_sent(GROUP, "pfa-2025-06-30")
    again.close()


def test_subscribing_counts_the_current_edition_as_seen(subs):
    subs.subscribe(GROUP, may_change=True, baseline="pfa-2025-06-30-table-c2")
    assert subs.was_sent(GROUP, "pfa-2025-06-30-table-c2")
    assert not subs.was_sent(GROUP, "pfa-2025-09-30")


def test_unsubscribing_keeps_the_patch(engine, subs):
    subs.set_patch(GROUP, patch(engine, "Leeds"), may_change=True)
    subs.subscribe(GROUP, may_change=True)
    change = subs.unsubscribe(GROUP, may_change=True)
    assert change.ok and subs.subscribed() == [] and [a.name for a in subs.patch(GROUP)] == [
        "Leeds"]


def test_subscribing_without_a_patch_says_how_to_set_one(subs):
    change = subs.subscribe(GROUP, may_change=True)
    assert change.ok and "/patch" in change.text


def test_a_group_upgraded_to_a_supergroup_keeps_everything(engine, subs):
    old, new = -4242, -1004242
    subs.set_patch(old, patch(engine, "Cardiff"), may_change=True)
    subs.subscribe(old, may_change=True)
    subs.mark_sent(old, "pfa-2024-12-31")
    assert subs.migrate(old, new)
    assert subs.patch(old) == [] and not subs.is_subscribed(old)
    assert [a.name for a in subs.patch(new)] == ["Cardiff"] and subs.is_subscribed(new)
    assert subs.was_sent(new, "pfa-2024-12-31")
    assert not subs.migrate(old, new), "nothing left to move"


def test_the_desk_file_sits_beside_the_store_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("CRIMEBOT_DESK_DB", raising=False)
    assert Paths.from_env(store=tmp_path / "crime.db").desk == tmp_path / "desk.db"
    monkeypatch.setenv("CRIMEBOT_DESK_DB", str(tmp_path / "x.db"))
    assert Paths.from_env(store=tmp_path / "crime.db").desk == tmp_path / "x.db"


def test_every_settings_reply_is_valid_telegram_html(engine, subs):
    texts = [
        subs.set_patch(GROUP, patch(engine, "Wrexham, <b>Atlantis</b> & co, Newcastle"),
                       may_change=True).html,
        subs.set_patch(GROUP, patch(engine, "Wrexham, Flintshire"), may_change=True).html,
        subs.subscribe(GROUP, may_change=True).html,
        subs.unsubscribe(GROUP, may_change=False).html,
    ]
    for text in texts:
        parse_html(text)
    parse_html(patch_text(subs.patch(GROUP)))


def test_the_patch_command_shows_without_names_and_sets_with_them(tiny_engine, subs):
    shown = patch_command(subs, tiny_engine.gazetteer, GROUP, "", may_change=False)
    assert shown.ok and "no patch yet" in shown.text
    refused = patch_command(subs, tiny_engine.gazetteer, GROUP, "Wrexham", may_change=False)
    assert not refused.ok and subs.patch(GROUP) == []
    done = patch_command(subs, tiny_engine.gazetteer, GROUP, "Wrexham, North Wales Police",
                         may_change=True)
    assert done.ok and "Wrexham (local area); North Wales (police force area)" in done.text
    shown = patch_command(subs, tiny_engine.gazetteer, GROUP, "  ", may_change=False)
    assert shown.text.startswith("This chat's patch: Wrexham")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_patch_text_resolves_or_says_what_did_not(tiny_engine, text):
    parsed = patch(tiny_engine, text)
    if parsed.complete:
        assert 0 < len(parsed.areas) <= MAX_PATCH
    else:
        problems = patch_problems(parsed)
        assert problems
        parse_html(html.escape(problems, quote=False))
