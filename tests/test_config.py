"""The settings table, and what an operator sees when the store or a path is not usable."""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import SETTINGS, Config, ConfigError, Paths, read
from bot.ops import doctor, explain_os_error, store_unopenable, wait_for_store

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:ABC-def_1"
NAME_IN_STRING = re.compile(r"""["'][^"'\n]*?\b((?:CRIMEBOT|TELEGRAM)_[A-Z_]+)\b""")


# --- one table ------------------------------------------------------------------------------------


def test_no_module_reads_the_environment_except_through_the_table() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "bot").rglob("*.py") if path.name != "config.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"environ\s*(\.get\s*\(|\[)|getenv\s*\(", line)
    ]
    assert readers == []


def test_every_variable_the_code_names_is_declared_once() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    mentioned = {match for path in (ROOT / "bot").rglob("*.py")
                 for match in NAME_IN_STRING.findall(path.read_text())}
    assert mentioned - set(names) == set()


# Where settings may be read: the table's own module, the CLI and doctor (at start, to build
# the typed objects or report on each setting), and the ONS settings' constructor. Everything
# else is handed `Config`, `Paths` or `WebhookSettings`.
READ_AT_START = {"bot/config.py", "bot/cli.py", "bot/ops.py", "bot/sources.py"}


def test_settings_are_read_at_start_and_handed_down() -> None:
    readers = sorted(
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "bot").rglob("*.py")
        if str(path.relative_to(ROOT)) not in READ_AT_START
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"from bot\.config import[^#]*\bread\b|\bconfig\.read\(|settings\.read\(",
                     line))
    assert readers == []


def test_the_inbox_desk_and_archive_sit_beside_the_store_unless_a_setting_moves_one(
        tmp_path: Path) -> None:
    store = tmp_path / "data" / "crime.db"
    beside = Paths.from_env({"CRIMEBOT_DB": str(store)})
    assert (beside.store, beside.inbox, beside.desk, beside.archive) == (
        store, store.parent / "inbox.db", store.parent / "desk.db", store.parent / "archive")
    assert beside.heartbeat == Path("data/heartbeat")
    moved = Paths.from_env({"CRIMEBOT_DB": str(store), "CRIMEBOT_INBOX": "/run/i.db",
                            "CRIMEBOT_DESK_DB": "/srv/d.db", "CRIMEBOT_ARCHIVE": "/srv/ons",
                            "CRIMEBOT_HEARTBEAT": "/run/beat"}, store=tmp_path / "other.db")
    assert moved == Paths(tmp_path / "other.db", Path("/run/i.db"), Path("/srv/d.db"),
                          Path("/srv/ons"), Path("/run/beat"))
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "CRIMEBOT_DB": str(store),
                              "CRIMEBOT_DESK_DB": "/srv/d.db"})
    assert config.paths == Paths.beside(store, desk=Path("/srv/d.db"))


def test_run_help_lists_every_setting_it_reads_with_its_default() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    text = run.format_help()
    for setting in SETTINGS:
        if setting.used_by in ("run", "all", "webhook"):
            assert f"{setting.name}  (default: {setting.default or 'empty'})" in text


def test_doctor_reports_each_setting_on_its_own_line(tmp_path: Path) -> None:
    _, report = doctor({"TELEGRAM_BOT_TOKEN": "nope", "CRIMEBOT_DB": str(tmp_path / "x.db")})
    named = [line.split(":")[0].split()[-1] for line in report.splitlines()]
    assert named[: len(SETTINGS)] == [setting.name for setting in SETTINGS]


def test_blank_means_default_and_a_bad_value_names_the_variable() -> None:
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "CRIMEBOT_COOLDOWN_SECONDS": " ",
                              "CRIMEBOT_DB": ""})
    assert config.cooldown_seconds == 2.0 and config.db_path == Path("data/crime.db")
    with pytest.raises(ConfigError, match="CRIMEBOT_ONS_TIMEOUT"):
        read("CRIMEBOT_ONS_TIMEOUT", {"CRIMEBOT_ONS_TIMEOUT": "soon"})
    assert read("CRIMEBOT_SOURCES", {}) is None


# --- waiting for the store ------------------------------------------------------------------------


def test_bot_waits_for_the_first_ingest_and_says_what_will_end_the_wait(tmp_path: Path) -> None:
    store = tmp_path / "crime.db"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:  # the refresh service finishes while the bot waits
            store.write_bytes(b"SQLite format 3\0")

    out = io.StringIO()
    waited = wait_for_store(store, poll_s=5.0, sleep=sleep, out=out)
    lines = out.getvalue().splitlines()
    assert waited == 15.0
    assert len(lines) == 2
    assert f"no store at {store} yet" in lines[0]
    assert "systemctl start crimebot-refresh.service" in lines[0]
    assert "appeared after 15 s" in lines[1]


def test_a_bot_waiting_for_its_store_is_healthy_and_the_healthcheck_says_why(
        tmp_path: Path) -> None:
    store, heartbeat = tmp_path / "crime.db", tmp_path / "heartbeat"
    env = {**os.environ, "CRIMEBOT_HEARTBEAT": str(heartbeat)}
    checks: list[subprocess.CompletedProcess[str]] = []

    def sleep(seconds: float) -> None:  # Docker's healthcheck runs while the bot waits
        checks.append(subprocess.run([sys.executable, "-m", "bot", "healthcheck"], env=env,
                                     capture_output=True, text=True, timeout=60, cwd=ROOT))
        store.write_bytes(b"SQLite format 3\0")

    wait_for_store(store, sleep=sleep, out=io.StringIO(), heartbeat=heartbeat)
    (check,) = checks
    assert check.returncode == 0
    assert check.stdout.strip() == "crimebot healthcheck: waiting for the store"


