"""A stand-in Telegram for deploy/smoke.sh and the systemd trial: no real Bot API needed.

Serves tests/fake_telegram.py's FakeTelegram (the same strict fake the end-to-end tests use) on
a fixed address, waits for the bot to start polling, sends it one question as a reporter would,
and prints the bot's reply on a line starting `REPLY ` so a shell script can grep for it. It then
keeps serving until stopped, so the bot's heartbeat (and the container's healthcheck) stays fresh.

    python deploy/smoke_fake_telegram.py --port 8081 --question "burglary Leeds"
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, "/fake")  # where deploy/smoke.sh mounts tests/ inside the container

from aiohttp import web
from fake_telegram import FakeTelegram

TOKEN = "123456:smoke-fake-token"
CHAT_ID = 42


async def serve(host: str, port: int, question: str) -> None:
    async with FakeTelegram(token=TOKEN, bot_username="crimebot_smoke") as tg:
        # FakeTelegram listens on a random loopback port; add the fixed one the bot is told.
        site = web.TCPSite(tg._runner, host, port)
        await site.start()
        print(f"LISTENING http://{host}:{port}/bot", flush=True)
        await tg.wait_for("getUpdates", timeout=600, finished=False)
        tg.inject_message(CHAT_ID, question)
        await tg.wait_for("sendMessage", timeout=120)
        reply = tg.sent[-1].text.replace("\n", " | ")
        print(f"REPLY {reply}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--question", default="burglary in Leeds")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.question))


if __name__ == "__main__":
    main()
