"""The name indexes the store carries answer exactly as the ones built in memory would, and a
store whose indexes were built by other code is indexed again rather than trusted."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from bot.answer import Engine
from bot.reply import reply_text, respond
from bot.store import Store
from tests.conftest import TODAY

QUESTIONS = [
    "crime in Wrecsam", "robbery Wrexham 2024", "burglary Manchester vs Bolton",
    "knife crime Greater Manchester police", "vilent crime Salford", "theft Flintshre",
    "robbery North West 2023", "burglary England and Wales",
]


def _answers(path: Path) -> list[str]:
    store = Store(path)
    try:
        engine = Engine(store, TODAY)
        return [reply_text(respond(engine, question)) for question in QUESTIONS]
    finally:
        store.close()


def test_a_store_indexed_by_other_code_answers_the_same_as_one_indexed_by_this_code(
        tiny_db: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale.db"
    shutil.copyfile(tiny_db, stale)
    conn = sqlite3.connect(stale)
    with conn:
        # What a store built before a new alias would hold: an index this code did not build.
        conn.execute("update meta set value = 'other code' where key = 'index_code'")
        conn.execute("delete from place_names")
        conn.execute("delete from offence_phrases")
    conn.close()
    assert _answers(stale) == _answers(tiny_db)
    assert "Wrexham" in _answers(stale)[0]


def test_the_store_carries_an_index_of_every_place_name_and_offence_phrase(tiny_db: Path) -> None:
    conn = sqlite3.connect(tiny_db)
    names = dict(conn.execute("select name, code from place_names"))
    phrases = dict(conn.execute("select phrase, offence from offence_phrases"))
    conn.close()
    assert names["wrecsam"] == names["wrexham"]
    assert phrases["burglary"] == "burglary"
