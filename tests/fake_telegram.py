"""A small, strict fake of the Telegram Bot API for end-to-end tests.

Why it exists: unit tests with mocked ``Bot`` methods happily accept messages that the real
Telegram rejects (unescaped HTML, 65-byte callback data, 5000-character texts, replies to
messages that do not exist).  This fake speaks HTTP like ``api.telegram.org`` so that a real
python-telegram-bot ``Application`` can long-poll it, and it rejects what Telegram rejects with
the same status codes and descriptions, so PTB raises the same exception classes
(``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``, ``NetworkError``...).

Typical use::

    async with FakeTelegram(token=TOKEN, bot_username="crimebot") as tg:
        app = (
            ApplicationBuilder().token(TOKEN)
            .base_url(tg.base_url).base_file_url(tg.base_file_url).build()
        )
        ...start polling...
        tg.inject_message(42, "/start")
        call = await tg.wait_for("sendMessage")
        assert "Welcome" in tg.sent[-1].text

Test-side API in one breath: ``inject_message`` / ``inject_callback`` / ``inject_inline_query``
/ ``inject_migration`` / ``inject_update`` queue updates; ``calls``, ``sent``, ``edits``,
``answers`` record what the bot did; ``wait_for`` waits for a call; ``fail_next``,
``delay_next``, ``drop_connections``, ``block`` inject failures; ``add_chat`` / ``add_user`` /
``set_member`` shape the world (sending to a chat the fake has never seen is "chat not found", as
on Telegram).

Deliberate deviations from the real server (all on the strict side or documented here):

* HTML: a bare ``&`` that is not a supported entity and a bare ``>`` are rejected; Telegram
  tolerates them, but they are the same bug class as an unescaped ``<``, which Telegram rejects.
  Entities must end with ``;``.
* Trimmed to what the bot uses: HTML is the only parse mode (``Markdown``/``MarkdownV2`` get a 400
  naming this fake), and only the methods the bot calls exist (others are 404 Not Found, as
  Telegram answers an unknown method).
* Webhooks are stored (and make ``getUpdates`` fail with 409 like Telegram) but never called.
* Photos given by URL are not downloaded; they are accepted as an 800x600 picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

__all__ = [
    "DEFAULT_USER_ID",
    "Answer",
    "Call",
    "ChatType",
    "Edit",
    "EntityParseError",
    "FakeTelegram",
    "SentMessage",
    "UploadedFile",
    "parse_html",
    "utf16_len",
]

log = logging.getLogger(__name__)

ChatType = Literal["private", "group", "supergroup", "channel"]

#: The user that talks to the bot in groups when a test does not say who.
DEFAULT_USER_ID = 1001

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
#: Telegram forgets unanswered callback queries after roughly this many seconds.
CALLBACK_QUERY_TTL = 15.0

#: Update types a bot receives when it never passed ``allowed_updates`` (Bot API docs).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "inline_query", "chosen_inline_result", "callback_query",
        "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
        "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)

INLINE_RESULT_TYPES = frozenset(
    {
        "article", "audio", "contact", "game", "document", "gif", "location", "mpeg4_gif",
        "photo", "venue", "video", "voice", "sticker",
    }
)

# PTB (like every form-encoding client) sends nested objects as JSON strings, numbers and
# booleans as their text.  These tables say how to turn form fields back into typed values.
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "reply_parameters", "results",
        "commands", "scope", "allowed_updates", "link_preview_options", "button", "media",
    }
)
_INT_PARAMS = frozenset(
    {
        "message_id", "offset", "limit", "timeout", "reply_to_message_id", "message_thread_id",
        "cache_time", "max_connections", "user_id", "from_chat_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification", "protect_content", "allow_sending_without_reply", "show_alert",
        "is_personal", "drop_pending_updates", "disable_web_page_preview", "has_spoiler",
        "show_caption_above_media", "allow_paid_broadcast",
    }
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API; raised inside handlers, turned into JSON by the server."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str, parameters: dict[str, Any] | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


class EntityParseError(ValueError):
    """Markup that Telegram would refuse with ``can't parse entities``."""


