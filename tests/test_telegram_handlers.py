"""Fast tests of the Telegram layer's decisions, without a network: every rule that decides who
is answered, what counts as a question, and what a reply or button looks like."""

from __future__ import annotations

import asyncio
import html
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, User

from bot.answer import Answer, Choice
from bot.config import DEFAULT_API_BASE_URL, Config, ConfigError
from bot.store import DEFAULT_DB
from bot.telegram import (
    ACTION_ANSWER,
    ACTION_CHART,
    MAX_CALLBACK_BYTES,
    Access,
    FloodGuard,
    Limiter,
    Limits,
    answer_html,
    answer_keyboard,
    command_question,
    decode_callback,
    encode_callback,
    escaped_len,
    inline_article,
    offence_digest,
    question_in,
    replies_to_bot,
    resolve_offence,
    split_message,
    utf16_len,
)
from bot.telegram.access import Pace
from tests.fake_telegram import parse_html

TOKEN = "123456:TEST-token_abc"
BOT_ID = 123456

# --- configuration ------------------------------------------------------------------------------


def test_config_defaults_need_only_the_token():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert config.token == TOKEN
    assert config.db_path == DEFAULT_DB
    assert config.api_base_url == DEFAULT_API_BASE_URL
    assert config.file_base_url == "https://api.telegram.org/file/bot"
    assert config.allowed_chats == frozenset() and config.allowed_users == frozenset()
    assert config.cooldown_seconds == 2.0
    assert config.log_level == "INFO"


def test_config_reads_every_variable():
    config = Config.from_env({
        "TELEGRAM_BOT_TOKEN": f" {TOKEN} ",
        "CRIMEBOT_DB": "/srv/crime.db",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot/",
        "CRIMEBOT_ALLOWED_CHATS": "-1001234567890, -42,",
        "CRIMEBOT_ALLOWED_USERS": "7",
        "CRIMEBOT_COOLDOWN_SECONDS": "0.5",
        "CRIMEBOT_LOG_LEVEL": "debug",
    })
    assert config.token == TOKEN
    assert config.db_path == Path("/srv/crime.db")
    assert config.api_base_url == "http://127.0.0.1:8081/bot"
    assert config.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert config.allowed_chats == {-1001234567890, -42}
    assert config.allowed_users == {7}
    assert config.cooldown_seconds == 0.5
    assert config.log_level == "DEBUG"


def test_blank_values_mean_the_default():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "CRIMEBOT_DB": "",
                              "TELEGRAM_API_BASE_URL": " ", "CRIMEBOT_COOLDOWN_SECONDS": ""})
    assert (config.db_path, config.api_base_url, config.cooldown_seconds) == (
        DEFAULT_DB, DEFAULT_API_BASE_URL, 2.0)


@pytest.mark.parametrize(("name", "value"), [
    ("TELEGRAM_BOT_TOKEN", ""),
    ("TELEGRAM_BOT_TOKEN", "replace-with-the-token-from-BotFather"),
    ("TELEGRAM_BOT_TOKEN", "123:abc def"),
    ("TELEGRAM_API_BASE_URL", "api.telegram.org/bot"),
    ("TELEGRAM_API_BASE_URL", "https://api.telegram.org"),
    ("TELEGRAM_API_BASE_URL", "ftp://example.org/bot"),
    ("CRIMEBOT_ALLOWED_CHATS", "-100123,general"),
    ("CRIMEBOT_ALLOWED_USERS", "7;8"),
    ("CRIMEBOT_COOLDOWN_SECONDS", "two"),
    ("CRIMEBOT_COOLDOWN_SECONDS", "-1"),
    ("CRIMEBOT_COOLDOWN_SECONDS", "nan"),
    ("CRIMEBOT_LOG_LEVEL", "LOUD"),
])
def test_a_bad_setting_names_its_variable(name, value):
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, name: value}
    with pytest.raises(ConfigError, match=name):
        Config.from_env(environ)


def test_the_token_is_never_echoed_in_a_config_error():
    secret = "123:not a token"
    with pytest.raises(ConfigError) as error:
        Config.from_env({"TELEGRAM_BOT_TOKEN": secret})
    assert secret not in str(error.value)


# --- callback data ------------------------------------------------------------------------------

areas = st.from_regex(r"[A-Z][0-9]{8}", fullmatch=True)
offences = st.from_regex(r"[a-z][a-z0-9_-]{0,79}", fullmatch=True)
periods = st.dates().map(lambda d: d.isoformat()) | st.none()


@given(st.sampled_from([ACTION_ANSWER, ACTION_CHART]), areas, offences, periods)
def test_callback_data_round_trips_within_64_bytes(action, area, offence, period):
    data = encode_callback(action, area, offence, period)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    pressed = decode_callback(data)
    assert pressed is not None
    assert (pressed.action, pressed.area, pressed.period) == (action, area, period)
    assert resolve_offence(pressed.offence, ["other", offence]) == offence


