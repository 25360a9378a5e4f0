"""The handlers: wire updates to the answer engine, the access rules and the reply path.

No statistics live here. Every reply comes from `bot.reply.respond` (`Engine.ask`, or a ranking),
`Engine.answer_for`, or the desk's library (`bot.desk`, `bot.story`, `bot.subscriptions`), read
from one pinned store snapshot, and every message goes out through `Delivery`, which sends it
exactly once. Handlers flag the update's outcome on its `Job`; the log line reports it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, MessageLimit
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackContext, ExtBot

from bot import ops
from bot.answer import Answer, Engine
from bot.config import DEFAULT_FOLLOWUP_MINUTES
from bot.conversations import Conversations
from bot.desk import newest_edition
from bot.followup import reads_as_follow_up as follows_on
from bot.provenance import cite_answer
from bot.rankings import Ranking, ranking_buttons
from bot.reply import Turn, respond_after, topic_of
from bot.store import Store, StoreError
from bot.story import build_story
from bot.subscriptions import Subscriptions, patch_command
from bot.telegram.access import (
    Access,
    FloodGuard,
    command_question,
    question_in,
    replies_to_bot,
)
from bot.telegram.alerts import on_demand
from bot.telegram.callbacks import (
    ACTION_CHART,
    ACTION_OPEN,
    ACTION_SOURCE,
    decode_callback,
    resolve_offence,
)
from bot.telegram.followups import INLINE_NO_CONTEXT, lead_html, recall, remember
from bot.telegram.inbox import CURRENT_JOB, Delivery, Job
from bot.telegram.render import (
    EMPTY_QUESTION,
    EXAMPLE,
    INLINE_CACHE_SECONDS,
    MAX_INLINE_RESULTS,
    NO_CHART,
    NOT_ALLOWED,
    SLOW_DOWN,
    SORRY,
    STALE_BUTTON,
    about_text,
    answer_html,
    answer_keyboard,
    aside_html,
    desk_keyboard,
    inline_article,
    late_note,
    photo_caption,
    plain_html,
    ranking_html,
    sources_html,
    story_html,
)

log = logging.getLogger("bot.telegram")

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TYPING_S = 4.5  # Telegram shows a chat action for 5 s, or until the next message
UNSENT = "unsent"  # the outcome of an update whose reply could not be delivered: kept pending


@dataclass
class Services:
    """What every handler needs; the application owns its lifetime."""

    engine: Engine
    access: Access
    flood: FloodGuard
    delivery: Delivery
    status: ops.Status
    desk: Subscriptions
    conversations: Conversations
    followup_s: float = DEFAULT_FOLLOWUP_MINUTES * 60


class Context(CallbackContext[ExtBot[None], dict, dict, dict]):
    """The handlers' context, typed: `context.services` instead of a string key."""

    @property
    def services(self) -> Services:
        return self.bot_data["services"]


@dataclass(frozen=True)
class Said:
    """A command's one reply: its HTML and the buttons under it."""

    html: str
    markup: InlineKeyboardMarkup | None = None


Handler = Callable[[Update, Context], Awaitable[None]]


def replies(make: Callable[[Update, Context, Engine], Awaitable[Said]]) -> Handler:
    """The skeleton every one-message command shares, written once: wait for the asker's turn,
    make the reply from one pinned store snapshot (a store swapped in meanwhile cannot mix two
    editions into it), send it exactly once and flag the update answered. A failure anywhere
    reaches `on_error`, which says sorry only when nothing was delivered."""
    @functools.wraps(make)
    async def handle(update: Update, context: Context) -> None:
        await pace(update, context)
        engine = fresh_engine(context)
        with engine.store.snapshot():
            said = await make(update, context, engine)
        await say(context, update.message, said.html, said.markup)
        job().flag("answered")
    return handle


def job() -> Job:
    """The update being handled (a stand-in outside the inbox path, e.g. in unit tests)."""
    return CURRENT_JOB.get() or Job(update_id=0)


def refresh_store(engine: Engine) -> bool:
    """Pick up a store that `crimebot ingest` may have swapped in; True when it did."""
    try:
        if engine.store.refresh():
            log.info("store reopened (generation %d)", engine.store.generation)
            return True
    except StoreError as error:
        log.warning("the new store is not usable, still answering from the old one: %s", error)
    return False


