"""The Telegram surface: turn chat updates into questions for the answer engine and back.

No statistics live here. Every reply comes from `Engine.ask` or `Engine.answer_for`; this module
only decides whether a message is addressed to the bot, who may ask, how often, and how an
`Answer` looks as HTML with buttons. The decisions are small pure functions (tested without a
network); the handlers wire them to python-telegram-bot, and `build_application` is the single
factory used by `crimebot run` and by the end-to-end tests against a fake Bot API server.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Literal

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    SimpleUpdateProcessor,
    TypeHandler,
    filters,
)

from bot import ops, periods
from bot.answer import Answer, Engine, open_engine
from bot.config import Config, ConfigError
from bot.store import StoreError

log = logging.getLogger(__name__)

CALLBACK_VERSION = "v1"
ACTION_ANSWER = "a"  # show the answer for (area, offence, period) in place of this message
ACTION_CHART = "c"  # send the series chart for (area, offence)
MAX_CALLBACK_BYTES = 64
MAX_INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 300
BOOTSTRAP_RETRIES = 10
HEADLINE_MARKUP = len("<b></b>")

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                   Update.MY_CHAT_MEMBER)

SORRY = "Sorry, something went wrong — please try again."
STALE_BUTTON = "That button is out of date — please ask the question again."
SLOW_DOWN = "One question at a time, please — try again in a few seconds."
NO_CHART = "There are no figures to chart for that."
EMPTY_QUESTION = "Ask me a question after the command, for example: /{command} {example}"
EXAMPLE = "sexual offences Wrexham 2022"

COMMANDS = (
    BotCommand("crime", "Ask about recorded crime: /crime burglary Leeds 2023"),
    BotCommand("chart", "Chart a series: /chart sexual offences Wrexham"),
    BotCommand("help", "How to ask, with examples"),
    BotCommand("about", "Which ONS data editions I answer from"),
)

_AREA = re.compile(r"[A-Za-z0-9-]{1,24}")
_OFFENCE = re.compile(r"[a-z0-9_-]{1,64}|#[0-9a-f]{12}")
_PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- callback data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A decoded button press. `offence` may be a `#digest` token for keys too long to carry."""

    action: str
    area: str
    offence: str
    period: str | None


def offence_digest(key: str) -> str:
    """A short stand-in for offence keys that would push callback data past 64 bytes."""
    return "#" + hashlib.sha256(key.encode()).hexdigest()[:12]


def encode_callback(action: str, area: str, offence: str, period: str | None) -> str:
    """`v1|a|E22000009|sexual|2024-12-31`: versioned so old buttons can be told apart later."""
    for token in (offence, offence_digest(offence)):
        data = "|".join((CALLBACK_VERSION, action, area, token, period or ""))
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            return data
    raise ValueError(f"callback data for {area}/{offence} does not fit in 64 bytes")


def decode_callback(data: str) -> Callback | None:
    """Parse and validate button data; None for anything stale, foreign or forged."""
    parts = data.split("|")
    if len(parts) != 5 or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    version, action, area, offence, period = parts
    if (version != CALLBACK_VERSION or action not in (ACTION_ANSWER, ACTION_CHART)
            or not _AREA.fullmatch(area) or not _OFFENCE.fullmatch(offence)):
        return None
    if period:
        if not _PERIOD.fullmatch(period):
            return None
        try:
            date.fromisoformat(period)
        except ValueError:
            return None
    return Callback(action, area, offence, period or None)


def resolve_offence(token: str, keys: Iterable[str]) -> str | None:
    """The offence key a callback names: itself, or the held key whose digest it is."""
    if not token.startswith("#"):
        return token
    return next((key for key in keys if offence_digest(key) == token), None)


# --- which messages are questions ---------------------------------------------------------------