def test_a_present_store_is_not_waited_for(db_path: Path) -> None:
    out = io.StringIO()
    assert wait_for_store(Path(db_path), sleep=pytest.fail, out=out) == 0.0
    assert out.getvalue() == ""


# --- one line per filesystem problem --------------------------------------------------------------


@pytest.mark.parametrize(("code", "path", "cause"), [
    (errno.EACCES, "/home/ann/ons", "ProtectHome=yes"),
    (errno.EACCES, "/root/ons", "ProtectHome=yes"),
    (errno.ENOENT, "/tmp/ons", "PrivateTmp=yes"),
    (errno.EROFS, "/opt/crimebot/crime.db", "ProtectSystem=strict"),
])
def test_filesystem_errors_name_the_path_and_the_likely_cause(code, path, cause) -> None:
    line = explain_os_error(OSError(code, os.strerror(code), path), "read")
    assert "\n" not in line
    assert line.startswith(f"cannot read {path}: {os.strerror(code).lower()}")
    assert cause in line


def test_a_folder_owned_by_someone_else_is_told_to_chown(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another user")
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    target = folder / ".crime.db.building-x"
    line = explain_os_error(OSError(errno.EACCES, "Permission denied", str(target)), "write")
    assert line.startswith(f"cannot write {target}: permission denied (")
    assert f"{folder} is owned by uid 65534:65534 with mode 0700, and crimebot runs as uid 0: " \
        "chown it to that user" in line


def test_a_file_that_shuts_out_its_own_owner_is_told_to_chmod(tmp_path: Path) -> None:
    store = tmp_path / "crime.db"
    store.write_bytes(b"")
    store.chmod(0)
    line = explain_os_error(OSError(errno.EACCES, "Permission denied", str(store)), "read")
    assert f"{store} has mode 0000, which shuts out its own owner: chmod u+rwX it" in line


def test_an_unexplained_error_still_names_the_path() -> None:
    line = explain_os_error(OSError(errno.EIO, os.strerror(errno.EIO), "/data/crime.db"), "read")
    assert line == "cannot read /data/crime.db: input/output error"


def crimebot(args: list[str], env: dict[str, str], as_other_user: bool = False,
             ) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess; as root, optionally as `nobody` so permissions bite."""
    def drop() -> None:
        os.setgid(65534)
        os.setuid(65534)

    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
                          preexec_fn=drop if as_other_user else None)


def test_ingest_from_a_folder_hidden_by_private_tmp_is_one_clear_line(tmp_path: Path) -> None:
    missing = Path("/tmp") / f"crimebot-no-such-folder-{os.getpid()}"
    result = crimebot(["ingest", "--source", str(missing), "--db", str(tmp_path / "c.db")], {})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(missing) in result.stderr and "PrivateTmp=yes" in result.stderr
    assert not (tmp_path / "c.db").exists()


def _other_user_cannot_enter(tmp_path: Path) -> Path:
    """A folder the test user owns with mode 0700, so another user gets EACCES inside it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user (permissions do not bind root)")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    for parent in (tmp_path, *tmp_path.parents):  # let `nobody` reach the folder itself
        if parent != Path("/"):
            parent.chmod(parent.stat().st_mode | 0o005)
    try:
        probe = crimebot(["--help"], {}, as_other_user=True)
    except PermissionError as error:
        pytest.skip(f"user nobody cannot run this interpreter ({error})")
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot import the checkout: {probe.stderr.strip()[-200:]}")
    return private


def test_ingest_into_a_folder_owned_by_someone_else_is_one_line_naming_owner(
    tmp_path: Path,
) -> None:
    private = _other_user_cannot_enter(tmp_path)
    sources = Path(os.environ.get("CRIMEBOT_SOURCES", ROOT.parent / "shared" / "data" / "ons"))
    if not sources.is_dir():
        pytest.skip(f"no ONS files at {sources}")
    local = tmp_path / "ons"
    shutil.copytree(sources, local)
    result = crimebot(["ingest", "--source", str(local), "--db", str(private / "crime.db")], {},
                      as_other_user=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"cannot write {private}/.crimebot-write-test-" in result.stderr
    assert f"{private} is owned by uid 0:0 with mode 0700, and crimebot runs as uid 65534" \
        in result.stderr


def test_bot_with_an_unreadable_store_stops_with_one_line(tmp_path: Path) -> None:
    private = _other_user_cannot_enter(tmp_path)
    (private / "crime.db").write_bytes(b"SQLite format 3\0")
    result = crimebot(["run"], {"TELEGRAM_BOT_TOKEN": TOKEN,
                                "CRIMEBOT_DB": str(private / "crime.db")}, as_other_user=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"cannot read the store {private}/crime.db: permission denied" in result.stderr


def test_store_unopenable_is_silent_for_a_readable_or_missing_store(db_path, tmp_path) -> None:
    assert store_unopenable(Path(db_path)) is None
    assert store_unopenable(tmp_path / "absent.db") is None


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("CRIMEBOT_COOLDOWN_SECONDS", ["0", "3600"], ["-1", "3601", "nan", "two"]),
    ("CRIMEBOT_ONS_TIMEOUT", ["0.5", "600"], ["0", "601", "inf", "soon"]),
    ("CRIMEBOT_STOP_GRACE_SECONDS", ["0", "600"], ["-0.1", "601", "nan"]),
    ("CRIMEBOT_LIMIT_SCALE", ["0.001", "1"], ["0", "1.5", "nan"]),
])
def test_numeric_settings_take_their_range_and_name_themselves_when_outside_it(name, good, bad):
    for raw in good:
        assert read(name, {name: raw}) == float(raw)
    for raw in bad:
        with pytest.raises(ConfigError, match=name):
            read(name, {name: raw})
