"""Follow-ups in Telegram, end to end through the strict fake Bot API (issue #21).

Each follow-up answer is checked against the answer to the full question it stands for, asked of
the same store: every paragraph of that answer is in the reply, after the lead that says what
was carried.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram.ext import Application

from bot.answer import Engine
from bot.config import Config
from bot.telegram import Limits, Tuning, build_application, open_serving_engine, runner_of
from bot.telegram.followups import EXPIRED, INLINE_NO_CONTEXT
from tests.conftest import E2E_TOKEN
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_telegram_e2e import buttons, sent

GROUP = -42
ALICE, BOB = 1001, 1002
FIRST = "sexual offences Wrexham 2022"
WAIT_S = 60.0  # generous: the machine may be busy; nothing here is timed
# Windows 64× shorter: a power of two keeps every window exact in binary, so a booking one
# window after another fits exactly (0.01 can trip the limiter's rounding on main).
LIMITS = Limits().scaled(1 / 64)


@asynccontextmanager
async def polling(fake: FakeTelegram, db_path: Path, data: Path,
                  followup_s: float | None = None) -> AsyncIterator[Application]:
    """`crimebot run` on the test's loop, with its inbox and desk.db in `data` (kept across
    restarts) and a follow-up window of `followup_s` seconds (default: the setting's)."""
    config = Config(token=E2E_TOKEN, db_path=db_path, api_base_url=fake.base_url,
                    allowed_chats=frozenset(), allowed_users=frozenset(), cooldown_seconds=0.0,
                    log_level="INFO", inbox=data / "inbox.db", heartbeat=data / "heartbeat",
                    desk=data / "desk.db")
    tuning = Tuning(limits=LIMITS, grace=5.0, poll_timeout=1, probe_pause=0.05,
                    followup=followup_s)
    application = build_application(config, open_serving_engine(db_path), tuning)
    runner = runner_of(application)
    async with runner.session(runner.poll, "long polling (test)"):
        yield application


def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="crimebot-followups-"))


async def reply(fake: FakeTelegram, chat_id: int, method: str = "sendMessage") -> SentMessage:
    call = await fake.wait_for(lambda c: c.method == method and c.ok
                               and c.params["chat_id"] == chat_id, timeout=WAIT_S)
    return sent(fake, call)


def stands_for(message: SentMessage | str, engine: Engine, question: str, lead: str) -> None:
    """The reply is the full question's answer, after the lead saying what was carried."""
    text = message if isinstance(message, str) else message.plain_text
    whole = engine.ask(question)
    assert whole.status == "ok"
    assert text.startswith(lead), text[:200]
    for paragraph in whole.text.split("\n\n"):
        assert paragraph.strip() in text, paragraph


async def test_group_replies_follow_the_answer_replied_to_and_reporters_never_mix(
        fake, db_path, engine):
    async with polling(fake, db_path, folder()):
        fake.inject_message(GROUP, f"/crime {FIRST}", user_id=ALICE)
        alice = await reply(fake, GROUP)
        fake.inject_message(GROUP, "/crime burglary Leeds 2023", user_id=BOB)
        bob = await reply(fake, GROUP)
        fake.inject_message(GROUP, "and Flintshire?", user_id=ALICE, reply_to=alice)
        fake.inject_message(GROUP, "what about 2021?", user_id=BOB, reply_to=bob)
        alice_2 = await reply(fake, GROUP)
        bob_2 = await reply(fake, GROUP)
        stands_for(alice_2, engine, "sexual offences Flintshire 2022",
                   "Following on from sexual offences, year to December 2022: ")
        stands_for(bob_2, engine, "burglary Leeds 2021", "Following on from burglary, Leeds: ")

        fake.inject_message(GROUP, "the year before", user_id=ALICE, reply_to=alice_2)
        alice_3 = await reply(fake, GROUP)
        stands_for(alice_3, engine, "sexual offences Flintshire 2021",
                   "Following on from sexual offences, Flintshire, the year before the year to "
                   "December 2022: ")
        # Not a reply: in a group that is chatter, and nobody's context is borrowed.
        fake.inject_message(GROUP, "and Denbighshire?", user_id=BOB)
        fake.inject_message(GROUP, "same for robbery", user_id=BOB, reply_to=alice)
        robbery = await reply(fake, GROUP)
        stands_for(robbery, engine, "robbery Wrexham 2022",
                   "Following on from Wrexham, year to December 2022: ")
        assert robbery.reply_to is not None
        assert [m for m in fake.sent if m.chat_id == GROUP and "Denbighshire" in m.plain_text] \
            == []


async def test_a_private_chat_follows_on_without_replies(fake, db_path, engine):
    async with polling(fake, db_path, folder()):
        fake.inject_message(ALICE, FIRST)
        await reply(fake, ALICE)
        fake.inject_message(ALICE, "and Flintshire?")
        stands_for(await reply(fake, ALICE), engine, "sexual offences Flintshire 2022",
                   "Following on from sexual offences, year to December 2022: ")
        fake.inject_message(ALICE, "same for burglary")
        stands_for(await reply(fake, ALICE), engine, "burglary Flintshire 2022",
                   "Following on from Flintshire, year to December 2022: ")
        fake.inject_message(ALICE, "compare with Wrexham")
        stands_for(await reply(fake, ALICE), engine, "burglary Flintshire vs Wrexham 2022",
                   "Following on from burglary, Flintshire, year to December 2022: ")
        fake.inject_message(ALICE, "burglary Leeds 2023")  # a question of its own: nothing said
        stands_for(await reply(fake, ALICE), engine, "burglary Leeds 2023", "")
        fake.inject_message(ALICE, "chart it")
        photo = await reply(fake, ALICE, "sendPhoto")
        assert photo.photo.startswith(b"\x89PNG") and photo.caption == (
            "West Yorkshire Police recorded 6,515 burglaries in Leeds in the year to December "
            "2023, ONS figures show.")