def command_question(text: str) -> str:
    """`/crime@bot  burglary Leeds` → `burglary Leeds`: everything after the command word."""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def mention_pattern(username: str) -> re.Pattern[str]:
    """@username as Telegram matches it: case-insensitive, not inside a longer name or address."""
    return re.compile(rf"(?<![\w@]){re.escape('@' + username)}(?!\w)", re.IGNORECASE)


def question_in(text: str, chat_type: str, bot_username: str, replying_to_bot: bool) -> str | None:
    """The question in a plain (non-command) message, or None when it is not meant for the bot.

    In private chats everything is a question; in groups only a reply to the bot or a message
    that mentions it, so the bot never answers chatter it happens to see.
    """
    pattern = mention_pattern(bot_username)
    mentioned = bool(pattern.search(text))
    if chat_type != ChatType.PRIVATE and not (mentioned or replying_to_bot):
        return None
    return " ".join(pattern.sub(" ", text).split())


def replies_to_bot(message: Message, bot_id: int) -> bool:
    """A reply to one of the bot's answers, sent directly or through inline mode."""
    target = message.reply_to_message
    if target is None:
        return False
    return any(user is not None and user.id == bot_id
               for user in (target.from_user, target.via_bot))


# --- who may ask, and how often -----------------------------------------------------------------


@dataclass
class Access:
    """The allow-lists. `chats` is mutable because a group upgraded to a supergroup changes id."""

    chats: set[int]
    users: frozenset[int]

    def allows(self, chat_id: int | None, chat_type: str | None, user_id: int | None) -> bool:
        """Groups are checked by chat; private chats and inline mode (no chat) by user.

        An empty list means everyone, as documented for the environment variables. A private
        chat whose id is listed among the chats is allowed too: that is plainly what was meant.
        """
        if chat_type is None or chat_type == ChatType.PRIVATE:
            return not self.users or user_id in self.users or (
                chat_id is not None and chat_id in self.chats)
        return not self.chats or chat_id in self.chats

    def migrate(self, old: int, new: int) -> bool:
        """Carry an allowed group over to its new supergroup id; True when that happened."""
        if old in self.chats and new not in self.chats:
            self.chats.add(new)
            return True
        return False


Verdict = Literal["answer", "warn", "drop"]


@dataclass
class Cooldown:
    """Per-chat flood guard: one answer per `seconds`, and at most one "slow down" in between."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    _last: dict[int, float] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def check(self, chat_id: int) -> Verdict:
        now = self.clock()
        last = self._last.get(chat_id)
        if last is None or now - last >= self.seconds:
            self._last[chat_id] = now
            self._warned.discard(chat_id)
            return "answer"
        if chat_id in self._warned:
            return "drop"
        self._warned.add(chat_id)
        return "warn"


# --- answers as HTML and buttons ----------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units, so emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def escaped_len(text: str) -> int:
    return utf16_len(html.escape(text, quote=False))


def _split_line(line: str, limit: int) -> list[str]:
    """Cut one over-long line, at the last space that fits where there is one."""
    pieces = []
    while escaped_len(line) > limit:
        size, cut = 0, 0
        while cut < len(line) and size + escaped_len(line[cut]) <= limit:
            size += escaped_len(line[cut])
            cut += 1
        space = line.rfind(" ", 0, cut + 1)
        if space > 0:
            cut = space
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    return [*pieces, line]


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split plain text on line boundaries so that each chunk, once HTML-escaped, fits `limit`.

    Splitting happens before escaping, so no chunk can end inside an `&amp;`; lengths are
    measured on the escaped text in UTF-16 units, so the chunk still fits after escaping. Blank
    chunks are dropped because Telegram refuses empty messages.
    """
    if limit < 10:
        raise ValueError("limit must leave room for at least one escaped character")
    chunks: list[list[str]] = [[]]
    size = 0
    for line in (piece for raw in text.split("\n") for piece in _split_line(raw, limit)):
        extra = escaped_len(line) + (1 if chunks[-1] else 0)
        if chunks[-1] and size + extra > limit:
            chunks.append([])
            size, extra = 0, escaped_len(line)
        chunks[-1].append(line)
        size += extra
    return [chunk for chunk in ("\n".join(lines).strip() for lines in chunks) if chunk]


