"""Self-tests for the fake Bot API, driven by PTB's own ``telegram.Bot`` client.

If these pass, PTB accepts the fake's answers and raises the same exceptions it would raise
against api.telegram.org, so the bot's end-to-end tests exercise real failure paths.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.fake_telegram import (
    DEFAULT_USER_ID,
    EntityParseError,
    FakeTelegram,
    parse_html,
)

TOKEN = "123456:TEST-token"
USER = 42  # a private chat: chat id == user id
GROUP = -1001234567890


def png(width: int = 2, height: int = 1) -> bytes:
    """A minimal valid PNG, so sendPhoto's image sniffing sees real dimensions."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest_asyncio.fixture(loop_scope="function")
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="crimebot") as server:
        server.add_chat(USER)
        yield server


@pytest_asyncio.fixture(loop_scope="function")
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


# ------------------------------------------------------------------ basics and updates


async def test_get_me_identifies_the_bot_by_token_id_and_username(tg: FakeTelegram, bot: Bot):
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (123456, "crimebot", True)
    assert [c.method for c in tg.calls] == ["getMe", "getMe"]  # Bot.initialize + ours
    assert all(c.status == 200 for c in tg.calls)


async def test_injected_message_is_delivered_with_integer_dates_then_confirmed_by_offset(
    tg: FakeTelegram, bot: Bot
):
    injected = tg.inject_message(USER, "/start")

    updates = await bot.get_updates(timeout=0)
    raw = (await tg.wait_for("getUpdates")).result

    assert [u.update_id for u in updates] == [injected["update_id"]]
    assert updates[0].message.text == "/start"
    assert updates[0].message.chat.type == "private"
    assert type(raw[0]["message"]["date"]) is int
    assert raw[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert tg.pending_updates == []


async def test_updates_stay_pending_until_the_bot_confirms_them(tg: FakeTelegram, bot: Bot):
    tg.inject_message(USER, "one")
    tg.inject_message(USER, "two")

    first = await bot.get_updates(limit=1)
    again = await bot.get_updates()

    assert [u.message.text for u in first] == ["one"]
    assert [u.message.text for u in again] == ["one", "two"]


async def test_long_poll_returns_as_soon_as_a_message_is_injected(tg: FakeTelegram, bot: Bot):
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for("getUpdates", finished=False)  # the request is parked server-side

    tg.inject_message(USER, "wake up")
    updates = await asyncio.wait_for(poll, timeout=5)

    assert [u.message.text for u in updates] == ["wake up"]


async def test_long_poll_times_out_with_an_empty_list(tg: FakeTelegram, bot: Bot):
    assert await bot.get_updates(timeout=1) == ()


async def test_a_second_poller_terminates_the_first_with_conflict(tg: FakeTelegram, bot: Bot):
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for("getUpdates", finished=False)

    async with Bot(TOKEN, base_url=tg.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()

    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=5)


async def test_get_updates_is_refused_while_a_webhook_is_set(tg: FakeTelegram, bot: Bot):
    await bot.set_webhook("https://example.org/hook")

    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates()

    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_webhook_must_be_https(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)HTTPS URL must be provided"):
        await bot.set_webhook("http://example.org/hook")


async def test_group_message_has_sender_title_and_mention_entities(tg: FakeTelegram, bot: Bot):
    tg.inject_message(GROUP, "/report@crimebot ask @someone", user_id=7)

    (update,) = await bot.get_updates()
    message = update.message

    assert message.chat.type == "supergroup" and message.chat.title
    assert message.from_user.id == 7
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, 16),
        ("mention", 21, 8),
    ]


async def test_channel_post_and_edited_message_use_their_update_types(
    tg: FakeTelegram, bot: Bot
):
    tg.inject_message(-1009876543210, "news", chat_type="channel")
    tg.inject_message(USER, "typo")
    tg.inject_message(USER, "fixed", edited=True)

    channel_post, message, edited = await bot.get_updates()

    assert channel_post.channel_post.sender_chat.id == -1009876543210
    assert edited.edited_message.message_id == message.message.message_id
    assert edited.edited_message.text == "fixed"
    assert edited.edited_message.edit_date is not None


async def test_user_can_reply_to_a_message_the_bot_sent(tg: FakeTelegram, bot: Bot):
    await bot.send_message(USER, "What area?")

    tg.inject_message(USER, "Leeds", reply_to=tg.sent[-1])
    (update,) = await bot.get_updates()

    assert update.message.reply_to_message.text == "What area?"
    assert update.message.reply_to_message.from_user.is_bot


