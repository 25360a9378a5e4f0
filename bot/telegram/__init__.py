"""The Telegram surface, in rooms: `render` (pure HTML), `callbacks` (button data), `access`
(who may ask, and how fast), `handlers`, `inbox` (journal, per-chat queues, exactly-once
sends), `limiter`, and `app` (the factory and the fetch loop). The names below are what the CLI
and the tests use."""

from bot.telegram.access import Access, FloodGuard, command_question, question_in, replies_to_bot
from bot.telegram.app import (
    ALLOWED_UPDATES,
    COMMANDS,
    EXIT_AUTH,
    Runner,
    Tuning,
    build_application,
    open_serving_engine,
    post_init,
    post_shutdown,
    run,
    runner_of,
)
from bot.telegram.callbacks import (
    ACTION_ANSWER,
    ACTION_CHART,
    MAX_CALLBACK_BYTES,
    decode_callback,
    encode_callback,
    offence_digest,
    resolve_offence,
)
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

__all__ = [
    "ACTION_ANSWER", "ACTION_CHART", "ALLOWED_UPDATES", "COMMANDS", "EXIT_AUTH",
    "INLINE_CACHE_SECONDS", "MAX_CALLBACK_BYTES", "NOT_ALLOWED", "SLOW_DOWN", "SORRY",
    "STALE_BUTTON", "Access", "FloodGuard", "Limiter", "Limits", "Runner", "Tuning",
    "answer_html", "answer_keyboard", "build_application", "command_question",
    "decode_callback", "encode_callback", "escaped_len", "inline_article", "offence_digest",
    "open_serving_engine", "post_init", "post_shutdown", "question_in", "replies_to_bot",
    "resolve_offence", "run", "runner_of", "split_message", "utf16_len",
]
