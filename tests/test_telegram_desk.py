"""The release-day desk in the bot, end to end against the strict fake Bot API: patches and alerts
changed only by group admins, digests pushed once per group per edition when a new store is
swapped in (and never again after a restart), /new, /story and rankings with buttons that open
the full answer. Figures are checked against the store with plain SQL."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.ingest import build, write_store
from bot.telegram import COMMANDS, decode_callback, runner_of
from tests.fake_ons import FakeONS
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.fixtures import LATEST, build_tiny, contents
from tests.test_telegram_e2e import buttons, messages_to, polling, reply, settle

NEWSROOM = -42
RIVAL = -43
QUIET = -44
ADMIN = 2001
MEMBER = 2002
PATCH = "Wrexham, Flintshire, North Wales Police"
NEWER = "policeforceareatablesyedecember2024.xlsx"
NEWEST = "policeforceareatablesyejune25final.csv"
RECORD = re.compile(r"^• (.+?), (.+?): ([\d,]+), the (highest|lowest) of the (\d+) years to "
                    r"December held \(from the year to December (\d{4})\)$")
REFUSED = "Only the group's admins can change its patch and alerts."


def count_in(db: Path, area: str, offence: str, period: str) -> int | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("select count from figures where area = ? and offence = ? and "
                           "period_end = ?", (area, offence, period)).fetchone()
    return row[0] if row else None


def december_counts(db: Path, area: str, offence: str, first: int, last: int) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [c for (c,) in conn.execute(
            "select count from figures where area = ? and offence = ? and period_end between ? "
            "and ? and period_end like '%-12-31' and count is not null order by period_end",
            (area, offence, f"{first}-12-31", f"{last}-12-31"))]


async def command(fake: FakeTelegram, chat: int, text: str, user: int = ADMIN) -> SentMessage:
    fake.inject_message(chat, text, user_id=user)
    return await reply(fake, chat)


async def test_a_new_edition_sends_one_digest_per_subscribed_group_never_twice(
        fake, sources, tmp_path):
    live, inbox = tmp_path / "crime.db", tmp_path / "inbox.db"
    older = [p for p in sources.iterdir() if p.name not in (NEWER, NEWEST)]
    newer = [p for p in sources.iterdir() if p.name != NEWEST]
    build(older, live)
    for chat in (NEWSROOM, RIVAL, QUIET):
        fake.set_member(chat, ADMIN, "administrator")
    async with polling(fake, live, inbox=inbox, desk_interval=0.05) as application:
        for chat, patch in ((NEWSROOM, PATCH), (RIVAL, "Cardiff"), (QUIET, PATCH)):
            assert "patch" in (await command(fake, chat, f"/patch {patch}")).plain_text
            assert "alerts are on" in (await command(fake, chat, "/subscribe")).plain_text
        assert "alerts are off" in (await command(fake, QUIET, "/unsubscribe")).plain_text
        before = {chat: len(messages_to(fake, chat)) for chat in (NEWSROOM, RIVAL, QUIET)}

        await asyncio.to_thread(build, newer, live)
        digest = await reply(fake, NEWSROOM)
        rival = await reply(fake, RIVAL)
        runner = runner_of(application)
        assert await runner.queues.join(5)

        assert digest.plain_text.startswith("New ONS figures: the year to December 2024")
        assert rival.plain_text.startswith("New ONS figures: the year to December 2024")
        assert "Cardiff" in rival.plain_text and "Wrexham" not in rival.plain_text
        assert len(messages_to(fake, QUIET)) == before[QUIET]  # unsubscribed: nothing pushed
        lines = digest.plain_text.splitlines()
        total = count_in(live, "W14000006", "all_crime", "2024-12-31")  # Wrexham
        assert total is not None and f"• Wrexham: {total:,}, " in digest.plain_text
        opened = {}
        for label, data in buttons(digest).items():
            pressed = decode_callback(data)
            assert pressed is not None and pressed.action == "o"
            area, offence = label.split(": ", 1)
            opened[(area, offence.lower())] = pressed
            held = count_in(live, pressed.area, pressed.offence, pressed.period or "")
            assert held is not None
            assert any(line.startswith(f"• {area}, {offence.lower()}: {held:,}")
                       for line in lines), label
        records = [m.groups() for line in lines if (m := RECORD.match(line))]
        assert records
        for area, offence, shown, word, years, since in records:
            pressed = opened[(area, offence)]
            run = december_counts(live, pressed.area, pressed.offence, int(since), 2024)
            assert len(run) == int(years) and run[-1] == int(shown.replace(",", ""))
            assert run[-1] == (max(run) if word == "highest" else min(run))

        first_data = next(iter(buttons(digest).values()))
        fake.inject_callback(digest, first_data)
        answer = await reply(fake, NEWSROOM)
        assert answer.reply_to == digest.message_id
        pressed = decode_callback(first_data)
        assert pressed is not None
        held = count_in(live, pressed.area, pressed.offence, pressed.period or "")
        assert f"{held:,}" in answer.plain_text
        assert fake.message(NEWSROOM, digest.message_id)["text"] == digest.plain_text

        on_demand = await command(fake, QUIET, "/new", user=MEMBER)
        assert on_demand.plain_text == digest.plain_text and buttons(on_demand)

    async with polling(fake, live, inbox=inbox, desk_interval=0.05) as application:
        await settle(fake)
        assert await runner_of(application).queues.join(5)
        assert runner_of(application).inbox.posted() == {
            f"digest:{NEWSROOM}:pfa-2024-12-31": "sent",
            f"digest:{RIVAL}:pfa-2024-12-31": "sent"}
    pushed = [m for m in fake.sent if m.plain_text.startswith("New ONS figures")]
    assert sorted(m.chat_id for m in pushed) == [QUIET, RIVAL, NEWSROOM]  # QUIET's was /new
    assert before[RIVAL] + 1 == len(messages_to(fake, RIVAL))


async def test_a_new_edition_of_the_tiny_store_is_pushed_once_and_not_again_after_a_restart(
        fake, tmp_path):
    """The release-day flow without the ONS files: the tiny store first without its December
    2024 editions, then whole, swapped in under the running bot."""
    live, inbox = tmp_path / "crime.db", tmp_path / "inbox.db"
    write_store([c for c in contents() if c.edition.period_end != LATEST], live)
    fake.set_member(NEWSROOM, ADMIN, "administrator")
    async with polling(fake, live, inbox=inbox, desk_interval=0.05) as application:
        changed = await command(fake, NEWSROOM, "/patch Greater Manchester Police")
        assert changed.plain_text.startswith("This chat's patch: Greater Manchester")
        assert "alerts are on" in (await command(fake, NEWSROOM, "/subscribe")).plain_text
        staged = tmp_path / "staged.db"
        build_tiny(staged)
        os.replace(staged, live)
        digest = await reply(fake, NEWSROOM)
        assert await runner_of(application).queues.join(5)
        assert digest.plain_text.startswith("New ONS figures: the year to December 2024")
        total = count_in(live, "E23000005", "all_crime", LATEST)
        assert total is not None
        assert f"• Greater Manchester Police: {total:,}, " in digest.plain_text
        assert buttons(digest)
    async with polling(fake, live, inbox=inbox, desk_interval=0.05) as application:
        await settle(fake)
        assert await runner_of(application).queues.join(5)
        assert runner_of(application).inbox.posted() == {
            f"digest:{NEWSROOM}:pfa-2024-12-31": "sent"}
    pushed = [m for m in fake.sent if m.plain_text.startswith("New ONS figures")]
    assert [m.chat_id for m in pushed] == [NEWSROOM]


async def test_only_group_admins_change_the_patch_and_alerts(fake, tiny_db, tmp_path):
    fake.set_member(NEWSROOM, ADMIN, "creator")
    fake.set_member(NEWSROOM, MEMBER, "member")
    async with polling(fake, tiny_db, inbox=tmp_path / "inbox.db"):
        assert (await command(fake, NEWSROOM, f"/patch {PATCH}", MEMBER)).plain_text == REFUSED
        assert (await command(fake, NEWSROOM, "/subscribe", MEMBER)).plain_text == REFUSED
        shown = await command(fake, NEWSROOM, "/patch", MEMBER)
        assert shown.plain_text.startswith("This chat has no patch yet")

        changed = await command(fake, NEWSROOM, f"/patch {PATCH}", ADMIN)
        assert changed.plain_text.startswith("This chat's patch: Wrexham (local area); "
                                             "Flintshire (local area); North Wales (police "
                                             "force area).")
        assert "alerts are on" in (await command(fake, NEWSROOM, "/subscribe")).plain_text
        assert (await command(fake, NEWSROOM, "/unsubscribe", MEMBER)).plain_text == REFUSED
        shown = await command(fake, NEWSROOM, "/patch", MEMBER)
        assert shown.plain_text == changed.plain_text.split(" Turn on")[0]

        unknown = await command(fake, NEWSROOM, "/patch Wrexham, Atlantis")
        assert "atlantis" in unknown.plain_text.lower() and "not changed" in unknown.plain_text
    asked = [c.params for c in fake.calls if c.method == "getChatMember"]
    assert {p["user_id"] for p in asked} == {ADMIN, MEMBER}


async def test_every_command_the_menu_marks_for_group_admins_refuses_a_member(
        fake, db_path, tmp_path):
    fake.set_member(NEWSROOM, MEMBER, "member")
    marked = [c.name for c in COMMANDS if c.who == "group admins"]
    async with polling(fake, db_path, inbox=tmp_path / "inbox.db"):
        refused = [name for name in marked
                   if (await command(fake, NEWSROOM, f"/{name}", MEMBER)).plain_text == REFUSED]
    assert marked and refused == marked


async def test_story_new_and_rankings_are_valid_html_with_buttons_that_open_answers(
        fake, db_path, tmp_path):
    reporter = 1001
    async with polling(fake, db_path, inbox=tmp_path / "inbox.db"):
        story = await command(fake, NEWSROOM, "/story sexual offences Wrexham 2022")
        assert story.entities[0]["type"] == "bold" and story.entities[0]["offset"] == 0
        assert "536" in story.plain_text and "Source:" in story.plain_text
        chart = await reply(fake, NEWSROOM, "sendPhoto")
        assert chart.photo is not None and chart.photo.startswith(b"\x89PNG")

        asked_back = await command(fake, NEWSROOM, "/story violent crime Newcastle")
        assert any("Newcastle-under-Lyme" in label for label in buttons(asked_back))

        ranking = await command(fake, NEWSROOM,
                                "/crime which area in Kent has the highest burglary rate")
        assert ranking.plain_text.startswith("Burglary: local areas in Kent by rate per 1,000")
        assert any(e["type"] == "bold" for e in ranking.entities)
        first = ranking.plain_text.splitlines()[1]
        label, data = next(iter(buttons(ranking).items()))
        pressed = decode_callback(data)
        assert pressed is not None and label.startswith(first[3:first.index(":")])
        held = count_in(db_path, pressed.area, pressed.offence, pressed.period or "")
        assert f"({held:,} recorded" in first
        fake.inject_callback(ranking, data)
        answer = await reply(fake, NEWSROOM)
        assert answer.reply_to == ranking.message_id and f"{held:,}" in answer.plain_text

        assert "no patch yet" in (await command(fake, reporter, "/new", reporter)).plain_text
        await command(fake, reporter, "/patch Wrexham", reporter)  # a private chat is its own admin
        new = await command(fake, reporter, "/new", reporter)
        assert new.plain_text.startswith("New ONS figures: the year to June 2025")
        assert new.entities[0]["type"] == "bold"


def refresh(site: FakeONS, archive: Path, db: Path) -> subprocess.CompletedProcess:
    """`crimebot refresh` as the nightly unit runs it, against the fake ONS site."""
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    env |= {"CRIMEBOT_ONS_BASE": site.base, "CRIMEBOT_LOOKUP_URLS": site.lookup_urls,
            "CRIMEBOT_ARCHIVE": str(archive), "CRIMEBOT_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "bot", "refresh", "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env)


async def test_an_edition_published_on_the_ons_site_reaches_the_group_after_the_nightly_refresh(
        fake, sources, tmp_path):
    live, archive = tmp_path / "crime.db", tmp_path / "archive"
    fake.set_member(NEWSROOM, ADMIN, "administrator")
    with FakeONS(sources, leave_out=(NEWER, NEWEST)) as site:
        first = await asyncio.to_thread(refresh, site, archive, live)
        assert first.returncode == 0, first.stderr
        async with polling(fake, live, inbox=tmp_path / "inbox.db",
                           desk_interval=0.05) as application:
            await command(fake, NEWSROOM, f"/patch {PATCH}")
            assert "alerts are on" in (await command(fake, NEWSROOM, "/subscribe")).plain_text
            site.add(NEWER, "pfa", "yearendingdecember2024", "2025-04-24")
            second = await asyncio.to_thread(refresh, site, archive, live)
            assert second.returncode == 0, second.stderr
            digest = await reply(fake, NEWSROOM)
            assert await runner_of(application).queues.join(5)
    assert digest.plain_text.startswith("New ONS figures: the year to December 2024")
    total = count_in(live, "W14000006", "all_crime", "2024-12-31")  # Wrexham
    assert total is not None and f"• Wrexham: {total:,}, " in digest.plain_text