def fresh_engine(context: Context) -> Engine:
    """The engine, after picking up a store that `crimebot ingest` may have swapped in."""
    engine = context.services.engine
    refresh_store(engine)
    return engine


def _reply_to(message: Message) -> ReplyParameters:
    """Answer as a reply, but still answer if the question was deleted meanwhile."""
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


async def say(context: Context, message: Message, text: str,
              markup: InlineKeyboardMarkup | None = None, *, reply: bool = True
              ) -> Message | None:
    """Post one HTML message in the question's chat, exactly once (None: sent before a
    restart)."""
    def send() -> Awaitable[Message]:
        return context.bot.send_message(
            message.chat_id, text, reply_parameters=_reply_to(message) if reply else None,
            reply_markup=markup, link_preview_options=NO_PREVIEW)
    return await context.services.delivery.send(message.chat_id, send, markup)


async def answer_query(query: CallbackQuery, text: str | None = None) -> bool:
    """Stop the button's spinner; False when Telegram no longer knows the query (too old)."""
    try:
        await query.answer(text)
    except BadRequest as error:
        log.info("could not answer callback query: %s", error.message)
        return False
    return True


async def pace(update: Update, context: Context) -> None:
    """The per-person flood guard: wait for the asker's turn showing "typing", and post a note
    only when the wait is long enough for a person to wonder (once per burst)."""
    user = update.effective_user
    if user is None or context.services.flood.seconds <= 0:
        return
    asked = update.message.date if update.message else None
    waited = (datetime.now(UTC) - asked).total_seconds() if asked else 0.0
    booked = context.services.flood.book(user.id, max(waited, 0.0))
    if booked.wait <= 0:
        return
    log.info("update id=%s status=delayed user=%s wait_s=%.1f", update.update_id, user.id,
             booked.wait)
    message = update.effective_message
    if not isinstance(message, Message):
        await asyncio.sleep(booked.wait)
        return
    if booked.tell:
        try:
            await context.bot.send_message(message.chat_id, SLOW_DOWN,
                                           reply_parameters=_reply_to(message))
        except TelegramError as error:
            log.info("could not send the slow-down note: %s", error)
    await typing_for(context, message.chat_id, booked.wait)