def test_callback_data_is_readable_and_versioned():
    assert encode_callback(ACTION_ANSWER, "E22000009", "sexual", "2024-12-31") == (
        "v1|a|E22000009|sexual|2024-12-31")


def test_a_long_offence_key_travels_as_a_digest():
    key = "4-9-causing-death-by-driving-unlicensed-or-disqualified-or-uninsured-drivers"
    data = encode_callback(ACTION_ANSWER, "K04000001", key, "2024-12-31")
    pressed = decode_callback(data)
    assert pressed is not None and pressed.offence == offence_digest(key)
    assert resolve_offence(pressed.offence, ["sexual", key]) == key
    assert resolve_offence(pressed.offence, ["sexual"]) is None


@pytest.mark.parametrize("data", [
    "", "v1", "v2|a|E22000009|sexual|2024-12-31", "v1|x|E22000009|sexual|2024-12-31",
    "v1|a|E22000009|sexual|2024-02-30", "v1|a|E22000009|sexual|31/12/2024",
    "v1|a|E22000009|sexual|2024-12-31|extra", "v1|a||sexual|", "v1|a|E22000009||",
    "v1|a|<b>|sexual|", "v1|a|E22000009|Sexual Offences|", "v1|a|E22000009|#zz|",
    "v1|a|E22000009|" + "x" * 60 + "|",
])
def test_stale_or_forged_callback_data_is_refused(data):
    assert decode_callback(data) is None


# --- which messages are questions ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "question"), [
    ("/crime sexual offences Wrexham 2022", "sexual offences Wrexham 2022"),
    ("/crime@crimebot   burglary Leeds ", "burglary Leeds"),
    ("/crime\nburglary Leeds", "burglary Leeds"),
    ("/crime", ""),
    ("/crime@crimebot", ""),
])
def test_the_question_is_everything_after_the_command(text, question):
    assert command_question(text) == question


@pytest.mark.parametrize(("text", "chat_type", "replying", "question"), [
    ("burglary Leeds", "private", False, "burglary Leeds"),
    ("@crimebot burglary Leeds", "private", False, "burglary Leeds"),
    ("burglary Leeds", "group", False, None),
    ("burglary Leeds", "supergroup", False, None),
    ("@crimebot burglary Leeds", "group", False, "burglary Leeds"),
    ("@CrimeBot burglary Leeds", "supergroup", False, "burglary Leeds"),
    ("what about @crimebot burglary in Leeds?", "group", False, "what about burglary in Leeds?"),
    ("@crimebotfan burglary Leeds", "group", False, None),
    ("mail me at news@crimebot.example", "group", False, None),
    ("and in Leeds?", "group", True, "and in Leeds?"),
    ("@crimebot", "group", False, ""),
])
def test_groups_answer_only_mentions_and_replies(text, chat_type, replying, question):
    assert question_in(text, chat_type, "crimebot", replying) == question


def _message(reply_from: User | None = None, via: User | None = None) -> Message:
    chat = Chat(-42, "group")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    target = None
    if reply_from or via:
        target = Message(1, when, chat, from_user=reply_from, via_bot=via, text="answer")
    return Message(2, when, chat, from_user=User(7, "Reporter", False), text="and Leeds?",
                   reply_to_message=target)


def test_a_reply_to_the_bot_or_to_its_inline_answer_counts():
    bot = User(BOT_ID, "Crime Bot", True, username="crimebot")
    other = User(99, "Someone", False)
    assert replies_to_bot(_message(reply_from=bot), BOT_ID)
    assert replies_to_bot(_message(reply_from=other, via=bot), BOT_ID)
    assert not replies_to_bot(_message(reply_from=other), BOT_ID)
    assert not replies_to_bot(_message(), BOT_ID)


# --- who may ask, and how often -----------------------------------------------------------------


@pytest.mark.parametrize(("chats", "users", "chat_id", "chat_type", "user_id", "allowed"), [
    (set(), frozenset(), -42, "group", 7, True),
    (set(), frozenset(), 7, "private", 7, True),
    (set(), frozenset(), None, None, 7, True),
    ({-42}, frozenset(), -42, "group", 7, True),
    ({-42}, frozenset(), -43, "group", 7, False),
    ({-42}, frozenset(), -1009, "supergroup", 7, False),
    ({-42}, frozenset(), 8, "private", 8, True),
    ({-42}, frozenset({7}), 8, "private", 8, False),
    ({-42}, frozenset({7}), 7, "private", 7, True),
    ({-42, 8}, frozenset({7}), 8, "private", 8, True),
    ({-42}, frozenset({7}), None, None, 7, True),
    ({-42}, frozenset({7}), None, None, 8, False),
    ({-42}, frozenset({7}), -42, "group", 8, True),
])
def test_the_gate_checks_groups_by_chat_and_private_and_inline_by_user(
        chats, users, chat_id, chat_type, user_id, allowed):
    assert Access(set(chats), users).allows(chat_id, chat_type, user_id) is allowed