def answer_html(text: str) -> list[str]:
    """The answer as HTML messages: every character escaped, the headline paragraph in bold."""
    out = []
    for number, chunk in enumerate(split_message(text, MessageLimit.MAX_TEXT_LENGTH
                                                 - HEADLINE_MARKUP)):
        escaped = html.escape(chunk, quote=False)
        if number == 0:
            head, gap, rest = escaped.partition("\n\n")
            escaped = f"<b>{head}</b>{gap}{rest}"
        out.append(escaped)
    return out or [html.escape(SORRY)]


def answer_keyboard(answer: Answer) -> InlineKeyboardMarkup | None:
    """Candidates to pick from, or chart and previous/next period for a figure; else none."""
    if answer.candidates and answer.offence_key:
        return InlineKeyboardMarkup([
            [InlineKeyboardButton(choice.label, callback_data=encode_callback(
                ACTION_ANSWER, choice.code, answer.offence_key, answer.period_end))]
            for choice in answer.candidates])
    if answer.status != "ok" or not (answer.area_code and answer.offence_key
                                     and answer.period_end):
        return None
    area, offence = answer.area_code, answer.offence_key
    row = []
    if answer.earlier_period:
        row.append(InlineKeyboardButton(
            f"◀ {periods.short(answer.earlier_period)}",
            callback_data=encode_callback(ACTION_ANSWER, area, offence, answer.earlier_period)))
    row.append(InlineKeyboardButton(
        "📈 Chart", callback_data=encode_callback(ACTION_CHART, area, offence, None)))
    if answer.later_period:
        row.append(InlineKeyboardButton(
            f"{periods.short(answer.later_period)} ▶",
            callback_data=encode_callback(ACTION_ANSWER, area, offence, answer.later_period)))
    return InlineKeyboardMarkup([row])


def headline(text: str) -> str:
    return text.split("\n\n", 1)[0].strip()