async def test_message_ids_increase_per_chat(tg: FakeTelegram, bot: Bot):
    tg.add_chat(GROUP)
    a = await bot.send_message(USER, "a")
    b = await bot.send_message(USER, "b")
    c = await bot.send_message(GROUP, "c")

    assert (a.message_id, b.message_id, c.message_id) == (1, 2, 1)


# ------------------------------------------------------------------ sendMessage strictness


async def test_text_of_4097_characters_is_rejected_as_too_long(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)


async def test_length_is_counted_after_html_tags_are_stripped(tg: FakeTelegram, bot: Bot):
    sent = await bot.send_message(USER, f"<b>{'x' * 4096}</b>", parse_mode="HTML")

    assert len(sent.text) == 4096
    assert tg.sent[-1].text.startswith("<b>")  # what the bot sent, markup included


async def test_blank_text_is_rejected_as_empty(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, " <b> </b>\n", parse_mode="HTML")


async def test_unescaped_less_than_in_html_cannot_be_parsed(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "Crime fell <5% in Leeds", parse_mode="HTML")


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<b>bold</i>", "Unmatched end tag"),
        ("<b>bold", "Can't find end tag"),
        ("line<br>break", 'Unsupported start tag "br"'),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("Fish & chips", "unescaped"),
        ("a > b", "Unescaped"),
    ],
)
async def test_invalid_html_is_rejected_with_the_reason(
    tg: FakeTelegram, bot: Bot, markup: str, reason: str
):
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, markup, parse_mode="HTML")
    assert reason in tg.calls[-1].error  # PTB lower-cases the message; the fake's is exact


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data="x" * 65)]])

    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "Pick one", reply_markup=keyboard)


async def test_reply_to_an_unknown_message_is_rejected_unless_allowed(
    tg: FakeTelegram, bot: Bot
):
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "hi", reply_parameters=ReplyParameters(message_id=999))

    await bot.send_message(
        USER, "hi",
        reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True),
    )
    assert tg.sent[-1].reply_to is None


async def test_sending_to_an_unknown_chat_says_chat_not_found(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hello?")


async def test_blocked_user_makes_sends_fail_with_forbidden(tg: FakeTelegram, bot: Bot):
    tg.block(USER)

    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER, "are you there?")
    assert tg.sent == []


async def test_migrated_group_raises_chat_migrated_with_the_new_id(tg: FakeTelegram, bot: Bot):
    update = tg.inject_migration(-4012345678, GROUP)

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4012345678, "hello")

    assert caught.value.new_chat_id == GROUP
    assert update["message"]["migrate_to_chat_id"] == GROUP
    await bot.send_message(GROUP, "hello again")


# ------------------------------------------------------------------ edits and answers


async def test_edits_must_target_an_existing_bot_message_and_change_it(
    tg: FakeTelegram, bot: Bot
):
    sent = await bot.send_message(USER, "Loading…")
    tg.inject_message(USER, "user text")
    user_message_id = tg.pending_updates[-1]["message"]["message_id"]

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=user_message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Loading…", chat_id=USER, message_id=sent.message_id)

    edited = await bot.edit_message_text("Done", chat_id=USER, message_id=sent.message_id)
    assert edited.text == "Done" and edited.edit_date is not None
    assert tg.edits[-1].text == "Done"
    assert tg.message(USER, sent.message_id)["text"] == "Done"


async def test_editing_text_without_markup_removes_the_keyboard(tg: FakeTelegram, bot: Bot):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("more", callback_data="more")]])
    sent = await bot.send_message(USER, "Page 1", reply_markup=keyboard)

    await bot.edit_message_text("Page 2", chat_id=USER, message_id=sent.message_id)

    assert "reply_markup" not in tg.message(USER, sent.message_id)


async def test_reply_markup_edit_replaces_the_keyboard_and_rejects_no_op_edits(
    tg: FakeTelegram, bot: Bot
):
    one = InlineKeyboardMarkup([[InlineKeyboardButton("1", callback_data="1")]])
    two = InlineKeyboardMarkup([[InlineKeyboardButton("2", callback_data="2")]])
    sent = await bot.send_message(USER, "Pick", reply_markup=one)

    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=two)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=two)

    tg.inject_callback(sent, "2")  # a telegram.Message works as the reference too
    with pytest.raises(ValueError, match="no button"):
        tg.inject_callback(sent, "1")


