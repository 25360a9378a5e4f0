"""Shared fixtures: one real store built from the real ONS files, once per test session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answer import Engine
from bot.ingest import Report, build
from bot.store import Store
from tests.fake_telegram import FakeTelegram

# The tiny store built in code (`tiny_store`, `tiny_engine`), for tests that need *a* store.
pytest_plugins = ["tests.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
# The ONS files the project ships; CRIMEBOT_SOURCES points the tests at another folder of editions.
SOURCES = Path(os.environ.get("CRIMEBOT_SOURCES") or ROOT / "data" / "ons")


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())


@pytest.fixture(scope="session")
def sources() -> Path:
    """The real ONS files; tests that check real figures skip (saying so) when they are absent,
    so a checkout without data/ons still runs everything else."""
    if not _has_files(SOURCES):
        pytest.skip(f"needs the real ONS files, none at {SOURCES} (set CRIMEBOT_SOURCES)")
    return SOURCES


@pytest.fixture(scope="session")
def built(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    path = tmp_path_factory.mktemp("store") / "crime.db"
    return path, build([sources], path)


@pytest.fixture(scope="session")
def db_path(built: tuple[Path, Report]) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def store(db_path: Path) -> Store:
    return Store(db_path)


# Answers are given as of one fixed day, so "last year" and "latest" mean the same on every run.
TODAY = date(2026, 11, 22)


@pytest.fixture(scope="session")
def engine(store: Store) -> Engine:
    return Engine(store, TODAY)


E2E_TOKEN = "123456:TEST-token_e2e"


@pytest_asyncio.fixture(loop_scope="function")
async def fake() -> AsyncIterator[FakeTelegram]:
    """A strict fake Bot API server on 127.0.0.1, fresh for each test."""
    async with FakeTelegram(token=E2E_TOKEN, bot_username="crimebot") as server:
        yield server