def inline_article(number: int, answer: Answer) -> InlineQueryResultArticle:
    """One inline result; the id only has to be unique within this answer and ≤ 64 bytes."""
    digest = hashlib.sha256(answer.text.encode()).hexdigest()[:24]
    if answer.status == "ok" and answer.area_name and answer.offence_label:
        when = f", {periods.short(answer.period_end)}" if answer.period_end else ""
        title = f"{answer.area_name}: {answer.offence_label}{when}"
    else:
        title = headline(answer.text)[:100]
    return InlineQueryResultArticle(
        id=f"{number}-{digest}",
        title=title,
        description=headline(answer.text)[:200],
        input_message_content=InputTextMessageContent(
            answer_html(answer.text)[0], parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )


def inline_answers(engine: Engine, answer: Answer) -> list[Answer]:
    """An ambiguous place becomes one finished answer per candidate, so the user just picks."""
    if answer.status != "ambiguous" or not answer.offence_key:
        return [answer]
    picked = [engine.answer_for(choice.code, answer.offence_key, answer.period_end)
              for choice in answer.candidates[:MAX_INLINE_RESULTS]]
    return [a for a in picked if a.status == "ok"] or [answer]


def help_text(bot_username: str) -> str:
    return (
        "<b>Police recorded crime in England and Wales, from the ONS tables.</b>\n\n"
        "Ask for an offence, a place and a period, for example:\n"
        f"/crime {EXAMPLE}\n"
        "/crime burglary Leeds latest\n"
        "/crime violent crime Bedfordshire 2024\n"
        "/chart knife crime Greater Manchester\n\n"
        "In a group, start with /crime, mention me or reply to one of my answers. In a private "
        f"chat just type the question. In any chat, type @{html.escape(bot_username)} and the "
        "question to share an answer.\n\n"
        "/about says which data editions I answer from."
    )


def about_text(engine: Engine) -> str:
    lines = ["<b>Data held</b> (ONS police recorded crime and supporting tables):", ""]
    for edition in engine.store.editions():
        published = f", published {edition.published}" if edition.published else ""
        lines.append(f"• {html.escape(edition.title, quote=False)} "
                     f"({periods.short(edition.period_end)}{published})")
    return "\n".join(lines)


# --- handlers -----------------------------------------------------------------------------------


@dataclass
class Services:
    """What every handler needs, kept in `bot_data` so the application owns its lifetime."""

    engine: Engine
    access: Access
    cooldown: Cooldown


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def fresh_engine(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    """The engine, after picking up a store that `crimebot ingest` may have swapped in."""
    engine = services(context).engine
    try:
        if engine.store.refresh():
            log.info("store reopened (generation %d)", engine.store.generation)
    except StoreError as error:
        log.warning("the new store is not usable, still answering from the old one: %s", error)
    return engine


def _reply_to(message: Message) -> ReplyParameters:
    """Answer as a reply, but still answer if the question was deleted meanwhile."""
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


async def admitted(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Apply the chat's cooldown before anything that posts a new message."""
    verdict = services(context).cooldown.check(message.chat_id)
    if verdict == "warn":
        await message.reply_text(SLOW_DOWN, reply_parameters=_reply_to(message))
    return verdict == "answer"


async def send_answer(message: Message, answer: Answer) -> None:
    """Reply with the answer, split if needed; the buttons go under the last part."""
    chunks = answer_html(answer.text)
    for number, chunk in enumerate(chunks, 1):
        await message.reply_text(
            chunk, parse_mode=ParseMode.HTML, reply_parameters=_reply_to(message),
            reply_markup=answer_keyboard(answer) if number == len(chunks) else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True))


async def ask(message: Message, context: ContextTypes.DEFAULT_TYPE, question: str,
              command: str = "crime") -> None:
    if not question:
        await message.reply_text(EMPTY_QUESTION.format(command=command, example=EXAMPLE),
                                 reply_parameters=_reply_to(message))
        return
    await send_answer(message, fresh_engine(context).ask(question))


async def send_chart(message: Message, context: ContextTypes.DEFAULT_TYPE, area: str,
                     offence: str) -> None:
    """Render off the event loop (matplotlib takes a moment) and send it as a photo."""
    from bot.charts import ChartError, render_chart

    engine = fresh_engine(context)
    try:
        png = await asyncio.to_thread(render_chart, engine.store, area, offence)
    except ChartError:
        await message.reply_text(NO_CHART, reply_parameters=_reply_to(message))
        return
    answer = engine.answer_for(area, offence, None)
    caption = f"{answer.area_name}: {answer.offence_label}" if answer.area_name else ""
    await message.reply_photo(png, caption=html.escape(caption, quote=False),
                              parse_mode=ParseMode.HTML, reply_parameters=_reply_to(message))


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: keep allowed chats allowed across migration, stop the rest."""
    access = services(context).access
    message = update.message
    if message:
        for old, new in ((message.chat_id, message.migrate_to_chat_id),
                         (message.migrate_from_chat_id, message.chat_id)):
            if old and new and access.migrate(old, new):
                log.warning("chat %s became supergroup %s; add %s to CRIMEBOT_ALLOWED_CHATS so "
                            "it stays allowed after a restart", old, new, new)
    chat, user = update.effective_chat, update.effective_user
    if access.allows(chat.id if chat else None, chat.type if chat else None,
                     user.id if user else None):
        return
    log.info("ignoring update %s from chat %s, user %s: not allowed", update.update_id,
             chat.id if chat else None, user.id if user else None)
    member = update.my_chat_member
    if (member and chat and chat.type != ChatType.PRIVATE and member.new_chat_member.status
            in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)):
        log.warning("added to chat %s, which is not in CRIMEBOT_ALLOWED_CHATS: leaving", chat.id)
        await context.bot.leave_chat(chat.id)
    context.bot_data["status"].flag(update.update_id, "denied")
    raise ApplicationHandlerStop


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if await admitted(message, context):
        await message.reply_text(help_text(context.bot.username), parse_mode=ParseMode.HTML,
                                 reply_parameters=_reply_to(message))


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if await admitted(message, context):
        await message.reply_text(about_text(fresh_engine(context)), parse_mode=ParseMode.HTML,
                                 reply_parameters=_reply_to(message))


async def on_crime(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if await admitted(message, context):
        await ask(message, context, command_question(message.text))


async def on_chart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/chart QUESTION`: the chart when the question finds one figure, else the answer text."""
    message = update.message
    if not await admitted(message, context):
        return
    question = command_question(message.text)
    if not question:
        await ask(message, context, question, command="chart")
        return
    answer = fresh_engine(context).ask(question)
    if answer.status == "ok" and answer.area_code and answer.offence_key:
        await send_chart(message, context, answer.area_code, answer.offence_key)
    else:
        await send_answer(message, answer)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private text, mentions and replies; messages the bot itself posted inline are skipped."""
    message = update.message
    if message.via_bot is not None:
        return
    question = question_in(message.text, message.chat.type, context.bot.username,
                           replies_to_bot(message, context.bot.id))
    if question is not None and await admitted(message, context):
        await ask(message, context, question)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Candidate, period and chart buttons. Anything unusable gets a polite toast, not an error."""
    query = update.callback_query
    engine = fresh_engine(context)
    pressed = decode_callback(query.data or "")
    offence = resolve_offence(pressed.offence, engine.store.offence_labels()) if pressed else None
    message = query.message
    if pressed is None or offence is None or not isinstance(message, Message):
        await query.answer(STALE_BUTTON)
        return
    if pressed.action == ACTION_CHART:
        if services(context).cooldown.check(message.chat.id) != "answer":
            await query.answer(SLOW_DOWN)
            return
        await query.answer()
        await send_chart(message, context, pressed.area, offence)
        return
    answer = engine.answer_for(pressed.area, offence, pressed.period)
    if answer.status != "ok":
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    first, *rest = answer_html(answer.text)
    keyboard = answer_keyboard(answer)
    try:
        await query.edit_message_text(
            first, parse_mode=ParseMode.HTML, reply_markup=None if rest else keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True))
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise
    for number, chunk in enumerate(rest, 1):
        await message.reply_text(
            chunk, parse_mode=ParseMode.HTML,
            reply_markup=keyboard if number == len(rest) else None)


async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`@bot QUESTION` in any chat. Results are shared by Telegram's cache unless users are
    restricted, when caching them per user keeps unlisted users from seeing them."""
    query = update.inline_query
    personal = bool(services(context).access.users)
    question = " ".join(query.query.split())
    results = []
    if question:
        engine = fresh_engine(context)
        answers = inline_answers(engine, engine.ask(question))
        results = [inline_article(n, a) for n, a in enumerate(answers)]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=personal)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id; tell the asker something went wrong, never how."""
    if update is None and isinstance(context.error, NetworkError):
        log.warning("polling: %s", context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    context.bot_data["status"].flag(update.update_id, "error")
    query, message = update.callback_query, update.message
    try:
        if query:
            try:
                await query.answer(SORRY)
                return
            except BadRequest:  # already answered before the failure: say it in the chat
                message = query.message if isinstance(query.message, Message) else None
        if message:
            await message.reply_text(SORRY, reply_parameters=_reply_to(message))
    except TelegramError as error:
        log.warning("could not tell update %s about the failure: %s", update_id, error)


# --- application --------------------------------------------------------------------------------


async def post_init(application: Application) -> None:
    """Register the command menu and say, once, what the bot answers from and for whom."""
    await application.bot.set_my_commands(COMMANDS)
    found = application.bot_data["services"]
    if found.access.chats and not found.access.users:
        log.warning("CRIMEBOT_ALLOWED_USERS is empty: anyone may ask in private chats and "
                    "inline mode")
    log.info("@%s ready: %d data editions from %s", application.bot.username,
             len(found.engine.store.editions()), found.engine.store.path)
    application.bot_data["heartbeat"] = ops.start_heartbeat(
        ops.heartbeat_path(os.environ), application.bot_data["status"])


async def post_shutdown(application: Application) -> None:
    """Stop the heartbeat before closing the store: it reads the store's edition."""
    if task := application.bot_data.pop("heartbeat", None):
        await ops.stop_heartbeat(task)
    application.bot_data["services"].engine.store.close()


def build_application(config: Config, engine: Engine) -> Application:
    """The one factory: handlers in explicit order, the gate in group -1 ahead of all of them."""
    status = ops.Status(partial(ops.store_facts, engine.store))
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .base_file_url(config.file_base_url)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(ObservedUpdates(status))
        .build()
    )
    application.bot_data["status"] = status
    application.bot_data["services"] = Services(
        engine, Access(set(config.allowed_chats), config.allowed_users),
        Cooldown(config.cooldown_seconds))
    new_messages = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], on_help, filters=new_messages))
    application.add_handler(CommandHandler("about", on_about, filters=new_messages))
    application.add_handler(CommandHandler("crime", on_crime, filters=new_messages))
    application.add_handler(CommandHandler("chart", on_chart, filters=new_messages))
    application.add_handler(MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND,
                                           on_text))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(InlineQueryHandler(on_inline))
    application.add_error_handler(on_error)
    return application