async def test_a_reply_follows_on_after_a_restart(fake, tiny_db, tiny_engine):
    data = folder()
    async with polling(fake, tiny_db, data):
        fake.inject_message(GROUP, f"/crime {FIRST}", user_id=ALICE)
        answer = await reply(fake, GROUP)
    async with polling(fake, tiny_db, data):
        fake.inject_message(GROUP, "and Flintshire?", user_id=BOB, reply_to=answer)
        stands_for(await reply(fake, GROUP), tiny_engine, "sexual offences Flintshire 2022",
                   "Following on from sexual offences, year to December 2022: ")


async def test_an_expired_private_context_is_said_and_a_reply_still_follows_on(
        fake, tiny_db, tiny_engine):
    async with polling(fake, tiny_db, folder(), followup_s=0.0):
        fake.inject_message(ALICE, FIRST)
        answer = await reply(fake, ALICE)
        fake.inject_message(ALICE, "and Flintshire?")
        note = await reply(fake, ALICE)
        assert note.plain_text == EXPIRED.format(minutes=0)
        fresh = await reply(fake, ALICE)
        stands_for(fresh, tiny_engine, "Flintshire", "No offence was named")
        fake.inject_message(ALICE, "and Flintshire?", reply_to=answer)
        stands_for(await reply(fake, ALICE), tiny_engine, "sexual offences Flintshire 2022",
                   "Following on from sexual offences, year to December 2022: ")


async def test_an_ambiguous_follow_up_asks_back_with_buttons_that_keep_the_period(
        fake, db_path, engine):
    async with polling(fake, db_path, folder()):
        fake.inject_message(GROUP, f"/crime {FIRST}", user_id=ALICE)
        first = await reply(fake, GROUP)
        fake.inject_message(GROUP, "and Newcastle?", user_id=ALICE, reply_to=first)
        question = await reply(fake, GROUP)
        assert question.plain_text.startswith(
            "Following on from sexual offences, year to December 2022: ")
        choices = buttons(question)
        assert set(choices) == {"Newcastle upon Tyne (local area, Northumbria)",
                                "Newcastle-under-Lyme (local area, Staffordshire)"}
        fake.inject_callback(question, choices["Newcastle upon Tyne (local area, Northumbria)"],
                             user_id=ALICE)
        await fake.wait_for("editMessageText", timeout=WAIT_S)
        edited = fake.message(GROUP, question.message_id)["text"]
        stands_for(edited, engine, "sexual offences Newcastle upon Tyne 2022", "")
        # The answer a button opened is followed on from like any other.
        fake.inject_message(GROUP, "and 2021?", user_id=BOB, reply_to=question)
        stands_for(await reply(fake, GROUP), engine, "sexual offences Newcastle upon Tyne 2021",
                   "Following on from sexual offences, Newcastle upon Tyne: ")


async def test_story_chart_and_rank_sent_as_replies_use_the_answer_replied_to(
        fake, db_path, engine):
    async with polling(fake, db_path, folder()):
        fake.inject_message(GROUP, "/crime sexual offences Flintshire 2022", user_id=ALICE)
        first = await reply(fake, GROUP)
        fake.inject_message(GROUP, "/story", user_id=BOB, reply_to=first)
        story = await reply(fake, GROUP)
        assert story.plain_text.startswith(
            "Following on from sexual offences, Flintshire, year to December 2022:")
        assert "479 sexual offences in Flintshire in the year to December 2022" \
            in story.plain_text
        await reply(fake, GROUP, "sendPhoto")  # story copy comes with its chart
        fake.inject_message(GROUP, "/chart", user_id=BOB, reply_to=first)
        photo = await reply(fake, GROUP, "sendPhoto")
        assert photo.caption == ("North Wales Police recorded 479 sexual offences in Flintshire "
                                 "in the year to December 2022, ONS figures show.")
        fake.inject_message(GROUP, "how does that rank in North Wales?", user_id=ALICE,
                            reply_to=first)
        ranking = await reply(fake, GROUP)
        assert ranking.plain_text.startswith(
            "Following on from sexual offences, Flintshire, year to December 2022:\nSexual "
            "offences: local areas in North Wales by rate per 1,000 residents, the year to "
            "December 2022")
        assert "▶ 6. Flintshire: 3.1 per 1,000 (479 recorded)" in ranking.plain_text


async def test_inline_mode_says_it_has_no_context(fake, tiny_db):
    async with polling(fake, tiny_db, folder()):
        fake.inject_inline_query("and Flintshire?")
        await fake.wait_for("answerInlineQuery", timeout=WAIT_S)
        first, *_ = fake.answers[-1].results
        assert first["input_message_content"]["message_text"] == f"<b>{INLINE_NO_CONTEXT}</b>"
        assert first["title"].startswith("Inline answers have no earlier answer")