def test_a_migrated_group_stays_allowed():
    access = Access({-42}, frozenset())
    assert not access.allows(-1001, "supergroup", 7)
    assert access.migrate(-42, -1001)
    assert access.allows(-1001, "supergroup", 7)
    assert not Access({-42}, frozenset()).migrate(-43, -1002)


def test_the_flood_guard_paces_each_person_and_tells_them_once_per_burst():
    now = [100.0]
    guard = FloodGuard(2.0, clock=lambda: now[0])
    assert [guard.book(7) for _ in range(3)] == [Pace(0.0, False), Pace(2.0, True),
                                                 Pace(4.0, False)]
    assert guard.book(8) == Pace(0.0, False)  # another reporter in the same group is not held
    now[0] += 10.0
    assert [guard.book(7) for _ in range(2)] == [Pace(0.0, False), Pace(2.0, True)]


def test_the_flood_guard_tells_only_waits_a_person_would_notice_once_per_burst():
    guard = FloodGuard(2.0, clock=lambda: 100.0, notice=20.0)
    assert guard.book(7, waited=0.0) == Pace(0.0, False)
    assert guard.book(7, waited=1.0) == Pace(2.0, False)  # a short wait only shows "typing"
    assert guard.book(7, waited=17.0) == Pace(4.0, True)  # 21 s since asking: say so
    assert guard.book(7, waited=30.0) == Pace(6.0, False)  # once per burst


def test_no_flood_guard_never_delays():
    guard = FloodGuard(0)
    assert {guard.book(7).wait for _ in range(5)} == {0.0}


# --- replies ------------------------------------------------------------------------------------


def _fits(chunk: str, limit: int) -> bool:
    return escaped_len(chunk) <= limit


@settings(max_examples=200)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000),
       st.integers(min_value=10, max_value=600))
def test_split_message_fits_and_keeps_every_word(text, limit):
    chunks = split_message(text, limit)
    assert all(chunk and _fits(chunk, limit) for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_split_message_leaves_short_text_alone():
    text = "Headline.\n\nSecond paragraph."
    assert split_message(text) == [text]


def test_split_message_breaks_on_lines_before_the_limit():
    lines = [f"line {n} " + "x" * 90 for n in range(100)]
    chunks = split_message("\n".join(lines), 4096)
    assert len(chunks) == 3
    assert [line for chunk in chunks for line in chunk.split("\n")] == lines
    assert all(len(chunk) <= 4096 for chunk in chunks)


def test_split_message_counts_the_escaped_length():
    text = "&" * 5000
    chunks = split_message(text, 4096)
    assert all(len(html.escape(chunk)) <= 4096 for chunk in chunks)
    assert "".join(chunks) == text
    assert len(chunks) == 7


def test_split_message_counts_emoji_as_two():
    chunks = split_message("📈" * 3000, 4096)
    assert [utf16_len(chunk) for chunk in chunks] == [4096, 1904]


def test_answers_are_escaped_and_telegram_accepts_them():
    text = "Risk <b>rose</b> & fell in A&E > 3 < 5.\n\nSource: ONS, Crime in England & Wales"
    (message,) = answer_html(text)
    plain, entities = parse_html(message)
    assert plain == text
    assert entities == [{"type": "bold", "offset": 0, "length": len(text.split("\n\n")[0])}]


def test_a_long_answer_becomes_several_valid_messages():
    text = "Headline & <more>.\n\n" + "\n".join("row & <tag> " * 20 for _ in range(60))
    messages = answer_html(text)
    assert len(messages) > 1
    plains = [parse_html(message)[0] for message in messages]
    assert all(len(plain) <= 4096 and utf16_len(message) <= 4096
               for plain, message in zip(plains, messages, strict=True))
    assert "".join("".join(plains).split()) == "".join(text.split())


def _ok_answer(**fields: object) -> Answer:
    defaults: dict = {"area_code": "W14000006", "area_name": "Wrexham", "offence_key": "sexual",
                      "offence_label": "Sexual offences", "period_end": "2022-12-31",
                      "earlier_period": "2021-12-31", "later_period": "2023-12-31"}
    return Answer("ok", "536 sexual offences.\n\nMore.", **{**defaults, **fields})


def _buttons(answer: Answer) -> list[tuple[str, str]]:
    markup = answer_keyboard(answer)
    assert markup is not None
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]


