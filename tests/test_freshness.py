"""Staleness: the newest held edition against ONS's quarterly calendar (issue 18, item 4)."""

from __future__ import annotations

import json
from datetime import date
from functools import partial

import pytest

from bot.config import ConfigError, read
from bot.freshness import freshness, next_quarter_end
from bot.ops import Status, store_checks, store_facts, write_heartbeat

# The shipped files' newest crime edition: the year to June 2025, released 23 October 2025.
NEWEST = "2025-06-30"


@pytest.mark.parametrize(("held", "following"), [
    ("2025-06-30", "2025-09-30"), ("2025-09-30", "2025-12-31"), ("2025-12-31", "2026-03-31"),
    ("2025-02-28", "2025-03-31"), ("2026-03-31", "2026-06-30"),
])
def test_the_next_edition_covers_the_next_quarter(held, following):
    assert next_quarter_end(date.fromisoformat(held)).isoformat() == following


def test_a_store_is_fresh_until_the_month_of_the_next_release_and_its_grace_have_passed():
    # The year to September 2025 comes out in January 2026: due by 31 January, plus 14 days.
    fresh = freshness(NEWEST, "2025-10-23", date(2026, 2, 14), 14)
    assert not fresh.late and fresh.next_due == date(2026, 1, 31)
    assert fresh.age_days == 114
    assert fresh.line() == (
        "newest edition covers the year to June 2025, released 23 October 2025 (114 days ago); "
        "ONS's next edition (the year to September 2025, due by 31 January 2026) is not yet "
        "overdue")
    late = freshness(NEWEST, "2025-10-23", date(2026, 2, 15), 14)
    assert late.late and late.behind == 1
    assert late.line().startswith(
        "newest edition covers the year to June 2025, released 23 October 2025 (115 days ago): "
        "1 edition(s) behind ONS's quarterly calendar, the first (the year to September 2025, "
        "due by 31 January 2026) with 14 days' grace; check that `crimebot refresh` runs")


def test_editions_behind_counts_every_quarter_past_due_and_grace_moves_the_line():
    # By 2 December 2026: September 2025 (due January), December 2025 (April), March 2026
    # (July) and June 2026 (October) editions are all overdue.
    assert freshness(NEWEST, "2025-10-23", date(2026, 12, 2), 14).behind == 4
    assert freshness(NEWEST, "2025-10-23", date(2026, 12, 2), 60).behind == 3
    assert freshness(NEWEST, None, date(2026, 12, 2), 14).line().startswith(
        "newest edition covers the year to June 2025, release date not recorded: 4 edition(s)")


def test_the_grace_is_one_declared_setting_in_whole_days():
    assert read("CRIMEBOT_STALE_GRACE_DAYS", {}) == 14
    assert read("CRIMEBOT_STALE_GRACE_DAYS", {"CRIMEBOT_STALE_GRACE_DAYS": "30"}) == 30
    for bad in ("-1", "1.5", "a week", "400"):
        with pytest.raises(ConfigError, match="CRIMEBOT_STALE_GRACE_DAYS"):
            read("CRIMEBOT_STALE_GRACE_DAYS", {"CRIMEBOT_STALE_GRACE_DAYS": bad})


def test_doctor_warns_with_what_to_do_when_the_store_is_behind_and_is_quiet_when_not(db_path):
    late = store_checks(db_path, 14, date(2026, 12, 2))
    assert [c.state for c in late] == ["ok", "WARN"]
    assert late[1].line().startswith(
        "WARN  freshness: newest edition covers the year to June 2025, released 23 October 2025 "
        "(405 days ago): 4 edition(s) behind")
    assert "crimebot refresh" in late[1].detail
    fresh = store_checks(db_path, 14, date(2025, 11, 1))
    assert [c.state for c in fresh] == ["ok", "ok"]


def test_heartbeat_and_healthz_carry_the_age_and_a_stale_flag(store, tmp_path):
    path = tmp_path / "heartbeat"
    facts = partial(store_facts, store, grace_days=14, today=date(2026, 12, 2))
    write_heartbeat(path, Status(facts), now=1000.0)
    record = json.loads(path.read_text())
    assert {k: record[k] for k in ("newest_period", "newest_released", "newest_age_days",
                                   "next_edition_due", "editions_behind", "stale")} == {
        "newest_period": NEWEST, "newest_released": "2025-10-23", "newest_age_days": 405,
        "next_edition_due": "2026-01-31", "editions_behind": 4, "stale": True}
    fresh = Status(partial(store_facts, store, grace_days=14, today=date(2025, 11, 1)))
    assert fresh.snapshot()["stale"] is False
