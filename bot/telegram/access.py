"""Who may ask, which messages are questions, and how fast one person may ask.

Pure decisions with no network: the handlers apply them. The flood guard paces a person rather
than refusing them: every question is answered, a fast asker just waits their turn, and is told
so once per burst.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Message
from telegram.constants import ChatType


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


@dataclass(frozen=True)
class Pace:
    """How long a question waits for its asker's turn, and whether to say so now."""

    wait: float
    tell: bool


@dataclass
class FloodGuard:
    """One question per `seconds` per person; faster questions wait for their turn.

    Each question books the asker's next free slot, so a burst of five is answered at 0, s, 2s,
    3s, 4s rather than once with four refusals. The asker is told at most once per burst, at
    the first question whose wait reaches `notice` seconds (shorter waits only show "typing",
    which costs nothing of a group's message budget); a question that needs no wait ends the
    burst.
    """

    seconds: float
    clock: Callable[[], float] = time.monotonic
    notice: float = 0.0
    _next: dict[int, float] = field(default_factory=dict)
    _told: set[int] = field(default_factory=set)

    def book(self, user_id: int, waited: float = 0.0) -> Pace:
        """Book the asker's next turn; `waited` is how long the question has waited already
        (in the chat's queue), which counts towards `notice`."""
        now = self.clock()
        start = max(now, self._next.get(user_id, now))
        self._next[user_id] = start + self.seconds
        wait = start - now
        if wait <= 0:
            self._told.discard(user_id)
            return Pace(0.0, False)
        tell = waited + wait >= self.notice and user_id not in self._told
        if tell:
            self._told.add(user_id)
        return Pace(wait, tell)
