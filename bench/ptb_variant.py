"""`crimebot run` with python-telegram-bot settings changed at run time, for diagnosis only.

Why: when the end-to-end stage misses its throughput target, the question is whether the bot's
own code or the framework settings chosen in `bot.telegram.build_application` set the ceiling.
Running the same bot with one setting changed answers that without editing `bot/`.
BENCH_PTB_VARIANT holds words: "nolimit" drops whatever rate limiter the bot passes to
`ApplicationBuilder.rate_limiter` (PTB's AIORateLimiter or the bot's own), "concurrent" turns on
`concurrent_updates(True)`. The patches are on python-telegram-bot's builder, not on `bot/`, so
they hold whether the Telegram layer is one module or a package; the bot is then started the way
`crimebot run` starts it.
"""

from __future__ import annotations

import os
import runpy
import sys

from telegram.ext import Application, ApplicationBuilder

VARIANT = os.environ.get("BENCH_PTB_VARIANT", "")


def _no_rate_limiter(self: ApplicationBuilder, limiter: object) -> ApplicationBuilder:
    return self


_real_build = ApplicationBuilder.build


def _concurrent_build(self: ApplicationBuilder) -> Application:
    self.concurrent_updates(True)
    return _real_build(self)


if "nolimit" in VARIANT:
    ApplicationBuilder.rate_limiter = _no_rate_limiter  # type: ignore[method-assign,assignment]
if "concurrent" in VARIANT:
    ApplicationBuilder.build = _concurrent_build  # type: ignore[method-assign]



def run() -> None:
    """`crimebot run`, through `bot.cli.main` when it exists, else as `python -m bot run`."""
    try:
        from bot.cli import main
    except ImportError:
        sys.argv = ["crimebot", "run"]
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
        return
    sys.exit(main(["run"]))


if __name__ == "__main__":
    run()