async def typing_for(context: Context, chat_id: int, seconds: float) -> None:
    """Show "typing…" in the chat for `seconds` (Telegram shows it for 5 s a time)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while (left := until - loop.time()) > 0:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            log.info("could not show typing in chat %s: %s", chat_id, error)
        await asyncio.sleep(min(left, TYPING_S))


def with_late_note(chunks: list[str], asked: datetime | None) -> list[str]:
    note = late_note(asked, datetime.now(UTC))
    if note is None:
        return chunks
    line = aside_html(note) + "\n\n"
    if len(line) + len(chunks[0]) <= MessageLimit.MAX_TEXT_LENGTH // 2:
        return [line + chunks[0], *chunks[1:]]
    return [line.strip(), *chunks]


async def send_answer(context: Context, message: Message, answer: Answer, *,
                      late: bool = True) -> list[Message | None]:
    """Reply with the answer, split if needed; the buttons go under the last part. `late`
    owns up to a reply long after `message` (a question, not a digest being opened)."""
    chunks = answer_html(answer.text)
    if late:
        chunks = with_late_note(chunks, message.date)
    keyboard = answer_keyboard(answer)
    sent = [await say(context, message, chunk, keyboard if number == len(chunks) else None)
            for number, chunk in enumerate(chunks, 1)]
    job().flag("answered")
    return sent


async def ask(message: Message, context: Context, question: str, command: str = "crime",
              measure: str | None = None) -> None:
    """Answer, following on from the answer replied to (or, in a private chat, the last one)
    when the question reads as a follow-up; `measure` is "chart" or "story" for those commands
    sent as a reply."""
    services = context.services
    recalled = recall(message, context.bot.id, services.conversations, services.followup_s)
    if not question and recalled.topic is None:
        await say(context, message, plain_html(
            EMPTY_QUESTION.format(command=command, example=EXAMPLE)))
        job().flag("answered")
        return
    if recalled.note:
        await say(context, message, aside_html(recalled.note))
    engine = fresh_engine(context)
    with engine.store.snapshot():
        turn = respond_after(engine, question, recalled.topic, measure=measure)
        reply = turn.reply
        if isinstance(reply, Ranking):
            sent = [await say(context, message, lead_html(turn) + ranking_html(reply),
                              desk_keyboard(ranking_buttons(reply)))]
            job().flag("answered")
        elif turn.measure in {"chart", "story"} and reply.status == "ok" and reply.area_code \
                and reply.offence_key:
            sent = [await (send_chart(message, context, reply.area_code, reply.offence_key,
                                      reply.period_end)
                           if turn.measure == "chart" else send_story(context, message, turn))]
        else:
            sent = await send_answer(context, message, reply)
    remember(services.conversations, message.chat_id, sent, turn)


async def send_chart(message: Message, context: Context, area: str, offence: str,
                     period_end: str | None = None) -> Message | None:
    """Build the chart's data from the pinned snapshot, render it off the event loop (matplotlib
    takes a moment); its caption is the headline figure and period, for screen readers too."""
    from bot.charts import ChartError, chart_data, render_chart

    engine = fresh_engine(context)
    with engine.store.snapshot():
        try:
            finding = engine.finding_for(area, offence, period_end)
            if finding is None:
                raise ChartError("the button is out of date")
            data = chart_data(engine.store, finding)
            png = await asyncio.to_thread(render_chart, data)
        except ChartError:
            sent = await say(context, message, NO_CHART)
            job().flag("answered")
            return sent
    caption = data.caption

    def send() -> Awaitable[Message]:
        return context.bot.send_photo(message.chat_id, png,
                                      caption=photo_caption(caption),
                                      reply_parameters=_reply_to(message))
    sent = await context.services.delivery.send(message.chat_id, send)
    job().flag("answered")
    return sent


async def gate(update: Update, context: Context) -> None:
    """Runs before every handler: keep allowed chats allowed across migration, stop the rest.

    A refused button press or inline query is still answered, so no spinner runs for ever.
    """
    access = context.services.access
    message = update.message
    if message:
        for old, new in ((message.chat_id, message.migrate_to_chat_id),
                         (message.migrate_from_chat_id, message.chat_id)):
            if old and new and access.migrate(old, new):
                log.warning("chat %s became supergroup %s; add %s to CRIMEBOT_ALLOWED_CHATS so "
                            "it stays allowed after a restart", old, new, new)
            if old and new and context.services.desk.migrate(old, new):
                log.info("patch and alerts of chat %s moved to supergroup %s", old, new)
    chat, user = update.effective_chat, update.effective_user
    if access.allows(chat.id if chat else None, chat.type if chat else None,
                     user.id if user else None):
        return
    job().flag("denied")
    log.info("refusing update %s from chat %s, user %s: not allowed", update.update_id,
             chat.id if chat else None, user.id if user else None)
    if update.callback_query:
        await answer_query(update.callback_query, NOT_ALLOWED)
    elif update.inline_query:
        await update.inline_query.answer([], cache_time=INLINE_CACHE_SECONDS, is_personal=True)
    member = update.my_chat_member
    if (member and chat and chat.type != ChatType.PRIVATE and member.new_chat_member.status
            in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)):
        log.warning("added to chat %s, which is not in CRIMEBOT_ALLOWED_CHATS: leaving", chat.id)
        await context.bot.leave_chat(chat.id)
    raise ApplicationHandlerStop


@replies
async def on_about(update: Update, context: Context, engine: Engine) -> Said:
    return Said(about_text(engine.store.editions()))


async def on_crime(update: Update, context: Context) -> None:
    message = update.message
    await pace(update, context)
    await ask(message, context, command_question(message.text))


def answers(command: str) -> Callable[[Callable[[Message, Context, Answer], Awaitable[object]]],
                                       Handler]:
    """The skeleton `/chart` and `/story` share, written once. Sent as a reply to an answer,
    the command gives that answer's chart or copy, reading any words after it as a follow-up
    ("/chart and Flintshire"); otherwise the question after it is answered from one pinned
    store snapshot and handed to the decorated function; with no question, the usual "ask me
    like this" reply. The asker's turn is waited for in every case."""
    def wrap(send: Callable[[Message, Context, Answer], Awaitable[object]]) -> Handler:
        @functools.wraps(send)
        async def handle(update: Update, context: Context) -> None:
            message = update.message
            await pace(update, context)
            question = command_question(message.text)
            if replies_to_bot(message, context.bot.id):
                await ask(message, context, question, command, measure=command)
                return
            if not question:
                await ask(message, context, question, command=command)
                return
            engine = fresh_engine(context)
            with engine.store.snapshot():
                await send(message, context, engine.ask(question))
        return handle
    return wrap