@dataclass
class UploadedFile:
    """A multipart file part as the bot uploaded it."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(eq=False)
class Call:
    """One HTTP request the bot made, recorded so tests can assert on it.

    ``params`` are decoded: JSON-encoded form fields are objects, numbers are ``int``, flags are
    ``bool``.  The call is appended when the request arrives (so a long-polling ``getUpdates``
    is visible at once) and ``finished`` flips when the answer has been decided.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float
    http_method: str = "POST"
    status: int | None = None
    response: dict[str, Any] | None = None
    fault: str | None = None
    finished: bool = False
    consumed: bool = field(default=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the bot got a successful answer."""
        return bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer, else None."""
        return self.response.get("result") if self.ok and self.response else None

    @property
    def error(self) -> str | None:
        """The error ``description`` the bot got, if any."""
        if self.response and not self.response.get("ok"):
            return self.response.get("description")
        return None


@dataclass
class SentMessage:
    """A message the bot sent (sendMessage or sendPhoto).

    ``text``/``caption`` are exactly what the bot passed (markup included); ``plain_text`` and
    ``entities`` are what Telegram made of it.  ``message`` is a snapshot of the Message object
    returned to the bot; use :meth:`FakeTelegram.message` for the current (edited) state.
    """

    method: str
    chat_id: int
    message_id: int
    text: str | None
    caption: str | None
    plain_text: str
    entities: list[dict[str, Any]]
    parse_mode: str | None
    reply_to: int | None
    reply_markup: dict[str, Any] | None
    photo: bytes | None
    photo_ref: str | None
    date: int
    message: dict[str, Any]


@dataclass
class Edit:
    """A successful editMessageText / editMessageReplyMarkup."""

    method: str
    chat_id: int | None
    message_id: int | None
    inline_message_id: str | None
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    message: dict[str, Any] | None


@dataclass
class Answer:
    """A successful answerCallbackQuery (kind "callback_query") or answerInlineQuery."""

    kind: Literal["callback_query", "inline_query"]
    query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    results: list[dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str | None  # lower-case method name, None = any method
    kind: Literal["fail", "delay", "drop", "cut"]
    remaining: int
    error: ApiError | None = None
    seconds: float = 0.0

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method == method.lower())


# --------------------------------------------------------------------------------------------
# Text helpers: UTF-16 offsets and the three parse modes
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    entity.update({k: v for k, v in extra.items() if v is not None})
    return entity


def _link_entity(offset: int, length: int, url: str) -> dict[str, Any] | None:
    """A text_link / text_mention entity, or None when tdlib would silently drop the link."""
    url = url.strip()
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if mention:
        user = {"id": int(mention.group(1)), "is_bot": False, "first_name": ""}
        return _entity("text_mention", offset, length, user=user)
    if re.match(r"(?i)(https?|tg|ton)://\S+$", url):
        return _entity("text_link", offset, length, url=url)
    if re.fullmatch(r"[\w.-]+\.[a-zA-Z]{2,}(/\S*)?", url):
        return _entity("text_link", offset, length, url=f"http://{url}")
    return None


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_TAG_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link",
    "code": "code", "pre": "pre", "blockquote": "blockquote",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([a-zA-Z]+));")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(source: str, index: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``index`` the way Telegram does; None if it is not one it supports."""
    match = _HTML_ENTITY_RE.match(source, index)
    if not match:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED_HTML_ENTITIES.get(name)
        return (char, match.end()) if char else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the output
    byte: int  # byte offset of "<" in the input, for error messages
    url: str | None = None
    language: str | None = None
    expandable: bool = False
    out_index: int = 0


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Bot API HTML into (plain text, entities), raising EntityParseError like Telegram.

    Follows tdlib's ``parse_html``: the same tag set, end tags must close the innermost open
    tag (``</>`` closes anything), attribute values may be quoted or bare name tokens.
    """
    out: list[str] = []
    pos = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)

    def fail(message: str, index: int) -> EntityParseError:
        return EntityParseError(f"{message} at byte offset {_byte_offset(source, index)}")

    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _decode_html_entity(source, i)
            if decoded is None:
                raise fail('Unsupported HTML entity or unescaped "&"', i)
            out.append(decoded[0])
            pos += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if ch == ">":
            raise fail('Unescaped ">"', i)
        if ch != "<":
            out.append(ch)
            pos += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        if source.startswith("</", i):
            if not stack:
                raise fail("Unexpected end tag", begin)
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            end_name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise fail("Unclosed end tag", begin)
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            _close_html_tag(tag, pos, "".join(out[tag.out_index :]), entities)
            i = j + 1
            continue

        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n:
            raise fail("Unclosed start tag", begin)
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAG_TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}'
            )
        attributes, j = _parse_html_attributes(source, j, name, begin)
        tag = _OpenTag(name=name, start=pos, byte=_byte_offset(source, begin), out_index=len(out))
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        if name == "a":
            tag.url = attributes.get("href")
        if name == "code" and attributes.get("class", "").startswith("language-"):
            tag.language = attributes["class"][len("language-") :]
        if name == "blockquote":
            tag.expandable = "expandable" in attributes
        stack.append(tag)
        i = j

    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return "".join(out), _sorted_entities(entities)


def _parse_html_attributes(
    source: str, j: int, tag_name: str, begin: int
) -> tuple[dict[str, str], int]:
    """Parse attributes from ``source[j]`` up to and including ``>``; returns (attrs, next)."""
    n = len(source)
    attributes: dict[str, str] = {}

    def unclosed() -> EntityParseError:
        return EntityParseError(
            f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
        )

    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise unclosed()
        if source[j] == ">":
            return attributes, j + 1
        start = j
        while j < n and not source[j].isspace() and source[j] not in "=>":
            j += 1
        attr_name = source[start:j].lower()
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise unclosed()
        if source[j] != "=":
            if tag_name == "blockquote" and attr_name == "expandable":
                attributes[attr_name] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag_name}" '
                f"at byte offset {_byte_offset(source, begin)}"
            )
        j += 1
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise unclosed()
        if source[j] in "'\"":
            quote = source[j]
            j += 1
            value: list[str] = []
            while j < n and source[j] != quote:
                decoded = _decode_html_entity(source, j) if source[j] == "&" else None
                if decoded:
                    value.append(decoded[0])
                    j = decoded[1]
                else:
                    value.append(source[j])
                    j += 1
            if j >= n:
                raise unclosed()
            j += 1
            attributes[attr_name] = "".join(value)
        else:
            start = j
            while j < n and (source[j].isalnum() or source[j] in ".-"):
                j += 1
            if j < n and not source[j].isspace() and source[j] != ">":
                raise EntityParseError(
                    "Unexpected end of name token at byte offset "
                    f"{_byte_offset(source, start)}"
                )
            attributes[attr_name] = source[start:j].lower()


def _close_html_tag(
    tag: _OpenTag, pos: int, inner_text: str, entities: list[dict[str, Any]]
) -> None:
    length = pos - tag.start
    if length <= 0:
        return
    kind = _HTML_TAG_TYPES[tag.name]
    if tag.name == "a":
        link = _link_entity(tag.start, length, tag.url if tag.url else inner_text)
        if link:
            entities.append(link)
        return
    if kind == "pre":
        # <pre><code class="language-x">...</code></pre> is one "pre" entity with a language.
        if entities and entities[-1]["type"] == "code" and entities[-1].get("_language") and (
            entities[-1]["offset"] == tag.start and entities[-1]["length"] == length
        ):
            language = entities.pop()["_language"]
            entities.append(_entity("pre", tag.start, length, language=language))
        else:
            entities.append(_entity("pre", tag.start, length))
        return
    if kind == "blockquote" and tag.expandable:
        kind = "expandable_blockquote"
    if kind == "code":
        entities.append(_entity("code", tag.start, length, _language=tag.language))
        return
    entities.append(_entity(kind, tag.start, length))


def _strip_private_keys(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\\")
_MDV2_TYPE_NAMES = {
    "italic": "Italic", "underline": "Underline", "bold": "Bold",
    "strikethrough": "Strikethrough", "spoiler": "Spoiler", "text_link": "TextUrl",
    "code": "Code", "pre": "Pre",
}


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace like Telegram, shifting and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    if not stripped:
        return "", []
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    new_len = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, new_len)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{4,31}(?!\w)")


def auto_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram's clients attach on their own: bot commands and @mentions."""
    found = []
    for regex, kind in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for match in regex.finditer(text):
            found.append(_entity(kind, utf16_len(text[: match.start()]),
                                 utf16_len(match.group())))
    return _sorted_entities(found)