async def test_callback_query_can_be_answered_exactly_once(tg: FakeTelegram, bot: Bot):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("more", callback_data="more")]])
    await bot.send_message(USER, "Page 1", reply_markup=keyboard)
    tg.inject_callback(tg.sent[-1], "more")
    (update,) = await bot.get_updates()

    assert update.callback_query.data == "more"
    assert update.callback_query.message.message_id == tg.sent[-1].message_id
    await update.callback_query.answer("Loading")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("again")
    assert [(a.kind, a.text) for a in tg.answers] == [("callback_query", "Loading")]


async def test_callbacks_can_only_be_injected_for_buttons_that_exist(
    tg: FakeTelegram, bot: Bot
):
    await bot.send_message(USER, "no keyboard")

    with pytest.raises(ValueError, match="no button"):
        tg.inject_callback(tg.sent[-1], "ghost")


async def test_inline_query_answers_are_validated(tg: FakeTelegram, bot: Bot):
    tg.inject_inline_query("burglary", user_id=DEFAULT_USER_ID)
    (update,) = await bot.get_updates()
    query_id = update.inline_query.id

    def article(result_id: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, "Burglary", InputTextMessageContent("12%"))

    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query_id, [article("a"), article("a")])
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, [article(str(i)) for i in range(51)])
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_INVALID"):
        await bot.answer_inline_query(query_id, [article("x" * 65)])

    await bot.answer_inline_query(query_id, [article("a"), article("b")])
    assert [r["id"] for r in tg.answers[-1].results] == ["a", "b"]


# ------------------------------------------------------------------ photos, commands, misc


async def test_send_photo_keeps_the_uploaded_png_bytes(tg: FakeTelegram, bot: Bot):
    image = png(640, 480)

    message = await bot.send_photo(USER, image, caption="<i>Chart</i>", parse_mode="HTML")

    assert tg.sent[-1].photo == image
    assert tg.sent[-1].photo.startswith(b"\x89PNG\r\n\x1a\n")
    assert (message.photo[-1].width, message.photo[-1].height) == (640, 480)
    assert message.caption == "Chart"
    assert tg.calls[-1].files["photo"].data == image


async def test_send_photo_rejects_bytes_that_are_not_an_image(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, b"definitely not a png")


async def test_commands_are_stored_and_validated(tg: FakeTelegram, bot: Bot):
    await bot.set_my_commands([("start", "Start"), ("report", "Crime figures for an area")])

    assert [c["command"] for cs in tg.commands.values() for c in cs] == ["start", "report"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start-Now", "nope")])


async def test_markdown_is_refused_because_the_bot_only_speaks_html(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(USER, "*bold*", parse_mode="MarkdownV2")


async def test_a_send_cut_after_it_took_effect_raises_but_the_message_exists(
        tg: FakeTelegram, bot: Bot):
    tg.cut_after_effect(1, method="sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "delivered, then the connection dropped")
    assert [m.text for m in tg.sent] == ["delivered, then the connection dropped"]


async def test_leave_chat(tg: FakeTelegram, bot: Bot):
    tg.add_chat(GROUP, title="Newsroom")
    assert await bot.leave_chat(GROUP)
    with pytest.raises(Forbidden, match=r"(?i)not a member"):
        await bot.send_message(GROUP, "still here?")


async def test_chat_member_status_is_reported_as_ptb_reads_it(tg: FakeTelegram, bot: Bot):
    tg.set_member(GROUP, 7, "administrator")
    tg.inject_message(GROUP, "hello", user_id=8)  # posting in a group makes a member
    tg.add_user(9)
    assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 8)).status == "member"
    assert (await bot.get_chat_member(GROUP, 9)).status == "left"
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await bot.get_chat_member(GROUP, 10)
    with pytest.raises(ValueError):
        tg.set_member(GROUP, 7, "owner")


# ------------------------------------------------------------------ fault injection


async def test_injected_429_raises_retry_after_with_the_given_delay(
    tg: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22's forward-compatible retry_after type
    tg.fail_next("sendMessage", status=429, retry_after=1)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "flood")

    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert tg.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await bot.send_message(USER, "flood")  # only the next call failed
    assert len(tg.sent) == 1


async def test_injected_500_raises_network_error_the_given_number_of_times(
    tg: FakeTelegram, bot: Bot
):
    tg.fail_next("getUpdates", status=500, times=2)

    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.get_updates()
    assert await bot.get_updates() == ()


async def test_dropped_connection_raises_network_error_and_next_call_works(
    tg: FakeTelegram, bot: Bot
):
    tg.inject_message(USER, "hello")
    tg.drop_connections(1, method="getUpdates")

    with pytest.raises(NetworkError):
        await bot.get_updates(timeout=5)

    assert [u.message.text for u in await bot.get_updates()] == ["hello"]
    assert [c.fault for c in tg.calls if c.method == "getUpdates"] == ["dropped", None]


async def test_delayed_send_times_out_client_side_but_is_still_delivered(
    tg: FakeTelegram, bot: Bot
):
    tg.delay_next("sendMessage", 0.5)

    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.1)

    await tg.wait_for("sendMessage")
    assert [m.text for m in tg.sent] == ["slow"]