@answers("chart")
async def on_chart(message: Message, context: Context, answer: Answer) -> None:
    """`/chart QUESTION`: the chart when the question finds one figure, else the answer text."""
    if answer.status == "ok" and answer.area_code and answer.offence_key:
        await send_chart(message, context, answer.area_code, answer.offence_key,
                         answer.period_end)
    else:
        await send_answer(context, message, answer)


async def on_text(update: Update, context: Context) -> None:
    """Private text, mentions and replies; messages the bot itself posted inline are skipped."""
    message = update.message
    if message.via_bot is not None:
        return
    question = question_in(message.text, message.chat.type, context.bot.username,
                           replies_to_bot(message, context.bot.id))
    if question is not None:
        await pace(update, context)
        await ask(message, context, question)


async def on_button(update: Update, context: Context) -> None:
    """Candidate, period, chart and source buttons. Anything unusable gets a polite toast, not
    an error."""
    query = update.callback_query
    engine = fresh_engine(context)
    pressed = decode_callback(query.data)
    message = query.message
    with engine.store.snapshot():
        offence = (resolve_offence(pressed.offence, engine.store.offence_labels())
                   if pressed else None)
        answer = (engine.answer_for(pressed.area, offence, pressed.period)
                  if pressed and offence and pressed.action != ACTION_CHART else None)
        cited = (cite_answer(engine.store, answer)
                 if answer is not None and pressed and pressed.action == ACTION_SOURCE else ())
    if (pressed is None or offence is None or not isinstance(message, Message)
            or (answer is not None and answer.status != "ok")):
        await answer_query(query, STALE_BUTTON)
        job().flag("answered")
        return
    await answer_query(query)
    if pressed.action == ACTION_CHART:
        await pace(update, context)
        await send_chart(message, context, pressed.area, offence, pressed.period)
        return
    assert answer is not None
    if pressed.action == ACTION_SOURCE:
        await pace(update, context)
        await say(context, message, sources_html(cited), reply=False)
        job().flag("answered")
        return
    # The answer a button opens can be followed on from like any other.
    turn = Turn(answer, None, topic_of(answer))
    if pressed.action == ACTION_OPEN:
        await pace(update, context)
        sent = await send_answer(context, message, answer, late=False)
        remember(context.services.conversations, message.chat_id, sent, turn)
        return
    remember(context.services.conversations, message.chat_id, [message], turn)
    first, *rest = answer_html(answer.text)
    keyboard = answer_keyboard(answer)
    try:
        await query.edit_message_text(first, reply_markup=None if rest else keyboard,
                                      link_preview_options=NO_PREVIEW)
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise
    for number, chunk in enumerate(rest, 1):
        await say(context, message, chunk, keyboard if number == len(rest) else None,
                  reply=False)
    job().flag("answered")


# --- the release-day desk ------------------------------------------------------------------------


async def may_change(update: Update, context: Context) -> bool:
    """Who may change a chat's patch and alerts: anyone in a private chat; in a group its
    creator and administrators, asked of Telegram each time (admins change), or an admin
    posting anonymously as the group itself."""
    message, chat, user = update.message, update.effective_chat, update.effective_user
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None \
            and message.sender_chat.id == chat.id:
        return True
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except BadRequest as error:
        log.info("could not look up user %s in chat %s: %s", user.id, chat.id, error.message)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def baseline(desk: Subscriptions, store: Store, chat: int) -> str | None:
    """The newest edition held for the chat's patch: alerts start with the edition after it."""
    newest = newest_edition(store, desk.patch(chat))
    return newest.key if newest is not None else None


@replies
async def on_patch(update: Update, context: Context, engine: Engine) -> Said:
    """`/patch` shows the patch to anyone; `/patch NAMES` sets it, for those who may."""
    message = update.message
    names = command_question(message.text)
    allowed = await may_change(update, context) if names else False
    desk = context.services.desk
    change = patch_command(desk, engine.gazetteer, message.chat_id, names, may_change=allowed)
    if names and change.ok and desk.is_subscribed(message.chat_id) and (
            key := baseline(desk, engine.store, message.chat_id)):
        desk.mark_sent(message.chat_id, key)
    return Said(change.html)


