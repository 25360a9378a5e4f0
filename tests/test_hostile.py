"""Hostile and odd inputs: the engine must answer every one, and the reply must stay safe HTML.

Why: a Telegram bot gets whatever people type or paste — markup, invisible characters, other
scripts, SQL, commands with nothing after them, 4,096-character walls of text. `Engine.ask`
promises never to raise, and the Telegram surface sends replies with `parse_mode=HTML`, so any
`<` that came from the user and survives into the reply either breaks the message (Telegram
rejects it) or injects markup. The corpus lives in tests/hostile_inputs.txt, one input per line,
with invisible characters written as themselves; inputs that cannot sit on a line of a text file
(line separators, NUL, lone surrogates, the 4,096-character message) are generated here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answer import STATUSES, Answer, Engine

CORPUS = Path(__file__).with_name("hostile_inputs.txt")
TELEGRAM_LIMIT = 4096
QUESTION = "sexual offences Wrexham 2022"


def _corpus() -> list[str]:
    """Lines of the corpus file, exactly as written (no stripping: spaces can be the point)."""
    return [line for line in CORPUS.read_text(encoding="utf-8").split("\n") if line]


def _generated() -> list[str]:
    """Inputs a line-per-input text file cannot hold, or that are too long to keep in one."""
    filler = "burglary Leeds 2023 "
    return [
        (filler * (TELEGRAM_LIMIT // len(filler) + 1))[:TELEGRAM_LIMIT],
        ("Llanfairpwllgwyngyll " * 200)[:TELEGRAM_LIMIT],
        "<" * TELEGRAM_LIMIT,
        "&" * TELEGRAM_LIMIT,
        "🚓" * (TELEGRAM_LIMIT // 2),
        "x" * 10_000,
        "zq " * 5_000,
        "\u2028burglary\u2029Leeds\x852023",
        "burglary\nLeeds\n2023",
        "\n\n\n",
        "   ",
        "\t",
        "\x00",
        "a\x00b burglary Leeds",
        "\x1b[31mburglary Leeds\x1b[0m",
        "\x7f\x08\x0c",
        "\ud800",
        "burglary \udfff Leeds 2023",
        "\U0010ffff\ue000",
        "",
    ]


INPUTS = _corpus() + _generated()
# Each input alone, and inside a real question, where it can disturb parsing of the rest.
CASES = [pytest.param(text, id=f"bare-{i}-{text[:24]!a}") for i, text in enumerate(INPUTS)]
CASES += [pytest.param(f"{QUESTION} {text}", id=f"mixed-{i}-{text[:24]!a}")
          for i, text in enumerate(INPUTS)]


@pytest.fixture(scope="module")
def engine(tiny_engine: Engine) -> Engine:
    """The tiny store built in code (tests/fixtures.py): these tests check that every input is
    answered safely, which needs a store with real answers in it, not ONS's real figures."""
    return tiny_engine


def test_corpus_is_substantial() -> None:
    """The corpus covers the kinds of input the brief lists; guard against it being emptied."""
    lines = _corpus()
    assert len(lines) >= 100
    for needle in ("\u200b", "\u202e", "<script>", "</i>", "&amp;", "[link](http://x)",
                   "DROP TABLE", "/crime", "/crime@crimebot", "@crimebot", "31/12/2022"):
        assert any(needle in line for line in lines), needle


def _ask(engine: Engine, text: str) -> Answer:
    answer = engine.ask(text)
    assert isinstance(answer, Answer)
    assert answer.status in STATUSES
    assert answer.status in {"ok", "ambiguous", "not_found", "no_data"}
    assert isinstance(answer.text, str) and answer.text.strip()
    return answer


@pytest.mark.parametrize("text", CASES)
def test_engine_answers_and_escapes(engine: Engine, text: str) -> None:
    """Never raises, always a known status and some words, and escaping leaves no raw `<`."""
    answer = _ask(engine, text)
    rendered = html.escape(answer.text)
    assert "<" not in rendered
    assert ">" not in rendered
    for part in answer.parts:
        assert part.status in STATUSES and part.text.strip()


def _telegram_renderer() -> Callable[[str], list[str]]:
    """bot.telegram.answer_html when the Telegram layer provides it, else skip."""
    try:
        from bot.telegram import answer_html
    except ImportError as error:
        pytest.skip(f"bot/telegram.py has no answer_html renderer: {error}")
    return answer_html


def _utf16_len(text: str) -> int:
    """Telegram's message limit counts UTF-16 code units, so emoji count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@pytest.mark.parametrize("text", CASES)
def test_telegram_html_is_safe(engine: Engine, text: str) -> None:
    """Each chunk fits a Telegram message, uses only the bot's own <b> markup, and is HTML
    that Telegram's parser (as strictly reimplemented by the fake server) accepts."""
    from tests.fake_telegram import parse_html

    answer_html = _telegram_renderer()
    answer = _ask(engine, text)
    chunks = answer_html(answer.text)
    assert chunks, "no message to send"
    for chunk in chunks:
        assert chunk.strip()
        assert _utf16_len(chunk) <= TELEGRAM_LIMIT
        assert "<" not in re.sub(r"</?b>", "", chunk), "a tag that the bot did not write"
        plain, _ = parse_html(chunk)
        assert plain.strip()


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@pytest.mark.parametrize("text", [p for p in CASES if not _has_lone_surrogate(p.values[0])])
def test_renderer_escapes_raw_text(text: str) -> None:
    """The renderer is the last line of defence, so feed it the hostile text itself.

    The engine normalises questions, so today no reply carries a `<` or `&` from the user; this
    keeps the HTML safe (and each chunk within 4,096 units after escaping — `<` becomes four
    characters) even if a future reply quotes the question verbatim. Lone surrogates are left
    out: Telegram only delivers valid UTF-8, and `normalise` drops them before any reply is built.
    """
    from tests.fake_telegram import parse_html

    chunks = _telegram_renderer()(text)
    assert chunks
    for chunk in chunks:
        assert _utf16_len(chunk) <= TELEGRAM_LIMIT
        assert "<" not in re.sub(r"</?b>", "", chunk)
        parse_html(chunk)