async def test_a_polling_ptb_application_answers_and_shuts_down_cleanly(tg: FakeTelegram):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html("<b>Welcome</b>")

    app = (
        ApplicationBuilder().token(TOKEN)
        .base_url(tg.base_url).base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10)
        tg.inject_message(GROUP, "/start@crimebot", user_id=7)
        await tg.wait_for("sendMessage")
        await app.updater.stop()
        await app.stop()

    assert tg.sent[-1].plain_text == "Welcome"
    assert tg.sent[-1].chat_id == GROUP
    assert tg.pending_updates == []  # the update was confirmed on shutdown


# ------------------------------------------------------------------ raw HTTP behaviour


async def test_wrong_token_and_unknown_method_get_telegrams_exact_errors(tg: FakeTelegram):
    async with httpx.AsyncClient(base_url=tg.url) as client:
        wrong_token = await client.post("/bot123456:WRONG/getMe")
        unknown = await client.post(f"/bot{TOKEN}/sendTelepathy")

    assert wrong_token.status_code == 401
    assert wrong_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_wrong_token_makes_ptb_raise_invalid_token(tg: FakeTelegram):
    with pytest.raises(InvalidToken):
        async with Bot("123456:WRONG", base_url=tg.base_url):
            pass


async def test_json_form_and_query_bodies_are_decoded_alike(tg: FakeTelegram):
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    async with httpx.AsyncClient(base_url=f"{tg.url}/bot{TOKEN}") as client:
        as_json = await client.post(
            "/sendMessage", json={"chat_id": USER, "text": "j", "reply_markup": markup}
        )
        as_form = await client.post(
            "/sendMessage",
            data={"chat_id": str(USER), "text": "f", "reply_markup": '{"inline_keyboard": '
                  '[[{"text": "a", "callback_data": "a"}]]}'},
        )
        as_query = await client.get("/sendMessage", params={"chat_id": USER, "text": "q"})

    assert [r.status_code for r in (as_json, as_form, as_query)] == [200, 200, 200]
    assert [c.params["chat_id"] for c in tg.calls] == [USER, USER, USER]
    assert tg.calls[0].params["reply_markup"] == tg.calls[1].params["reply_markup"] == markup


async def test_wait_for_returns_each_matching_call_once(tg: FakeTelegram, bot: Bot):
    await bot.send_message(USER, "first")
    await bot.send_message(USER, "second")

    first = await tg.wait_for("sendMessage")
    second = await tg.wait_for(lambda c: c.params["text"] == "second")

    assert (first.params["text"], second.params["text"]) == ("first", "second")
    with pytest.raises(AssertionError, match="no call matching"):
        await tg.wait_for("sendMessage", timeout=0.05)


# ------------------------------------------------------------------ parsers


def test_html_entities_use_utf16_offsets_and_pre_code_language():
    text, entities = parse_html(
        '👮 <b>bold</b> <a href="https://ons.gov.uk">ONS</a>\n'
        '<pre><code class="language-python">x = 1</code></pre>'
    )

    assert text == "👮 bold ONS\nx = 1"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 3, "url": "https://ons.gov.uk"},
        {"type": "pre", "offset": 12, "length": 5, "language": "python"},
    ]


def test_html_error_positions_are_byte_offsets():
    # "é" is two bytes in UTF-8, so "</i>" starts at byte 7 although it is character 6.
    with pytest.raises(EntityParseError, match="Unmatched end tag at byte offset 7"):
        parse_html("é <b>x</i>")


@given(st.text())
def test_any_html_escaped_text_parses_back_to_itself(text: str):
    assert parse_html(html.escape(text)) == (text, [])
