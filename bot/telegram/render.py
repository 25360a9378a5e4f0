"""Answers as Telegram HTML: pure functions from text and `Answer` fields to what is sent.

Everything a user reads is escaped here, once, and this is the one module that writes HTML:
answers, stories, digests and rankings reach it as plain words with their structure (roles,
strong lines) and leave it as markup. The application's `Defaults(parse_mode=HTML)` makes every
send parse it, so no call site can forget.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from datetime import UTC, datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from telegram.constants import MessageLimit

from bot import periods
from bot.answer import Answer
from bot.desk import Digest, digest_layout
from bot.parts import ANSWER, CHART, OPEN, SOURCE_BUTTON, WHERE_FROM, Button, Line
from bot.provenance import Citation, describe, links
from bot.rankings import Ranking, ranking_lines
from bot.store import EditionRow
from bot.story import Story
from bot.telegram.callbacks import (
    ACTION_ANSWER,
    ACTION_CHART,
    ACTION_OPEN,
    ACTION_SOURCE,
    encode_callback,
)

MAX_INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 300
HEADLINE_MARKUP = len("<b></b>")
LATE_AFTER_S = 180.0  # a reply this much later than the question says it is late

SORRY = "Sorry, something went wrong — please try again."
STALE_BUTTON = "That button is out of date — please ask the question again."
SLOW_DOWN = "You are asking faster than I can answer — I will reply to each question in turn."
NOT_ALLOWED = "This bot only answers in the chats it was set up for."
NO_CHART = "There are no figures to chart for that."
EMPTY_QUESTION = "Ask me a question after the command, for example: /{command} {example}"
EXAMPLE = "sexual offences Wrexham 2022"
NO_SOURCES = "No figure in that answer could be traced to a cell; please ask again."


MAX_HTML = MessageLimit.MAX_TEXT_LENGTH


def plain_html(text: str) -> str:
    """Plain words as HTML: escaped, nothing set."""
    return html.escape(text, quote=False)


def aside_html(text: str) -> str:
    """A remark beside a reply (a late reply, a follow-up's lead), in italics."""
    return f"<i>{plain_html(text)}</i>"


def line_html(line: Line) -> str:
    """A list line as HTML: a strong line in bold."""
    escaped = plain_html(line.text)
    return f"<b>{escaped}</b>" if line.strong else escaped


def lines_html(lines: Iterable[Line]) -> str:
    """Lines as one HTML message, a line to a line."""
    return "\n".join(line_html(line) for line in lines)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units, so emoji count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


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


def photo_caption(text: str) -> str:
    """A chart's caption as HTML within Telegram's caption limit: a headline that quotes a long
    ONS note is cut at a word, never sent over the limit (the photo would be refused)."""
    return html.escape(split_message(text, MessageLimit.CAPTION_LENGTH)[0], quote=False) \
        if text.strip() else ""


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


def late_note(asked: datetime | None, now: datetime) -> str | None:
    """A line owning up to a late reply (the bot was down or restarting), else None."""
    if asked is None or (now - asked).total_seconds() < LATE_AFTER_S:
        return None
    when = asked.astimezone(UTC).strftime("%H:%M UTC on %d %b")
    return f"Sorry for the late reply: you asked this at {when}."


ACTION_OF = {OPEN: ACTION_OPEN, ANSWER: ACTION_ANSWER, CHART: ACTION_CHART,
             SOURCE_BUTTON: ACTION_SOURCE}


def button_markup(button: Button) -> InlineKeyboardButton:
    """A reply's button as Telegram's, its action and target in the callback data."""
    return InlineKeyboardButton(button.label, callback_data=encode_callback(
        ACTION_OF[button.action], button.area, button.offence, button.period))


def answer_keyboard(answer: Answer) -> InlineKeyboardMarkup | None:
    """The answer's own buttons (candidates to pick from, or chart and previous/next period
    for a figure), else none."""
    rows = [[button_markup(b) for b in row] for row in answer.buttons]
    return InlineKeyboardMarkup(rows) if rows else None


def sources_html(citations: Iterable[Citation]) -> str:
    """"Where is this from?": each number with its file, sheet, cell and labels, then the ONS
    pages, so a reporter can open the table and check the figure before publishing."""
    cited = list(citations)
    if not cited:
        return html.escape(NO_SOURCES)
    lines = [f"<b>{html.escape(WHERE_FROM)}</b>"]
    lines += [f"• {html.escape(describe(citation))}" for citation in cited]
    pages = links(cited)
    if pages:
        lines.append("ONS: " + " ".join(
            f'<a href="{html.escape(page, quote=True)}">{html.escape(page)}</a>'
            for page in pages))
    return "\n".join(lines)


def desk_keyboard(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    """Digest and ranking buttons, one a row. A press sends the full answer below the message
    rather than in its place, so the digest or list stays readable."""
    rows = [[button_markup(b)] for b in buttons]
    return InlineKeyboardMarkup(rows) if rows else None


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
            answer_html(answer.text)[0],
            link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )


def about_text(editions: Iterable[EditionRow]) -> str:
    lines = ["<b>Data held</b> (ONS police recorded crime and supporting tables):", ""]
    for edition in editions:
        published = f", published {edition.published}" if edition.published else ""
        lines.append(f"• {html.escape(edition.title, quote=False)} "
                     f"({periods.short(edition.period_end)}{published})")
    return "\n".join(lines)


def story_html(story: Story) -> str:
    """Story copy as HTML: headline in bold, copy and source escaped, desk notes in italics
    after."""
    if story.status != "ok":
        return plain_html(story.text_only)
    parts = [f"<b>{plain_html(story.headline)}</b>", *(plain_html(p) for p in story.paragraphs),
             plain_html(story.source)]
    if story.desk_notes:
        parts.append("<i>" + plain_html("For the desk, not for print: "
                                        + " ".join(story.desk_notes)) + "</i>")
    return "\n\n".join(p for p in parts if p)


def digest_html(digest: Digest) -> str:
    """The digest as one HTML message within Telegram's limit: the longest block loses its
    last line (a block of a heading and one line goes whole) until it fits."""
    layout = digest_layout(digest)
    head = [line_html(line) for line in layout.head]
    body = [[line_html(line) for line in block] for block in layout.body]
    tail = [line_html(line) for line in layout.tail]
    while True:
        text = "\n\n".join("\n".join(block) for block in [head, *body, tail] if block)
        if utf16_len(text) <= MAX_HTML or not body:
            return text
        longest = max(body, key=len)
        if len(longest) <= 2:
            body.remove(longest)
        else:
            longest.pop()


def ranking_html(ranking: Ranking) -> str:
    """The ranking as one HTML message: the asked area in bold, as many rows as were asked for
    while the message stays within Telegram's limit."""
    if ranking.status != "ok":
        return plain_html(ranking.message)
    limit = ranking.limit
    text = lines_html(ranking_lines(ranking, limit))
    while utf16_len(text) > MAX_HTML and limit > 1:
        limit = limit // 2
        text = lines_html(ranking_lines(ranking, limit))
    return text
