"""Shared helpers of the deployment checks: env files, compose interpolation, image pins."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "stacks"
CLIENTS = REPO / "clients"
DEMO = CLIENTS / "demo"
ENV_FILES = (".env.stack", ".env.backend", ".env.dashboard", ".env.databases", ".env.monitoring")
# Where each stack's ${VAR}s come from (docker compose --env-file ...).
STACK_ENV = {
    "app": (".env.stack",),
    "databases": (".env.stack",),
    "monitoring": (".env.stack", ".env.monitoring"),
}
ASSIGN_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
VAR_RE = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def parse_env(path: Path) -> dict[str, tuple[str, bool]]:
    """{name: (value, documented)}; documented = a comment sits above its block of assignments."""
    result: dict[str, tuple[str, bool]] = {}
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        m = ASSIGN_RE.match(line)
        if not m:
            continue
        j = i - 1
        while j >= 0 and ASSIGN_RE.match(lines[j]):
            j -= 1
        documented = j >= 0 and lines[j].lstrip().startswith("#") and len(lines[j].strip()) > 2
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[m.group(1)] = (value, documented)
    return result


def env_values(client: Path, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        values.update({k: v for k, (v, _) in parse_env(client / name).items()})
    return values


def variables_in(text: str) -> set[str]:
    """Every variable a compose file interpolates (not $$-escaped ones, not in comment lines)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return {m.group("braced") or m.group("bare") for m in VAR_RE.finditer(body) if m.group(0) != "$$"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style interpolation; raises KeyError for ${VAR:?msg} / ${VAR?msg} unset."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if empty else value  # type: ignore[return-value]
        if op in (":?", "?"):
            if empty:
                raise KeyError(f"{name}: {arg}")
            return value  # type: ignore[return-value]
        if op in (":+", "+"):
            return "" if empty else arg
        return value or ""

    return VAR_RE.sub(sub, text)


def load_compose(path: Path, env: dict[str, str]) -> dict:
    return yaml.safe_load(interpolate(path.read_text(), env))


def compose_files() -> list[Path]:
    return sorted(STACKS.glob("*/compose*.yml"))


def stack_of(path: Path) -> str:
    return path.parent.name


# An exact version: digits with at least one dot (1.2, v1.9.1, 17.6-bookworm, 3.11.14-slim).
PINNED_TAG_RE = re.compile(r"^v?\d+\.\d+(\.\d+)*([-+._][A-Za-z0-9.+-]+)?$")


def image_pinned(image: str) -> bool:
    """True for repo[:port]/name:exact-version[@digest]; False for latest, bare or major-only tags."""
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return False
    return tag != "latest" and bool(PINNED_TAG_RE.match(tag))


SECRET_KEY_RE = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|MASTER_KEY|_KEY$)", re.I)
URL_CREDENTIAL_RE = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?!\$)[^@\s/]+@", re.I)


def secret_literals(text: str) -> list[str]:
    """Lines of a compose file that write a secret value instead of referencing a variable."""
    problems = []
    for line in text.splitlines():
        stripped = line.split("#", 1)[0] if not line.lstrip().startswith("-") else line
        m = re.match(r"^\s*-?\s*([A-Za-z0-9_.-]+)\s*[:=]\s*(.+?)\s*$", stripped)
        if m and SECRET_KEY_RE.search(m.group(1)):
            value = m.group(2).split(" #", 1)[0].strip().strip("'\"")
            # References are fine: ${VAR}, a compose secret's path or name list, a YAML anchor.
            reference = value.startswith(("$", "/run/secrets/", "[", "&", "*")) or m.group(1).endswith("_FILE")
            if value and not reference and value not in ("null", "~", "{}"):
                problems.append(line.strip())
        if URL_CREDENTIAL_RE.search(line):
            problems.append(line.strip())
    return problems