def test_a_figure_has_previous_chart_next_and_source_buttons():
    assert _buttons(_ok_answer()) == [
        ("◀ Dec 2021", "v1|a|W14000006|sexual|2021-12-31"),
        ("📈 Chart", "v1|c|W14000006|sexual|2022-12-31"),
        ("Dec 2023 ▶", "v1|a|W14000006|sexual|2023-12-31"),
        ("Where is this from?", "v1|s|W14000006|sexual|2022-12-31"),
    ]
    assert [text for text, _ in _buttons(_ok_answer(later_period=None))] == [
        "◀ Dec 2021", "📈 Chart", "Where is this from?"]


def test_an_ambiguous_place_offers_one_button_per_candidate():
    answer = Answer("ambiguous", "Which Newcastle?", offence_key="violence", candidates=(
        Choice("E22000245", "Newcastle upon Tyne", "csp", "Northumbria"),
        Choice("E22000266", "Newcastle-under-Lyme", "csp", "Staffordshire")))
    assert _buttons(answer) == [
        ("Newcastle upon Tyne (local area, Northumbria)", "v1|a|E22000245|violence|"),
        ("Newcastle-under-Lyme (local area, Staffordshire)", "v1|a|E22000266|violence|"),
    ]


def test_no_buttons_without_a_figure():
    assert answer_keyboard(Answer("not_found", "No such place.")) is None
    assert answer_keyboard(_ok_answer(area_code=None)) is None


def test_inline_articles_have_short_unique_ids():
    first, second = inline_article(0, _ok_answer()), inline_article(1, _ok_answer())
    assert first.id != second.id and len(first.id.encode()) <= 64
    assert first.title == "Wrexham: Sexual offences, Dec 2022"
    assert first.description == "536 sexual offences."


# --- the limiter ----------------------------------------------------------------------------------


def most_in_window(times: list[int], window: int) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


LIMITS = Limits(chat_window=0.02, group_max=3, group_window=0.2, overall_max=4,
                overall_window=0.05)
FAR_CLOCK = 10**18  # a clock read far from zero, where float seconds lose their nanoseconds


def far_clock() -> int:
    return time.monotonic_ns() + FAR_CLOCK


async def through_limiter(limiter: Limiter, chats: list[int], seed: int = 7
                          ) -> list[tuple[int, int]]:
    """Send one message per entry of `chats` at once through PTB's rate-limiter seam; each
    request dawdles a random while in the pool and on the wire before "Telegram" receives it.
    Returns (chat, the clock when Telegram received it), in order of receipt."""
    jitter = random.Random(seed)
    received: list[tuple[int, int]] = []

    async def request(chat: int) -> bool:
        await asyncio.sleep(jitter.uniform(0, 0.01))
        received.append((chat, limiter.clock()))
        await asyncio.sleep(jitter.uniform(0, 0.01))
        return True

    await asyncio.gather(*(limiter.process_request(request, (chat,), {}, "sendMessage",
                                                   {"chat_id": chat}, None) for chat in chats))
    return received


async def test_the_limiter_holds_every_window_as_telegram_receives_the_messages():
    limiter = Limiter(LIMITS, clock=far_clock)
    chats = [[-1, -2, 5, 6][n % 4] for n in range(48)]
    received = await through_limiter(limiter, chats)
    assert sorted(c for c, _ in received) == sorted(chats)  # queued, never refused
    ns = 10**9
    assert most_in_window([t for _, t in received],
                          round(LIMITS.overall_window * ns)) <= LIMITS.overall_max
    for chat in set(chats):
        times = [t for c, t in received if c == chat]
        assert most_in_window(times, round(LIMITS.chat_window * ns)) <= LIMITS.chat_max
        if chat < 0:
            assert most_in_window(times, round(LIMITS.group_window * ns)) <= LIMITS.group_max


async def test_a_quiet_chat_is_let_through_around_a_busy_group_not_behind_it():
    limiter = Limiter(LIMITS, clock=far_clock)
    busy = asyncio.ensure_future(through_limiter(limiter, [-1] * 9))
    await asyncio.sleep(0)
    quiet = await through_limiter(limiter, [-2])
    assert not busy.done()  # the busy group's nine take three of its windows
    await busy
    assert len(quiet) == 1


def test_a_chart_caption_quoting_a_long_ons_note_still_fits_telegrams_caption_limit():
    from bot.telegram.render import photo_caption, utf16_len

    headline = "Police in North West recorded 3,255 offences <knives> & more. " + "ONS: note " * 200
    caption = photo_caption(headline)
    assert utf16_len(caption) <= 1024
    assert caption.startswith("Police in North West recorded 3,255 offences &lt;knives&gt; &amp;")
