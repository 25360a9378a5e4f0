"""The bot's commands in one table, and the one list of handlers, read top to bottom.

The command menu Telegram shows (`setMyCommands`), the /help text and the `CommandHandler`s all
come from `COMMANDS`, so a command cannot be wired and left out of the menu, or described one
way in the menu and another in /help. A new command is one row here and one handler in
`bot.telegram.handlers` (for a one-message reply, a `@replies` function returning `Said`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

import bot.telegram.handlers as handlers
from bot.answer import Engine
from bot.parts import Line
from bot.telegram.handlers import Context, Handler, Said, replies
from bot.telegram.render import EXAMPLE, lines_html

Who = Literal["anyone", "group admins"]


@dataclass(frozen=True)
class Command:
    """One command: its name, what the menu and /help say it does, its handler and who may
    use it. `desk` puts it under "Release-day desk" in /help; `aliases` answer too but stay
    out of the menu (/start, which Telegram sends when a chat opens)."""

    name: str
    description: str
    handler: Handler
    who: Who = "anyone"
    desk: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """The description as the menu shows it, naming who may use the command."""
        return self.description if self.who == "anyone" else f"{self.description} ({self.who})"


@replies
async def on_help(update: Update, context: Context, engine: Engine) -> Said:
    return Said(lines_html(help_lines(context.bot.username)))


COMMANDS: tuple[Command, ...] = (
    Command("crime", "Ask about recorded crime: /crime burglary Leeds 2023",
            handlers.on_crime),
    Command("chart", "Chart a series: /chart sexual offences Wrexham", handlers.on_chart),
    Command("help", "How to ask, with examples", on_help, aliases=("start",)),
    Command("about", "Which ONS data editions I answer from", handlers.on_about),
    Command("story", "The answer as copy to paste: /story sexual offences Wrexham",
            handlers.on_story, desk=True),
    Command("new", "What the newest ONS edition says about this chat's patch",
            handlers.on_new, desk=True),
    Command("patch", "Show or set this chat's patch: /patch Wrexham, Flintshire",
            handlers.on_patch, desk=True),
    Command("subscribe", "Release alerts for the patch", handlers.on_subscribe,
            who="group admins", desk=True),
    Command("unsubscribe", "Turn release alerts off", handlers.on_unsubscribe,
            who="group admins", desk=True),
)


def menu() -> list[BotCommand]:
    """The command menu registered at start, in the table's order."""
    return [BotCommand(command.name, command.line) for command in COMMANDS]


def help_lines(bot_username: str) -> list[Line]:
    """/help and /start: how to ask, with examples, then every command in the table."""
    def listed(desk: bool) -> list[Line]:
        return [Line(f"/{c.name} — {c.line}") for c in COMMANDS if c.desk == desk]

    return [
        Line("Police recorded crime in England and Wales, from the ONS tables.", strong=True),
        Line(""),
        Line("Ask for an offence, a place and a period, for example:"),
        Line(f"/crime {EXAMPLE}"),
        Line("/crime burglary Leeds latest"),
        Line("/crime violent crime Bedfordshire 2024"),
        Line("/chart knife crime Greater Manchester"),
        Line("/crime which area in Kent has the highest burglary rate"),
        Line(""),
        Line("In a group, start with /crime, mention me or reply to one of my answers. In a "
             f"private chat just type the question. In any chat, type @{bot_username} and the "
             "question to share an answer."),
        Line(""),
        *listed(desk=False),
        Line(""),
        Line("Release-day desk", strong=True),
        *listed(desk=True),
        Line("In groups only admins may change the patch and alerts."),
    ]


def wire(application: Application) -> None:
    """Every handler, in the order PTB tries them: the allow-list gate in group -1 ahead of
    all (it stops what is not allowed), then each command once, then plain text, button
    presses and inline queries; errors last."""
    new_messages = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    for command in COMMANDS:
        application.add_handler(CommandHandler([command.name, *command.aliases],
                                               command.handler, filters=new_messages))
    application.add_handler(MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND,
                                           handlers.on_text))
    application.add_handler(CallbackQueryHandler(handlers.on_button))
    application.add_handler(InlineQueryHandler(handlers.on_inline))
    application.add_error_handler(handlers.on_error)