CONCURRENT_UPDATES = 1


class ObservedUpdates(SimpleUpdateProcessor):
    """Every update, polled or posted to the webhook, passes here: counted in the shared
    Status (for the heartbeat and /healthz) and logged as one key=value line. Updates are
    handled one at a time, in order, so a chat's questions are answered in the order asked."""

    def __init__(self, status: ops.Status) -> None:
        super().__init__(CONCURRENT_UPDATES)
        self.status = status

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await ops.observe(self.status, log, update, coroutine)


def run(config: Config, webhook_url: str | None = None) -> int:
    """`crimebot run`: long polling (or a webhook server) until SIGTERM or SIGINT, which stop
    it cleanly (exit 0)."""
    settings = None
    if webhook_url:
        from bot.webhook import webhook_settings

        try:
            settings = webhook_settings(os.environ, webhook_url)
        except ConfigError as error:
            print(f"crimebot run: {error}", file=sys.stderr)
            return 2
    ops.setup_logging(config.log_level, [config.token, settings.secret if settings else ""])
    try:
        engine = open_engine(config.db_path)
    except StoreError as error:
        print(f"crimebot run: {error}", file=sys.stderr)
        return 1
    application = build_application(config, engine)
    log.info("starting: long polling %s with the store at %s", config.api_base_url,
             config.db_path)
    try:
        if settings:
            from bot.webhook import run_webhook

            asyncio.run(run_webhook(application, settings.url, settings.listen, settings.port,
                                    settings.secret, application.bot_data["status"],
                                    allowed_updates=list(ALLOWED_UPDATES)))
        else:
            application.run_polling(allowed_updates=list(ALLOWED_UPDATES),
                                    bootstrap_retries=BOOTSTRAP_RETRIES)
    except InvalidToken:
        print("crimebot run: Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather",
              file=sys.stderr)
        return 1
    except NetworkError as error:
        print(f"crimebot run: could not reach the Bot API at {config.api_base_url}: {error}",
              file=sys.stderr)
        return 1
    return 0
