"""The Telegram surface, in rooms: `render` (pure HTML), `callbacks` (button data), `access`
(who may ask, and how fast), `handlers`, `commands` (the command table and the handler list),
`inbox` (journal, per-chat queues, exactly-once sends), `limiter`, `runner` (the fetch loop
and the store watch), `webhook` (the webhook server) and `app` (the factory and `crimebot
run`). Imports run one way: `app` → `webhook` → `runner` → `commands` → `handlers` → the
rooms before them; none imports back up, and none imports this package. The names below are
what the CLI and the tests use."""

from bot.telegram.access import Access, FloodGuard, command_question, question_in, replies_to_bot
from bot.telegram.app import build_application, open_serving_engine, run, runner_of
from bot.telegram.callbacks import (
    ACTION_ANSWER,
    ACTION_CHART,
    MAX_CALLBACK_BYTES,
    decode_callback,
    encode_callback,
    offence_digest,
    resolve_offence,
)
from bot.telegram.commands import COMMANDS
from bot.telegram.limiter import Limiter, Limits
from bot.telegram.render import (
    INLINE_CACHE_SECONDS,
    NOT_ALLOWED,
    SLOW_DOWN,
    SORRY,
    STALE_BUTTON,
    answer_html,
    answer_keyboard,
    escaped_len,
    inline_article,
    split_message,
    utf16_len,
)
from bot.telegram.runner import (
    ALLOWED_UPDATES,
    EXIT_AUTH,
    Runner,
    Tuning,
    post_init,
    post_shutdown,
)

__all__ = [
    "ACTION_ANSWER", "ACTION_CHART", "ALLOWED_UPDATES", "COMMANDS", "EXIT_AUTH",
    "INLINE_CACHE_SECONDS", "MAX_CALLBACK_BYTES", "NOT_ALLOWED", "SLOW_DOWN", "SORRY",
    "STALE_BUTTON", "Access", "FloodGuard", "Limiter", "Limits", "Runner", "Tuning",
    "answer_html", "answer_keyboard", "build_application", "command_question",
    "decode_callback", "encode_callback", "escaped_len", "inline_article", "offence_digest",
    "open_serving_engine", "post_init", "post_shutdown", "question_in", "replies_to_bot",
    "resolve_offence", "run", "runner_of", "split_message", "utf16_len",
]