@replies
async def on_subscribe(update: Update, context: Context, engine: Engine) -> Said:
    chat = update.message.chat_id
    allowed = await may_change(update, context)
    desk = context.services.desk
    return Said(desk.subscribe(chat, may_change=allowed,
                               baseline=baseline(desk, engine.store, chat)).html)


@replies
async def on_unsubscribe(update: Update, context: Context, engine: Engine) -> Said:
    allowed = await may_change(update, context)
    return Said(context.services.desk.unsubscribe(update.message.chat_id,
                                                  may_change=allowed).html)


@replies
async def on_new(update: Update, context: Context, engine: Engine) -> Said:
    """`/new`: what the newest edition says about the chat's patch, built off the event loop."""
    text, buttons = await asyncio.to_thread(on_demand, context.services.desk, engine.store,
                                            update.message.chat_id)
    return Said(text, desk_keyboard(buttons))


@answers("story")
async def on_story(message: Message, context: Context, answer: Answer) -> None:
    """`/story QUESTION`: the answer as copy to paste, then its chart; a question that needs
    asking back keeps the answer's buttons instead."""
    await send_story(context, message, Turn(answer, None, None))


async def send_story(context: Context, message: Message, turn: Turn) -> Message | None:
    """The story copy, said as following on when it does, then its chart."""
    answer = turn.reply
    assert isinstance(answer, Answer)
    story = build_story(answer)
    ready = story.status == "ok" and story.area_code and story.offence_key
    sent = await say(context, message, lead_html(turn) + story_html(story),
                     None if story.status == "ok" else answer_keyboard(answer))
    if ready:
        assert story.area_code and story.offence_key
        await send_chart(message, context, story.area_code, story.offence_key,
                         story.period_end)
    job().flag("answered")
    return sent


async def on_inline(update: Update, context: Context) -> None:
    """`@bot QUESTION` in any chat. Results are shared by Telegram's cache unless users are
    restricted, when caching them per user keeps unlisted users from seeing them."""
    query = update.inline_query
    personal = bool(context.services.access.users)
    question = " ".join(query.query.split())
    results = []
    if question:
        engine = fresh_engine(context)
        with engine.store.snapshot():
            answers = inline_answers(engine, engine.ask(question))
        if follows_on(question):  # nothing to follow on from here: say so, first
            answers = [Answer("not_found", INLINE_NO_CONTEXT), *answers]
        results = [inline_article(n, a) for n, a in enumerate(answers)]
    try:
        await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=personal)
    except BadRequest as error:  # a query answered after a restart is too old: nothing to do
        log.info("could not answer inline query: %s", error.message)
        return
    job().flag("answered")


def inline_answers(engine: Engine, answer: Answer) -> list[Answer]:
    """An ambiguous place becomes one finished answer per candidate, so the user just picks."""
    if answer.status != "ambiguous" or not answer.offence_key:
        return [answer]
    picked = [engine.answer_for(choice.code, answer.offence_key, answer.period_end)
              for choice in answer.candidates[:MAX_INLINE_RESULTS]]
    return [a for a in picked if a.status == "ok"] or [answer]


def undeliverable(error: BaseException | None) -> bool:
    """Telegram could not be reached or would not take the reply now (network, revoked token,
    a 429 longer than the limiter waits): the question is kept for the next start, not
    answered with "Sorry" and forgotten."""
    return isinstance(error, (InvalidToken, RetryAfter)) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest))


async def on_error(update: object, context: Context) -> None:
    """Log with the update id; say sorry only when nothing of an answer reached the asker."""
    update_id = update.update_id if isinstance(update, Update) else None
    if not isinstance(update, Update):
        log.error("update %s failed", update_id, exc_info=context.error)
        return
    current = job()
    if undeliverable(context.error):
        log.warning("update %s could not be answered now (%s): kept in the inbox for the next "
                    "start", update_id, context.error)
        current.flag(UNSENT)
        return
    log.error("update %s failed", update_id, exc_info=context.error)
    current.flag("failed")
    if current.delivered:
        return
    query, message = update.callback_query, update.message
    try:
        if query and await answer_query(query, SORRY):
            return
        if query and isinstance(query.message, Message):
            message = query.message
        if message:
            await say(context, message, plain_html(SORRY))
    except TelegramError as error:
        log.warning("could not tell update %s about the failure: %s", update_id, error)

