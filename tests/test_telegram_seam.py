"""Fast handler tests through python-telegram-bot's request seam, as PTB's own tests do: a
`BaseRequest` that records every Bot API call and answers it from a script, so a whole update —
gate, handler, limiter, exactly-once delivery, inbox — runs in milliseconds without a server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.config import Config
from bot.telegram import (
    NOT_ALLOWED,
    STALE_BUTTON,
    Limits,
    Tuning,
    build_application,
    open_serving_engine,
    runner_of,
)
from bot.telegram.inbox import Inbox

TOKEN = "123456:TEST-seam"
BOT = {"id": 123456, "is_bot": True, "first_name": "Crime Bot", "username": "crimebot"}
QUESTION = "sexual offences Wrexham 2022"
Reply = Callable[[dict[str, Any]], tuple[int, Any]]


class RecordingRequest(BaseRequest):
    """Answers like the Bot API from `script` (method → callable) and records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.script: dict[str, list[Reply]] = {}
        self._ids = iter(range(100, 10_000))

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 1.0

    def then(self, method: str, reply: Reply) -> None:
        self.script.setdefault(method, []).append(reply)

    def made(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        if self.script.get(name):
            status, result = self.script[name].pop(0)(params)
        else:
            status, result = 200, self.default(name, params)
        body = ({"ok": True, "result": result} if status == 200 else
                {"ok": False, "error_code": status, "description": result})
        return status, json.dumps(body).encode()

    def default(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT
        if name in ("sendMessage", "sendPhoto"):
            return {"message_id": next(self._ids), "date": int(time.time()), "from": BOT,
                    "chat": {"id": params["chat_id"], "type": "group", "title": "Newsroom"},
                    "text": params.get("text", "")}
        return True


def cut_after_effect(params: dict[str, Any]) -> tuple[int, Any]:
    raise NetworkError("httpx.RemoteProtocolError: Server disconnected without a response")


def connection_refused(params: dict[str, Any]) -> tuple[int, Any]:
    error = NetworkError("httpx.ConnectError: connection refused")
    error.__cause__ = httpx.ConnectError("connection refused")
    raise error


def message(update_id: int, text: str, *, chat: int = -42, user: int = 7, age: float = 0,
            message_id: int = 10) -> dict[str, Any]:
    command = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] \
        if text.startswith("/") else []
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(time.time() - age), "text": text,
        "entities": command,
        "chat": {"id": chat, "type": "group" if chat < 0 else "private", "title": "Newsroom"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann"}}}


def button(update_id: int, data: str | None, *, user: int = 7) -> dict[str, Any]:
    query = {"id": f"q{update_id}", "chat_instance": "c", "from": {
        "id": user, "is_bot": False, "first_name": "Ann"}, "message": {
            "message_id": 3, "date": int(time.time()), "from": BOT, "text": "answer",
            "chat": {"id": -42, "type": "group", "title": "Newsroom"}}}
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


@pytest.fixture(scope="module")
def db_path(tiny_db: Path) -> Path:
    """The tiny store built in code (tests/fixtures.py): these tests check delivery, not ONS's
    figures, so they run without the ONS files."""
    return tiny_db


@pytest.fixture(scope="module")
def engine(db_path):
    return open_serving_engine(db_path)


@pytest.fixture
async def bot(db_path, engine, tmp_path):
    """Makes initialised applications on a recording request: (runner, request)."""

    async def make(chats: frozenset[int] = frozenset(), **timing: float
                   ) -> tuple[Any, RecordingRequest]:
        request = RecordingRequest()
        config = Config(token=TOKEN, db_path=db_path, api_base_url="http://seam.invalid/bot",
                        allowed_chats=chats, allowed_users=frozenset(), cooldown_seconds=0,
                        log_level="INFO", inbox=tmp_path / "inbox.db",
                        heartbeat=tmp_path / "heartbeat", desk=tmp_path / "desk.db")
        tuning = Tuning(limits=Limits().scaled(0.001), probe_pause=0, **timing)
        application = build_application(config, engine, tuning, request=request)
        await application.initialize()
        made.append(application)
        return runner_of(application), request

    made: list[Any] = []
    yield make
    for application in made:
        await application.shutdown()
        runner_of(application).inbox.close()
        runner_of(application).services.desk.close()


async def deliver(runner: Any, *bodies: dict[str, Any]) -> None:
    runner.accept([(Update.de_json(body, runner.application.bot), body) for body in bodies])
    assert await runner.queues.join(10)


async def test_a_question_is_answered_once_in_html_as_a_reply(bot):
    runner, request = await bot()
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    (sent,) = request.made("sendMessage")
    assert sent["parse_mode"] == "HTML"  # from Defaults, not from each call site
    assert sent["text"].startswith("<b>") and "536" in sent["text"]
    assert sent["reply_parameters"]["message_id"] == 10
    assert runner.inbox.counts() == {"done": 1}


async def test_a_redelivered_update_is_answered_once(bot):
    runner, request = await bot()
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert len(request.made("sendMessage")) == 1


async def test_a_send_cut_after_it_took_effect_is_found_by_the_probe_and_not_repeated(bot):
    runner, request = await bot()
    request.then("sendMessage", cut_after_effect)
    request.then("editMessageReplyMarkup", lambda p: (400, "Bad Request: message is not "
                                                      "modified: specified new message content "
                                                      "and reply markup are exactly the same"))
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert len(request.made("sendMessage")) == 1
    (probe,) = request.made("editMessageReplyMarkup")
    assert probe["message_id"] == 11  # the id after the question's
    assert runner.inbox.progress(1).sent == 1


async def test_a_send_cut_before_it_took_effect_is_sent_again_after_the_probe(bot):
    runner, request = await bot()
    request.then("sendMessage", cut_after_effect)
    request.then("editMessageReplyMarkup",
                 lambda p: (400, "Bad Request: message to edit not found"))
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert len(request.made("sendMessage")) == 2
    assert "Sorry" not in request.made("sendMessage")[-1]["text"]


async def test_a_restart_does_not_resend_what_was_delivered_before_it(bot, tmp_path):
    Inbox(tmp_path / "inbox.db").add([(1, message(1, f"/crime {QUESTION}"), True)])
    journal = Inbox(tmp_path / "inbox.db")
    journal.intend(1, 0, 10)
    journal.delivered(1, 0)
    runner, request = await bot()
    assert runner.replay() == 1
    assert await runner.queues.join(10)
    assert request.made("sendMessage") == []
    assert runner.inbox.counts() == {"done": 1}


async def test_a_question_answered_minutes_late_says_so(bot):
    runner, request = await bot()
    await deliver(runner, message(1, f"/crime {QUESTION}", age=600))
    (sent,) = request.made("sendMessage")
    assert sent["text"].startswith("<i>Sorry for the late reply: you asked this at ")
    assert "536" in sent["text"]


@pytest.mark.parametrize("data", [None, "garbage", "v1|a|W14000006|x|2022-13-40"])
async def test_an_undecodable_button_is_still_answered(bot, data):
    runner, request = await bot()
    await deliver(runner, button(1, data))
    (answered,) = request.made("answerCallbackQuery")
    assert answered["text"] == STALE_BUTTON


async def test_a_denied_button_press_is_answered_and_nothing_else_happens(bot):
    runner, request = await bot(chats=frozenset({-99}))
    await deliver(runner, button(1, "v1|c|W14000006|sexual|"))
    (answered,) = request.made("answerCallbackQuery")
    assert answered["text"] == NOT_ALLOWED
    assert not request.made("sendMessage") and not request.made("sendPhoto")


async def test_a_reply_telegram_will_not_take_now_stays_in_the_inbox_without_a_sorry(bot):
    runner, request = await bot()
    for _ in range(5):  # every attempt fails before reaching Telegram
        request.then("sendMessage", connection_refused)
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert runner.inbox.counts() == {"pending": 1}
    assert len(request.made("sendMessage")) == 5  # no sixth message saying sorry


async def until_done(runner: Any) -> None:
    while runner.inbox.counts().get("pending"):
        await asyncio.sleep(0.01)  # polls the journal; asserts nothing about time


async def test_a_reply_that_never_reached_telegram_is_sent_again_until_delivered(bot):
    runner, request = await bot(unsent_retry=0.01)
    for _ in range(12):  # the Bot API refuses connections through two rounds of attempts
        request.then("sendMessage", connection_refused)
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert runner.status.snapshot()["replies_waiting"] == 1  # counted while it waits
    await asyncio.wait_for(until_done(runner), 60)
    *refused, sent = request.made("sendMessage")
    assert len(refused) == 12 and "536" in sent["text"]
    assert runner.status.snapshot()["replies_waiting"] == 0
    assert runner.inbox.counts() == {"done": 1}


async def test_a_reply_that_cannot_be_delivered_for_too_long_is_given_up_loudly(bot, caplog):
    runner, request = await bot(give_up=0)
    for _ in range(5):
        request.then("sendMessage", connection_refused)
    await deliver(runner, message(1, f"/crime {QUESTION}"))
    assert runner.status.snapshot()["replies_given_up"] == 1
    assert runner.inbox.counts() == {"done": 1}
    assert "update id=1 status=gave_up" in caplog.text


def test_the_inbox_dedupes_and_forgets_only_old_answered_updates(tmp_path):
    inbox = Inbox(tmp_path / "inbox.db")
    assert inbox.add([(1, {}, True), (2, {}, True)], now=0.0) == [1, 2]
    assert inbox.add([(2, {}, True), (3, {}, True)], now=0.0) == [3]  # a re-delivery
    inbox.finish(1, "answered", now=0.0)
    inbox.finish(2, "answered", now=10 ** 9)
    assert inbox.prune(now=10 ** 9) == 1  # update 1 is days old; 2 just finished; 3 pending
    assert [u for u, _, _ in inbox.pending()] == [3]
    assert inbox.add([(2, {}, True)]) == []


# --- the release-day desk -----------------------------------------------------------------------


def member(status: str) -> Reply:
    rights = {right: True for right in (
        "can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
        "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
        "can_post_stories", "can_edit_stories", "can_delete_stories")}
    extra = {**rights, "is_anonymous": False} if status == "administrator" else {}
    return lambda params: (200, {"status": status, "user": {
        "id": params["user_id"], "is_bot": False, "first_name": "Ann"}, **extra})


async def test_a_digest_to_a_group_that_removed_the_bot_turns_its_alerts_off(bot):
    runner, request = await bot()
    desk = runner.services.desk
    desk.subscribe(-42, may_change=True)
    assert runner.inbox.post("digest:-42:pfa-2024-12-31", -42, {"text": "<b>New</b>",
                                                                "markup": None})
    request.then("sendMessage", lambda p: (403, "Forbidden: bot was kicked from the group chat"))
    runner.send_outbox()
    assert await runner.queues.join(10)
    assert not desk.is_subscribed(-42)
    assert runner.inbox.posted() == {"digest:-42:pfa-2024-12-31": "forbidden"}


async def test_digests_left_in_the_outbox_by_a_restart_are_sent_once_each(bot, tmp_path):
    journal = Inbox(tmp_path / "inbox.db")
    for chat in (-42, -43):
        journal.post(f"digest:{chat}:e1", chat, {"text": f"digest for {chat}", "markup": None})
    journal.intend("digest:-43:e1", 0, 10)
    journal.delivered("digest:-43:e1", 0)  # it went out just before the process stopped
    journal.close()
    runner, request = await bot()
    runner.replay()
    assert await runner.queues.join(10)
    assert [p["chat_id"] for p in request.made("sendMessage")] == [-42]
    assert set(runner.inbox.posted().values()) == {"sent"}


async def test_a_group_upgraded_to_a_supergroup_keeps_its_patch_and_alerts(bot):
    runner, request = await bot()
    request.then("getChatMember", member("administrator"))
    request.then("getChatMember", member("administrator"))
    await deliver(runner, message(1, "/patch Wrexham", message_id=10),
                  message(2, "/subscribe", message_id=11))
    upgraded = message(3, "x", message_id=12)
    del upgraded["message"]["text"], upgraded["message"]["entities"]
    upgraded["message"]["migrate_to_chat_id"] = -1001234567890
    await deliver(runner, upgraded)
    desk = runner.services.desk
    assert [a.name for a in desk.patch(-1001234567890)] == ["Wrexham"]
    assert desk.is_subscribed(-1001234567890) and not desk.patch(-42)


async def test_a_member_is_refused_and_an_admin_posting_as_the_group_is_not_asked_about(bot):
    runner, request = await bot()
    request.then("getChatMember", member("member"))
    await deliver(runner, message(1, "/patch Wrexham"))
    anonymous = message(2, "/patch Wrexham", message_id=11)
    anonymous["message"]["sender_chat"] = anonymous["message"]["chat"]
    await deliver(runner, anonymous)
    refused, changed = (p["text"] for p in request.made("sendMessage"))
    assert refused == "Only the group's admins can change its patch and alerts."
    assert changed.startswith("This chat's patch: Wrexham")
    assert len(request.made("getChatMember")) == 1


async def test_a_ranking_question_is_one_message_whose_buttons_send_the_answer_below(bot):
    runner, request = await bot()
    await deliver(runner, message(
        1, "/crime which area in Greater Manchester has the highest burglary rate"))
    (ranking,) = request.made("sendMessage")
    rows = ranking["reply_markup"]["inline_keyboard"]
    data = rows[0][0]["callback_data"]
    assert data.startswith("v1|o|") and len(rows) >= 3
    await deliver(runner, button(2, data))
    _, opened = request.made("sendMessage")
    assert opened["text"].startswith("<b>") and "burglar" in opened["text"]
    assert opened["reply_parameters"]["message_id"] == 3  # under the pressed message
    assert not request.made("editMessageText")
