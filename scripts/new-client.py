#!/usr/bin/env python3
"""Create clients/NAME/ from the demo template with freshly generated secrets.

    export ANSIBLE_VAULT_PASSWORD_FILE=~/.config/gateway/vault-password   # docs/operations.md
    uv run python scripts/new-client.py acme [--domain pay.acme.example] [--root DIR] [--force]

Stdlib only, plus the `ansible-vault` command (ansible-core, a dev dependency: `uv run` finds it)
that encrypts the five env files with the vault password file, so the client folder can live in
a repository; ansible decrypts them at deploy time with the same file. `--plaintext` writes them
unencrypted (throwaway clients only). Every secret of the template (keys ending in PASSWORD or SECRET, the Mongo replica
keyfile, SECRETS_MASTER_KEYS) gets a new random value; a value that also appears elsewhere (a
password inside DATABASE_URL, say) is replaced there too, so the files stay consistent. The
word "demo" in values and comments becomes NAME; a logo NAME.png is drawn. Nothing secret is
printed. Review the non-secret placeholders (addresses, domains, image tag) before deploying.

INGEST_BASIC_AUTH_HASH (.env.monitoring) is the bcrypt hash of INGEST_PASSWORD (.env.stack),
made with `caddy hash-password` when caddy is on PATH (bcrypt is not in the stdlib); otherwise,
and always for MONITORING_BASIC_AUTH_HASH (the UI password is the operator's choice, never
stored), the hash is left empty and ansible refuses to deploy the monitoring stack until set.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = "demo"
ENV_FILES = (".env.stack", ".env.backend", ".env.dashboard", ".env.databases", ".env.monitoring")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
LINE_RE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
GENERATED_NOTE = "# GENERATED SECRETS (scripts/new-client.py): keep private, store encrypted, never commit."


def _token() -> str:
    # URL-safe so it can sit inside postgresql:// mongodb:// redis:// URLs unescaped.
    return secrets.token_urlsafe(32)


def placeholder(key: str, name: str) -> str | None:
    """An obviously fake value for a secret variable (committed example clients only)."""
    fake = f"{name}-only-{key.lower().replace('_', '-')}-not-secret"
    if key == "SECRETS_MASTER_KEYS":
        return f"{name}1:{base64.b64encode(fake.encode()[:32].ljust(32, b'!')).decode()}"
    if key == "MONGO_REPLICA_KEY":
        return base64.b64encode(fake.encode()).decode()
    if key.endswith(("PASSWORD", "SECRET")):
        return fake
    return None


def new_secret(key: str, name: str = "") -> str | None:
    """A fresh value for a secret variable, or None when `key` is not a secret."""
    if key == "SECRETS_MASTER_KEYS":
        kid = "k" + datetime.now(UTC).strftime("%Y%m%d")
        return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    if key == "MONGO_REPLICA_KEY":
        # mongod keyfile: 6-1024 characters of the base64 alphabet.
        return base64.b64encode(secrets.token_bytes(96)).decode()
    if key.endswith(("PASSWORD", "SECRET")):
        return _token()
    return None


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small RGBA logo: a filled disc of `rgb` with a white ring, transparent outside."""
    cx, cy, r = width / 2, height / 2, min(width, height) / 2 - 1
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            d = ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) ** 0.5
            if d > r:
                rows += b"\x00\x00\x00\x00"
            elif r * 0.55 < d < r * 0.7:
                rows += b"\xff\xff\xff\xff"
            else:
                rows += bytes((*rgb, 255))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def accent(name: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(name.encode()).digest()
    return (digest[0] // 2 + 32, digest[1] // 2 + 32, digest[2] // 2 + 64)


def render(name: str, domain: str | None, template: Path, placeholders: bool = False) -> dict[str, str]:
    """Return {file name: text} of the new client's env files."""
    make = placeholder if placeholders else new_secret
    texts = {f: (template / f).read_text() for f in ENV_FILES}
    replacements: dict[str, str] = {}
    for text in texts.values():
        for line in text.splitlines():
            m = LINE_RE.match(line)
            if m and m.group(2) and m.group(2) not in replacements:
                fresh = make(m.group(1), name)
                if fresh is not None:
                    replacements[m.group(2)] = fresh
    out: dict[str, str] = {}
    for fname, text in texts.items():
        # Longest first, so a value that contains another is replaced whole.
        for old in sorted(replacements, key=len, reverse=True):
            text = text.replace(old, replacements[old])
        if domain:
            text = text.replace(f"{TEMPLATE}.example.test", domain)
        text = re.sub(rf"\b{TEMPLATE}\b", name, text)
        text = re.sub(rf"\b{TEMPLATE.title()}\b", name.title(), text)
        if not placeholders:
            text = re.sub(r"^# DEVELOPMENT PLACEHOLDERS.*$", GENERATED_NOTE, text, flags=re.M)
        # Hashes cannot be made with the stdlib (bcrypt): left empty for the operator.
        text = re.sub(r"^([A-Z_]+_HASH)=.*$", r"\1=", text, flags=re.M)
        text = re.sub(r"^# Placeholder hash .*\n", "", text, flags=re.M)
        r, g, b = accent(name)
        text = re.sub(
            r"^DASHBOARD_ACCENT_COLOR=.*$", f"DASHBOARD_ACCENT_COLOR=#{r:02x}{g:02x}{b:02x}", text, flags=re.M
        )
        out[fname] = text
    return _with_ingest_hash(_with_otlp_headers(out), placeholders)


def _values(files: dict[str, str]) -> dict[str, str]:
    values = {}
    for text in files.values():
        for line in text.splitlines():
            m = LINE_RE.match(line)
            if m:
                values[m.group(1)] = m.group(2)
    return values


def caddy_hash(password: str) -> str | None:
    """bcrypt hash of `password` by `caddy hash-password`, or None without caddy."""
    caddy = shutil.which("caddy")
    if not caddy:
        return None
    result = subprocess.run(
        [caddy, "hash-password", "--plaintext", password], capture_output=True, text=True, timeout=60
    )
    hashed = result.stdout.strip()
    return hashed if result.returncode == 0 and hashed.startswith("$2") else None


def _with_ingest_hash(files: dict[str, str], placeholders: bool) -> dict[str, str]:
    """INGEST_BASIC_AUTH_HASH from INGEST_PASSWORD, single-quoted so compose keeps the `$`."""
    password = _values(files).get("INGEST_PASSWORD")
    hashed = caddy_hash(password) if password and not placeholders else None
    if hashed:
        files[".env.monitoring"] = re.sub(
            r"^INGEST_BASIC_AUTH_HASH=.*$",
            lambda _: f"INGEST_BASIC_AUTH_HASH='{hashed}'",
            files[".env.monitoring"],
            flags=re.M,
        )
    return files


def _with_otlp_headers(files: dict[str, str]) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_HEADERS carries base64(user:password) of the ingest route."""
    values = _values(files)
    if "INGEST_USER" in values and "INGEST_PASSWORD" in values:
        pair = f"{values['INGEST_USER']}:{values['INGEST_PASSWORD']}".encode()
        header = "Authorization=Basic%20" + base64.b64encode(pair).decode()
        files[".env.backend"] = re.sub(
            r"^OTEL_EXPORTER_OTLP_HEADERS=.*$",
            lambda _: f"OTEL_EXPORTER_OTLP_HEADERS={header}",
            files[".env.backend"],
            flags=re.M,
        )
    return files


def _ansible_vault() -> str | None:
    """ansible-vault on PATH, or beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).parent / "ansible-vault"
    return shutil.which("ansible-vault") or (str(beside) if beside.is_file() else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="client folder name: lowercase letters, digits, dashes")
    parser.add_argument("--root", type=Path, default=REPO, help="folder holding clients/ (default: repo)")
    parser.add_argument("--template", type=Path, default=REPO / "clients" / TEMPLATE)
    parser.add_argument("--domain", help="public domain instead of NAME.example.test")
    parser.add_argument("--force", action="store_true", help="overwrite an existing folder")
    parser.add_argument(
        "--placeholders",
        action="store_true",
        help="obviously fake secrets instead of random ones, unencrypted (committed example clients only)",
    )
    parser.add_argument(
        "--vault-password-file",
        type=Path,
        default=os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or None,
        help="Ansible Vault password file that encrypts the env files [env ANSIBLE_VAULT_PASSWORD_FILE]",
    )
    parser.add_argument("--plaintext", action="store_true", help="leave the env files unencrypted (throwaway only)")
    args = parser.parse_args(argv)
    encrypt = not (args.placeholders or args.plaintext)
    vault = _ansible_vault() if encrypt else None
    if encrypt and not args.vault_password_file:
        parser.error("set ANSIBLE_VAULT_PASSWORD_FILE or --vault-password-file (or --plaintext for a throwaway client)")
    if encrypt and not args.vault_password_file.is_file():
        parser.error(f"vault password file {args.vault_password_file} does not exist")
    if encrypt and vault is None:
        parser.error("ansible-vault not found: run `uv run python scripts/new-client.py ...` or install ansible-core")

    if not NAME_RE.match(args.name) or args.name == TEMPLATE:
        parser.error(f"invalid client name {args.name!r} (pattern {NAME_RE.pattern}, not {TEMPLATE!r})")
    target = args.root / "clients" / args.name
    if target.exists() and not args.force:
        parser.error(f"{target} exists (use --force to overwrite)")
    target.mkdir(parents=True, exist_ok=True)
    for fname, text in render(args.name, args.domain, args.template, args.placeholders).items():
        path = target / fname
        path.write_text(text)
        path.chmod(0o600)
    (target / f"{args.name}.png").write_bytes(png(64, 64, accent(args.name)))
    monitoring = (target / ".env.monitoring").read_text()
    empty = re.findall(r"^([A-Z_]+_HASH)=\s*$", monitoring, flags=re.M)
    if encrypt:
        assert vault is not None
        subprocess.run(
            [
                vault,
                "encrypt",
                "--vault-password-file",
                str(args.vault_password_file),
                *(str(target / f) for f in ENV_FILES),
            ],
            check=True,
            capture_output=True,
        )
    kind = "placeholder" if args.placeholders else "fresh"
    sealed = "encrypted with Ansible Vault (ansible-vault edit FILE to change one)" if encrypt else "NOT encrypted"
    print(f"created {target} with {kind} secrets, env files {sealed}; review addresses, domains and GATEWAY_IMAGE")
    if empty:
        print(
            f"then set {', '.join(empty)} in .env.monitoring with `caddy hash-password` "
            "(single-quoted): MONITORING_BASIC_AUTH_HASH from a password you choose for the "
            "monitoring UIs, INGEST_BASIC_AUTH_HASH from INGEST_PASSWORD of .env.stack"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