# --------------------------------------------------------------------------------------------
# Image sniffing for sendPhoto
# --------------------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG/JPEG/GIF/WebP; None if Telegram could not process it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            (segment_length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + segment_length
    return None


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]
CallMatch = str | Callable[[Call], bool]
#: A message named by a SentMessage, a telegram.Message, a Bot API message dict or (with the
#: chat known) a bare message_id.
MessageRef = Any


class FakeTelegram:
    """A strict in-process Bot API server plus the test-side controls to drive it.

    Everything runs on the test's event loop; ``inject_*`` methods are synchronous and wake a
    waiting ``getUpdates`` immediately.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "crimebot",
        *,
        bot_first_name: str = "Crime Bot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._clock = clock

        # What tests inspect.
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.answers: list[Answer] = []
        self.updates: list[dict[str, Any]] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked: set[int] = set()
        self.left: set[int] = set()
        self.migrated: dict[int, int] = {}
        #: (chat_id, user_id) -> status for getChatMember; posting in a group makes a member.
        self.members: dict[tuple[int, int], str] = {}
        self.webhook_url = ""
        self.internal_errors: list[BaseException] = []

        # Server-side state.
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._bot_messages: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_000_000_000)
        self._file_ids = itertools.count(1)
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._inline_queries: dict[str, dict[str, Any]] = {}
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._faults: list[_Fault] = []
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._handlers: dict[str, tuple[str, Handler]] = {}
        for name in (
            "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo",
            "setMyCommands", "sendMessage",
            "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
            "answerInlineQuery", "sendPhoto", "leaveChat", "getChatMember", "sendChatAction",
        ):
            self._handlers[name.lower()] = (name, getattr(self, f"_api_{name}"))

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        """Listen on 127.0.0.1 on a free port chosen by the OS."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        """Finish pending long polls and delays with empty answers, then close the server."""
        self._closing.set()
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.internal_errors:
            raise AssertionError(
                f"FakeTelegram itself crashed: {self.internal_errors!r}"
            ) from self.internal_errors[0]

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url`` / ``Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url``."""
        return f"{self.url}/file/bot"

    # ---------------------------------------------------------------- test-side: world setup

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Create or replace a user; users appear in ``from`` of injected updates."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": is_bot,
            "first_name": first_name or f"User{user_id}",
        }
        if last_name:
            user["last_name"] = last_name
        user["username"] = username if username is not None else f"user{user_id}"
        if not user["username"]:
            del user["username"]
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        if user_id in self.chats:
            self.chats[user_id] = self._private_chat(user)
        return user

    def add_chat(
        self,
        chat_id: int,
        chat_type: ChatType | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Register a chat so the bot may send to it (Telegram says "chat not found" otherwise).

        The type is inferred from the id when omitted: positive = private, ``-100...`` =
        supergroup, other negative = basic group.  Channels must be asked for explicitly.
        """
        chat_type = chat_type or _infer_chat_type(chat_id)
        _check_chat_id(chat_id, chat_type)
        existing = self.chats.get(chat_id)
        if existing is not None:
            if existing["type"] != chat_type:
                raise ValueError(f"chat {chat_id} is a {existing['type']}, not a {chat_type}")
            if title is None and username is None:
                return existing
        if chat_type == "private":
            user = self.users.get(chat_id) or self.add_user(chat_id)
            chat = self._private_chat(user)
        else:
            chat = {"id": chat_id, "type": chat_type,
                    "title": title or (existing or {}).get("title") or f"Chat {abs(chat_id)}"}
            if username:
                chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def block(self, chat_id: int) -> None:
        """Make sends to this chat fail with 403 (user blocked the bot / bot was kicked)."""
        self.blocked.add(chat_id)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Give a user a status in a group ("creator", "administrator", "member", "left",
        "kicked"), as getChatMember will report it."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {sorted(MEMBER_STATUSES)}")
        chat = self.add_chat(chat_id)
        if chat["type"] == "private":
            raise ValueError("members have statuses in groups, not private chats")
        if user_id not in self.users:
            self.add_user(user_id)
        self.members[(chat_id, user_id)] = status

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The current state of a stored message (after edits)."""
        return copy.deepcopy(self._messages[(chat_id, message_id)])

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot through ``getUpdates(offset=...)``."""
        return copy.deepcopy(self._pending)

    # ---------------------------------------------------------------- test-side: updates

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: ChatType | None = None,
        user_id: int | None = None,
        reply_to: MessageRef | None = None,
        entities: list[dict[str, Any]] | None = None,
        edited: bool = False,
        message_id: int | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Queue a text message from a user (or a channel post) and return the Update.

        ``entities=None`` computes bot_command/mention entities like Telegram clients do; pass
        ``[]`` for none.  ``edited=True`` turns an earlier user message (``message_id``, default
        the last one in the chat) into an ``edited_message`` / ``edited_channel_post``.
        """
        if not text or len(text) > MAX_TEXT_LENGTH:
            raise ValueError("users can only send 1..4096 characters")
        chat = self.add_chat(chat_id, chat_type, title=title)
        chat_type = chat["type"]
        if entities is None:
            entities = auto_entities(text)

        if edited:
            key = self._find_user_message(chat_id, message_id)
            message = self._messages[key]
            message["text"] = text
            message["edit_date"] = self._now()
            message.pop("entities", None)
            if entities:
                message["entities"] = entities
            kind = "edited_channel_post" if chat_type == "channel" else "edited_message"
            return self._queue_update({kind: copy.deepcopy(message)})

        if message_id is not None:
            raise ValueError("message_id is only for edited=True; new ids are assigned")
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        if reply_to is not None:
            target_key = self._message_key(reply_to, chat_id)
            if target_key not in self._messages:
                raise ValueError(f"reply_to: no message {target_key} in the fake")
            fields["reply_to_message"] = self._reply_copy(self._messages[target_key])
        message = self._new_message(chat, self._sender_for(chat, user_id), fields)
        kind = "channel_post" if chat_type == "channel" else "message"
        return self._queue_update({kind: copy.deepcopy(message)})

    def inject_callback(
        self,
        from_message: MessageRef,
        data: str,
        *,
        user_id: int | None = None,
        must_exist: bool = True,
    ) -> dict[str, Any]:
        """Queue a tap on an inline button of a message the bot sent; returns the Update.

        With ``must_exist`` (default) the data has to be on a button of the message's current
        keyboard, because users can only tap buttons that are there.
        """
        chat_id, msg_id = self._message_key(from_message, None)
        key = (chat_id, msg_id)
        if key not in self._bot_messages:
            raise ValueError(f"message {key} was not sent by the bot; nothing to tap")
        message = self._messages[key]
        if must_exist:
            buttons = _callback_datas(message.get("reply_markup"))
            if data not in buttons:
                raise ValueError(f"no button with callback_data {data!r}; have {buttons!r}")
        chat = self.chats[chat_id]
        user = self._user_for(chat, user_id)
        query_id = str(next(self._query_ids))
        self._callback_queries[query_id] = {"answered": False, "created": time.monotonic()}
        callback = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(chat_id) * 7919 % 10**18),
            "data": data,
        }
        return self._queue_update({"callback_query": callback})

    def inject_inline_query(
        self,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        offset: str = "",
        chat_type: str | None = "sender",
    ) -> dict[str, Any]:
        """Queue an inline query (``@bot query``) and return the Update."""
        if len(query) > 256:
            raise ValueError("inline queries are at most 256 characters")
        user = self.users.get(user_id) or self.add_user(user_id)
        query_id = str(next(self._query_ids))
        self._inline_queries[query_id] = {"answered": False, "created": time.monotonic()}
        inline_query: dict[str, Any] = {
            "id": query_id, "from": user, "query": query, "offset": offset,
        }
        if chat_type:
            inline_query["chat_type"] = chat_type
        return self._queue_update({"inline_query": inline_query})

    def inject_migration(
        self, old_chat_id: int, new_chat_id: int, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """Upgrade a basic group to a supergroup, like Telegram does.

        Queues the ``migrate_to_chat_id`` service message in the old group (returned) and the
        ``migrate_from_chat_id`` one in the new supergroup.  Afterwards, sending to the old id
        fails with 400 and ``parameters.migrate_to_chat_id`` (PTB raises ``ChatMigrated``).
        """
        old = self.add_chat(old_chat_id, "group")
        new = self.add_chat(new_chat_id, "supergroup", title=old["title"])
        user = self._user_for(old, user_id)
        first = self._new_message(old, user, {"migrate_to_chat_id": new_chat_id})
        second = self._new_message(new, user, {"migrate_from_chat_id": old_chat_id})
        self.migrated[old_chat_id] = new_chat_id
        update = self._queue_update({"message": copy.deepcopy(first)})
        self._queue_update({"message": copy.deepcopy(second)})
        return update

    def inject_update(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Queue any other update (e.g. ``{"my_chat_member": {...}}``); assigns update_id."""
        return self._queue_update(copy.deepcopy(dict(payload)))

    def restart_update_ids(self, first: int) -> None:
        """Number the next updates from ``first``, as Telegram does after a week without
        updates ("the identifier of the next update will be chosen randomly")."""
        self._update_ids = itertools.count(first)

    # ---------------------------------------------------------------- test-side: faults

    def fail_next(
        self,
        method: str | None,
        status: int = 429,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (None = any) with an error.

        429 gets ``parameters.retry_after`` (default 1) and Telegram's "Too Many Requests: retry
        after N"; 500 is "Internal Server Error"; other codes take ``description``.
        """
        parameters: dict[str, Any] = {}
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        default = {
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
        }
        description = description or default.get(status, "Internal Server Error")
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        error = ApiError(status, description, parameters or None)
        self._faults.append(_Fault(_lower(method), "fail", times, error=error))

    def delay_next(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before handling them.

        The call is still carried out afterwards, like Telegram does when the client gave up:
        a timed-out sendMessage may still have been delivered.
        """
        self._faults.append(_Fault(_lower(method), "delay", times, seconds=seconds))

    def drop_connections(self, n: int = 1, *, method: str | None = None) -> None:
        """Close the TCP connection of the next ``n`` requests (of ``method``) without answering.

        The request is not carried out; the client sees a network error and the next request
        (on a new connection) works normally.
        """
        self._faults.append(_Fault(_lower(method), "drop", n))

    def cut_after_effect(self, n: int = 1, *, method: str | None = None) -> None:
        """Carry out the next ``n`` requests (of ``method``), then close the connection instead
        of answering: the message exists, but the client sees a network error and cannot know.
        """
        self._faults.append(_Fault(_lower(method), "cut", n))

    # ---------------------------------------------------------------- test-side: waiting

    async def wait_for(
        self, match: CallMatch, timeout: float = 5.0, *, finished: bool = True
    ) -> Call:
        """Wait until the bot made a matching call and return it.

        ``match`` is a method name (case-insensitive) or a predicate on :class:`Call`; a
        predicate raising LookupError/TypeError/AttributeError counts as "no match", so
        ``lambda c: c.params["chat_id"] == 5`` is fine.  Each call is returned by ``wait_for``
        at most once (earliest first), so waiting for "sendMessage" twice yields two different
        messages.  With ``finished`` (default) only answered calls count, so the effects
        (``sent``, ``edits``...) are already visible; pass False to catch a long poll that has
        just started.
        """
        predicate = _call_predicate(match)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            for call in self.calls:
                if call.consumed or (finished and not call.finished):
                    continue
                if predicate(call):
                    call.consumed = True
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-20:])
                raise AssertionError(
                    f"no call matching {match!r} within {timeout}s; last calls: [{seen}]"
                )
            await _wait_event(changed, remaining)

    # ---------------------------------------------------------------- HTTP layer

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json_response(ApiError(404, "Not Found").body(), 404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Record the call, let :meth:`_answer` decide, and send the answer like Telegram."""
        method_name = request.match_info["method"]
        entry = self._handlers.get(method_name.lower())
        call = Call(method=entry[0] if entry else method_name, params={}, files={},
                    time=self._clock(), http_method=request.method)
        self.calls.append(call)
        try:
            status, body = await self._answer(request, call, entry)
        except ApiError as error:
            status, body = error.status, error.body()
        except ConnectionResetError:  # the client hung up mid-request (e.g. a cancelled poll)
            call.fault = "dropped"
            status, body = 500, {}
        except Exception as exc:  # a bug in the fake: answer 500 and make the test fail
            log.exception("FakeTelegram crashed handling %s", call.method)
            self.internal_errors.append(exc)
            status = 500
            body = ApiError(500, f"Internal Server Error: fake crashed: {exc!r}").body()
        finally:
            call.finished = True
            self._notify()
        if call.fault == "dropped":
            return web.Response(status=500)  # never reaches the client: the socket is closed
        call.status, call.response = status, body
        return _json_response(body, status)

    async def _answer(
        self, request: web.Request, call: Call, entry: tuple[str, Handler] | None
    ) -> tuple[int, dict[str, Any]]:
        """Checks in Telegram's order (token, method), then injected faults, then the method."""
        raw, call.files = await _read_params(request)
        call.params = raw
        self._notify()
        call.params = _normalize_params(raw)
        token = request.match_info["token"]
        if token != self.token:
            if not re.fullmatch(r"\d+:[\w-]+", token):
                raise ApiError(404, "Not Found")  # Telegram's answer to malformed tokens
            raise ApiError(401, "Unauthorized")
        if entry is None:
            raise ApiError(404, "Not Found")
        if self._take_fault(call.method, "drop"):
            call.fault = "dropped"
            if request.transport is not None:
                request.transport.close()
            return 500, {}
        fault = self._take_fault(call.method, "delay")
        if fault:
            call.fault = "delayed"
            await _wait_event(self._closing, fault.seconds)
        fault = self._take_fault(call.method, "fail")
        if fault and fault.error:
            call.fault = "injected"
            raise fault.error
        result = await entry[1](call.params, call.files)
        if self._take_fault(call.method, "cut"):
            call.fault = "dropped"
            if request.transport is not None:
                request.transport.close()
            return 500, {}
        return 200, {"ok": True, "result": result}

    def _take_fault(self, method: str, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.kind == kind and fault.matches(method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _notify(self) -> None:
        """Wake everything waiting on state changes (long polls, wait_for, delays)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ---------------------------------------------------------------- shared helpers

    def _now(self) -> int:
        return int(self._clock())

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        self._pending.append(update)
        self._notify()
        return copy.deepcopy(update)

    @staticmethod
    def _private_chat(user: Mapping[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _user_for(self, chat: Mapping[str, Any], user_id: int | None) -> dict[str, Any]:
        if chat["type"] == "private":
            if user_id is not None and user_id != chat["id"]:
                raise ValueError("in a private chat the user id is the chat id")
            user_id = chat["id"]
        user_id = DEFAULT_USER_ID if user_id is None else user_id
        return self.users.get(user_id) or self.add_user(user_id)

    def _sender_for(self, chat: Mapping[str, Any], user_id: int | None) -> dict[str, Any] | None:
        return None if chat["type"] == "channel" else self._user_for(chat, user_id)

    def _new_message(
        self,
        chat: Mapping[str, Any],
        sender: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Store a message with the chat's next message_id; returns the stored dict."""
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: dict[str, Any] = {"message_id": message_id}
        if sender is not None:
            message["from"] = dict(sender)
        elif chat["type"] == "channel":
            message["sender_chat"] = dict(chat)
        message["chat"] = dict(chat)
        message["date"] = self._now()
        if sender is not None and chat["type"] != "private":
            self.members.setdefault((chat_id, sender["id"]), "member")
        message.update(fields)
        self._messages[(chat_id, message_id)] = message
        return message

    @staticmethod
    def _reply_copy(message: Mapping[str, Any]) -> dict[str, Any]:
        """Telegram nests replied-to messages one level deep only."""
        nested = copy.deepcopy(dict(message))
        nested.pop("reply_to_message", None)
        return nested

    def _message_key(self, ref: MessageRef, chat_id: int | None) -> tuple[int, int]:
        """(chat_id, message_id) of a SentMessage, PTB Message, message dict or bare id."""
        if isinstance(ref, Mapping):
            return int(ref["chat"]["id"]), int(ref["message_id"])
        if not isinstance(ref, int):  # SentMessage, telegram.Message
            return int(ref.chat_id), int(ref.message_id)
        if chat_id is None:
            raise ValueError("a bare message id needs a chat")
        return chat_id, ref

    def _find_user_message(self, chat_id: int, message_id: int | None) -> tuple[int, int]:
        if message_id is not None:
            key = (chat_id, message_id)
            if key not in self._messages or key in self._bot_messages:
                raise ValueError(f"no user message {key} to edit")
            return key
        for key in reversed(list(self._messages)):
            if key[0] == chat_id and key not in self._bot_messages:
                return key
        raise ValueError(f"no user message in chat {chat_id} to edit")

    def _resolve_chat(self, chat_id: Any) -> dict[str, Any]:
        """Look up a chat by id or @username, with Telegram's errors."""
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        chat: dict[str, Any] | None = None
        if isinstance(chat_id, int):
            if chat_id in self.migrated:
                raise _bad_request(
                    "group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self.migrated[chat_id]},
                )
            chat = self.chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self.chats.values()
                         if c.get("username", "").lower() == chat_id[1:].lower()), None)
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _check_can_write(self, chat: Mapping[str, Any]) -> None:
        chat_id, chat_type = chat["id"], chat["type"]
        if chat_id in self.blocked:
            raise ApiError(403, {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
                "channel": "Forbidden: bot is not a member of the channel chat",
            }[chat_type])
        if chat_id in self.left:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat_type} chat")

    def _reply_target(
        self, chat: Mapping[str, Any], params: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The message being replied to, or the Telegram error if it does not exist."""
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if reply is not None:
            if not isinstance(reply, dict) or "message_id" not in reply:
                raise _bad_request("can't parse reply parameters JSON object")
            message_id = reply["message_id"]
            target_chat = chat
            if reply.get("chat_id") not in (None, chat["id"]):
                target_chat = self._resolve_chat(_coerce_chat_id(reply["chat_id"]))
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        elif params.get("reply_to_message_id") is not None:
            message_id, target_chat = params["reply_to_message_id"], chat
        else:
            return None
        target = self._messages.get((target_chat["id"], int(message_id)))
        if target is None and not allow_missing:
            raise _bad_request("message to be replied not found")
        return target

    def _bot_message_for_edit(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The bot's own message named by chat_id+message_id; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_can_write(chat)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        key = (chat["id"], message_id)
        if key not in self._messages:
            raise _bad_request("message to edit not found")
        if key not in self._bot_messages:
            raise _bad_request("message can't be edited")
        return self._messages[key]

    def _store_sent(self, method: str, chat: Mapping[str, Any], fields: dict[str, Any],
                    params: Mapping[str, Any], reply_to: Mapping[str, Any] | None,
                    *, photo: bytes | None = None, photo_ref: str | None = None) -> dict[str, Any]:
        markup = params.get("reply_markup")
        if reply_to is not None:
            fields["reply_to_message"] = self._reply_copy(reply_to)
        if _inline_markup(markup):
            fields["reply_markup"] = _inline_markup(markup)
        sender = self.bot_user if chat["type"] != "channel" else None
        message = self._new_message(chat, sender, fields)
        self._bot_messages.add((chat["id"], message["message_id"]))
        is_photo = method == "sendPhoto"
        self.sent.append(SentMessage(
            method=method,
            chat_id=chat["id"],
            message_id=message["message_id"],
            text=None if is_photo else str(params.get("text")),
            caption=params.get("caption") if is_photo else None,
            plain_text=message.get("caption" if is_photo else "text", ""),
            entities=copy.deepcopy(message.get("caption_entities" if is_photo else "entities",
                                               [])),
            parse_mode=params.get("parse_mode"),
            reply_to=reply_to["message_id"] if reply_to is not None else None,
            reply_markup=copy.deepcopy(markup),
            photo=photo,
            photo_ref=photo_ref,
            date=message["date"],
            message=copy.deepcopy(message),
        ))
        return copy.deepcopy(message)

    # ---------------------------------------------------------------- Bot API methods

    async def _api_getMe(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_getUpdates(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """Long polling as Telegram does it, including 409 for a competing poller."""
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get("offset") or 0
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        limit = params.get("limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = max(params.get("timeout") or 0, 0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise _bad_request("can't parse allowed updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES

        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll still waiting must now give up with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                    "that only one bot instance is running")
            self._pending = [u for u in self._pending
                             if _update_type(u) in self._allowed_updates]
            ready = self._pending[:limit]
            remaining = deadline - loop.time()
            if ready or remaining <= 0 or self._closing.is_set():
                return copy.deepcopy(ready)
            await _wait_event(changed, remaining)

    async def _api_deleteWebhook(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_setWebhook(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_getWebhookInfo(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            info["max_connections"] = 40
        return info

    @staticmethod
    def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _api_setMyCommands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON array")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        self.commands[key] = [{"command": c["command"], "description": c["description"]}
                              for c in commands]
        return True

    async def _api_sendMessage(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        text, entities = _format_text(params, "text", "entities", caption=False)
        _validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._check_can_write(chat)
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        return self._store_sent("sendMessage", chat, fields, params, reply_to)

    async def _api_sendChatAction(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """Shows "typing…" and the like: nothing is stored, but the chat and action must be
        real and the bot must be able to write there."""
        chat = self._resolve_chat(params.get("chat_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("Bad Request: wrong parameter action in request")
        self._check_can_write(chat)
        return True

    async def _api_sendPhoto(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        caption, entities = _format_text(params, "caption", "caption_entities", caption=True)
        _validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._check_can_write(chat)

        upload: UploadedFile | None = files.get("photo")
        ref = params.get("photo")
        if upload is None and isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
        if upload is None and not ref:
            raise _bad_request("there is no photo in the request")
        photo_ref: str | None = None
        if upload is not None:
            if not upload.data:
                raise _bad_request("file must be non-empty")
            size = _image_size(upload.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width <= 0 or height <= 0 or width + height > 10000 or (
                max(width, height) / min(width, height) > 20
            ):
                raise _bad_request("PHOTO_INVALID_DIMENSIONS")
            file_number = next(self._file_ids)
            file_id = f"AgACAgIAAxkBAAI{file_number:06d}FakePhoto"
            self.files[file_id] = upload
            data: bytes | None = upload.data
            photo_size = {"file_id": file_id, "file_unique_id": f"AQAD{file_number:06d}",
                          "width": width, "height": height, "file_size": len(upload.data)}
        else:
            ref = str(ref)
            if ref in self.files:
                data = self.files[ref].data
                size = _image_size(data) or (800, 600)
            elif re.match(r"https?://", ref):
                data, size = None, (800, 600)
            else:
                raise _bad_request("wrong file identifier/HTTP URL specified")
            photo_ref = ref
            file_number = next(self._file_ids)
            file_id = ref if ref in self.files else f"AgACAgIAAxkBAAI{file_number:06d}Url"
            photo_size = {"file_id": file_id, "file_unique_id": f"AQAD{file_number:06d}",
                          "width": size[0], "height": size[1]}

        fields: dict[str, Any] = {"photo": [photo_size]}
        if caption:
            fields["caption"] = caption
        if entities:
            fields["caption_entities"] = entities
        return self._store_sent("sendPhoto", chat, fields, params, reply_to,
                                photo=data, photo_ref=photo_ref)

    async def _api_editMessageText(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        message = self._bot_message_for_edit(params)
        text, entities = _format_text(params, "text", "entities", caption=False)
        markup = params.get("reply_markup")
        _validate_reply_markup(markup, inline_only=True)
        markup = _inline_markup(markup)
        if message is not None:
            if "text" not in message:
                raise _bad_request("there is no text in the message to edit")
            if (message["text"], message.get("entities", []), message.get("reply_markup")) == (
                text, entities, markup
            ):
                raise _bad_request(NOT_MODIFIED)
            message["text"] = text
            message.pop("entities", None)
            if entities:
                message["entities"] = entities
            # Like Telegram: an edit without reply_markup removes the inline keyboard.
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            message["edit_date"] = self._now()
        self.edits.append(self._edit_record("editMessageText", params, message))
        return copy.deepcopy(message) if message is not None else True

    async def _api_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        message = self._bot_message_for_edit(params)
        markup = params.get("reply_markup")
        _validate_reply_markup(markup, inline_only=True)
        markup = _inline_markup(markup)
        if message is not None:
            if message.get("reply_markup") == markup:
                raise _bad_request(NOT_MODIFIED)
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            message["edit_date"] = self._now()
        self.edits.append(self._edit_record("editMessageReplyMarkup", params, message))
        return copy.deepcopy(message) if message is not None else True

    @staticmethod
    def _edit_record(
        method: str, params: Mapping[str, Any], message: Mapping[str, Any] | None
    ) -> Edit:
        return Edit(
            method=method,
            chat_id=message["chat"]["id"] if message else None,
            message_id=message["message_id"] if message else None,
            inline_message_id=params.get("inline_message_id"),
            text=params.get("text"),
            parse_mode=params.get("parse_mode"),
            reply_markup=copy.deepcopy(params.get("reply_markup")),
            message=copy.deepcopy(dict(message)) if message else None,
        )

    @staticmethod
    def _take_query(queries: dict[str, dict[str, Any]], query_id: Any) -> None:
        """Mark a query answered; Telegram refuses unknown, answered or expired queries."""
        state = queries.get(str(query_id or ""))
        if (
            state is None
            or state["answered"]
            or time.monotonic() - state["created"] > CALLBACK_QUERY_TTL
        ):
            raise _bad_request(QUERY_TOO_OLD)
        state["answered"] = True

    async def _api_answerCallbackQuery(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._take_query(self._callback_queries, params.get("callback_query_id"))
        self.answers.append(Answer(
            kind="callback_query",
            query_id=str(params.get("callback_query_id")),
            text=text,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            params=copy.deepcopy(params),
        ))
        return True

    async def _api_answerInlineQuery(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse inline query results JSON array")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            _validate_inline_result(result, seen)
        next_offset = params.get("next_offset")
        if next_offset is not None and len(str(next_offset).encode()) > 64:
            raise _bad_request("NEXT_OFFSET_INVALID")
        self._take_query(self._inline_queries, params.get("inline_query_id"))
        self.answers.append(Answer(
            kind="inline_query",
            query_id=str(params.get("inline_query_id")),
            results=copy.deepcopy(results),
            params=copy.deepcopy(params),
        ))
        return True

    async def _api_getChatMember(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad_request("invalid user_id specified")
        user = self.users.get(user_id) or (self.bot_user if user_id == self.bot_id else None)
        if user is None:
            raise _bad_request("user not found")
        self._check_can_write(chat)
        if chat["type"] == "private":
            if user_id not in (chat["id"], self.bot_id):
                raise _bad_request("user not found")
            status = "member"
        else:
            status = self.members.get((chat["id"], user_id), "left")
        return _chat_member(status, user)

    async def _api_leaveChat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        if chat["type"] == "private":
            raise _bad_request("chat member status can't be changed in private chats")
        if chat["id"] in self.left:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        self.left.add(chat["id"])
        return True

# --------------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------------


MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
_ADMIN_RIGHTS = (
    "can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
    "can_post_stories", "can_edit_stories", "can_delete_stories", "can_pin_messages",
)


def _chat_member(status: str, user: Mapping[str, Any]) -> dict[str, Any]:
    """A ChatMember object with the fields Telegram always sends for that status."""
    member: dict[str, Any] = {"status": status, "user": dict(user)}
    if status in ("creator", "administrator"):
        member["is_anonymous"] = False
    if status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS, False), can_manage_chat=True,
                      can_delete_messages=True, can_pin_messages=True)
    if status == "kicked":
        member["until_date"] = 0
    return member


def _lower(method: str | None) -> str | None:
    return method.lower() if method else None


def _call_predicate(match: CallMatch) -> Callable[[Call], bool]:
    if isinstance(match, str):
        name = match.lower()
        return lambda call: call.method.lower() == name

    def safe(call: Call) -> bool:
        try:
            return bool(match(call))
        except (LookupError, TypeError, AttributeError):
            return False

    return safe


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds; timing out is not an error here."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(timeout, 0))


def _json_response(body: Mapping[str, Any], status: int) -> web.Response:
    """UTF-8 where it can be, and a \\u escape for a lone surrogate (which JSON allows and
    Telegram passes on from clients), as Telegram's own answers do."""
    try:
        encoded = json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        encoded = json.dumps(body).encode()
    return web.Response(
        status=status,
        body=encoded,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Collect parameters from the query string and a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method not in ("POST", "PUT") or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad_request("can't parse JSON object")
        params.update(body)
        return params, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedFile(name, value.filename, value.content_type,
                                       value.file.read())
        else:
            params[name] = value
    return params, files


def _coerce_chat_id(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


def _normalize_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn form strings into the types Telegram would parse them as."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _JSON_PARAMS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                what = {"reply_markup": "reply keyboard markup"}.get(name, name)
                raise _bad_request(f"can't parse {what} JSON object") from None
        elif name in _INT_PARAMS and isinstance(value, str | float):
            try:
                value = int(value)
            except ValueError:
                raise _bad_request(f"invalid {name} specified") from None
        elif name in _BOOL_PARAMS and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0", ""):
                raise _bad_request(f"invalid {name} specified")
            value = lowered in ("true", "1")
        elif name == "chat_id":
            value = _coerce_chat_id(value)
        params[name] = value
    return params


def _update_type(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _infer_chat_type(chat_id: int) -> ChatType:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _check_chat_id(chat_id: int, chat_type: str) -> None:
    """Catch impossible ids early: Telegram's id ranges differ by chat type."""
    ok = {
        "private": chat_id > 0,
        "group": -1_000_000_000_000 < chat_id < 0,
        "supergroup": chat_id <= -1_000_000_000_000,
        "channel": chat_id <= -1_000_000_000_000,
    }.get(chat_type)
    if ok is None:
        raise ValueError(f"unknown chat type {chat_type!r}")
    if not ok:
        raise ValueError(
            f"{chat_id} is not a valid {chat_type} id (private > 0, group < 0, "
            "supergroup/channel -100xxxxxxxxxx)"
        )


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard as Telegram echoes it in Message objects; None if there is none."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _callback_datas(markup: Any) -> list[str]:
    if not isinstance(markup, dict):
        return []
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if isinstance(button, dict) and "callback_data" in button
    ]


_BUTTON_ACTIONS = frozenset(
    {
        "url", "callback_data", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
        "callback_game", "pay",
    }
)


def _validate_reply_markup(markup: Any, *, inline_only: bool = False) -> None:
    """Reject keyboards Telegram rejects, above all callback_data over 64 bytes."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request("can't parse inline keyboard button: field \"inline_keyboard\" "
                               "must be an Array of Arrays")
        for row in rows:
            for button in row:
                _validate_inline_button(button)
        return
    if inline_only:
        raise _bad_request("inline keyboard expected")
    if not ({"keyboard", "remove_keyboard", "force_reply"} & markup.keys()):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("keyboard", []):
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise _bad_request("BUTTON_TEXT_INVALID")


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad_request("can't parse inline keyboard button: Field \"text\" must be of type "
                           "String")
    if not button["text"]:
        raise _bad_request("BUTTON_TEXT_INVALID")
    actions = _BUTTON_ACTIONS & button.keys()
    if not actions:
        raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed in "
                           "the inline keyboard")
    if len(actions) > 1:
        raise _bad_request("can't parse inline keyboard button: Can't find field \"text\" in "
                           "the button")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(?i)(https?|tg)://\S+$", url):
            raise _bad_request("BUTTON_URL_INVALID")


def _format_text(
    params: Mapping[str, Any], text_key: str, entities_key: str, *, caption: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Parse text/caption with parse_mode or explicit entities, trim and length-check it."""
    raw = params.get(text_key)
    raw = "" if raw is None else str(raw)
    entities = params.get(entities_key)
    parse_mode = params.get("parse_mode")
    try:
        if entities is not None:
            if not isinstance(entities, list) or not all(
                isinstance(e, dict) and {"type", "offset", "length"} <= e.keys()
                for e in entities
            ):
                raise EntityParseError("entities must be an array of MessageEntity")
            text, parsed = raw, [dict(e) for e in entities]
        elif parse_mode in (None, ""):
            text, parsed = raw, []
        elif str(parse_mode).lower() == "html":
            text, parsed = parse_html(raw)
        else:  # the bot only speaks HTML; Markdown is not modelled (see the module docstring)
            raise _bad_request(f"unsupported parse_mode {parse_mode!r} in this fake")
    except EntityParseError as error:
        raise _bad_request(f"can't parse entities: {error}") from None
    text, parsed = _trim(text, _strip_private_keys(parsed))
    if caption:
        if len(text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
    else:
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
    return text, parsed



def _validate_inline_result(result: Any, seen: set[str]) -> None:
    """Telegram's checks on one InlineQueryResult: id, type, required fields, text markup."""
    if not isinstance(result, dict):
        raise _bad_request("can't parse inline query result JSON object")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not (
        1 <= len(result_id.encode()) <= MAX_INLINE_RESULT_ID_BYTES
    ):
        raise _bad_request("RESULT_ID_INVALID")
    if result_id in seen:
        raise _bad_request("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    if result.get("type") not in INLINE_RESULT_TYPES:
        raise _bad_request("RESULT_TYPE_INVALID")
    if result["type"] == "article":
        for key in ("title", "input_message_content"):
            if not result.get(key):
                raise _bad_request(f"can't parse inline query result: field \"{key}\" is "
                                   "required")
    _validate_reply_markup(result.get("reply_markup"), inline_only=True)
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        params = {"text": content["message_text"], "parse_mode": content.get("parse_mode"),
                  "entities": content.get("entities")}
        _format_text(params, "text", "entities", caption=False)
