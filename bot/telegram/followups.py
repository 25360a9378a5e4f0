"""Which earlier answer a message follows on from, and filing each answer's topic.

The rules (issue #21): in a group only a reply to one of the bot's answers carries context, so
two reporters talking at once never borrow each other's questions; in a private chat a reply
does, and so does a message that reads as a follow-up ("and Flintshire?") within the follow-up
window after the chat's last answer. Inline mode has no earlier answer at all. No statistics
here: what is carried is `bot.followup`'s decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Message
from telegram.constants import ChatType

from bot.conversations import KEPT_S, Conversations
from bot.followup import Topic, reads_as_follow_up
from bot.reply import Turn
from bot.telegram.render import aside_html

log = logging.getLogger("bot.telegram")

EXPIRED = ("Your last answer here is more than {minutes:g} minutes old, so I have read this as "
           "a new question. To follow on from an answer, reply to it.")
INLINE_NO_CONTEXT = ("Inline answers have no earlier answer to follow on from: ask the whole "
                     "question (offence, place and period), or reply to one of my answers in a "
                     "chat with me.")


@dataclass(frozen=True)
class Recall:
    """The topic a message follows on from (None: a question on its own), and a note to show
    when a private follow-up came after the window had closed."""

    topic: Topic | None
    note: str = ""


def recall(message: Message, bot_id: int, conversations: Conversations, window_s: float,
           now: float | None = None) -> Recall:
    """Replies first (any chat), then a private chat's recent last answer."""
    target = message.reply_to_message
    if target is not None and target.from_user is not None and target.from_user.id == bot_id:
        return Recall(conversations.topic(message.chat_id, target.message_id, now))
    if message.chat.type != ChatType.PRIVATE or not reads_as_follow_up(message.text or ""):
        return Recall(None)
    recent = conversations.latest(message.chat_id, window_s, now)
    if recent is not None:
        return Recall(recent)
    if conversations.latest(message.chat_id, KEPT_S, now) is not None:
        return Recall(None, EXPIRED.format(minutes=window_s / 60))
    return Recall(None)


def remember(conversations: Conversations, chat: int, sent: Iterable[Message | None],
             turn: Turn) -> None:
    """File the answer's topic under each message it was sent as."""
    ids = [m.message_id for m in sent if m is not None]
    if turn.topic is None or not ids:
        return
    conversations.remember(chat, ids, turn.topic, time.time())


def lead_html(turn: Turn) -> str:
    """The "Following on from …" line, for replies whose text does not carry it (rankings,
    story copy)."""
    if turn.follow is None or not turn.follow.lead:
        return ""
    return aside_html(turn.follow.lead.rstrip(': ') + ':') + "\n"
