"""Dashboard accounts over HTTP (frontend role, in process): argon2 hashes and the scrypt upgrade,
team roles and the permission table, invites, disabling, password reset links (issue 22)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import secrets
import sys
from typing import Any

import httpx

from core import audit
from core.dashboard.users import create_user, get_user, user_by_email
from tests.integration.test_dashboard import PASSWORD, csrf_of, new_user, sign_in

LINK = re.compile(r"https?://[^/\s<]+(/reset/pwl_[A-Za-z0-9_-]+)")
NEW_PASSWORD = "a brand new passphrase"


async def member(db: Any, merchant_id: str, team_role: str) -> dict[str, Any]:
    return await create_user(
        db, f"{team_role}-{secrets.token_hex(4)}@example.com", PASSWORD, "merchant", merchant_id, team_role
    )


async def post_form(client: httpx.AsyncClient, page_path: str, action: str, **fields: str) -> httpx.Response:
    """Post a form the way a browser does: with the CSRF token of the page it sits on."""
    page = await client.get(page_path)
    return await client.post(action, data={**fields, "csrf_token": csrf_of(page.text)})


async def set_password(
    client: httpx.AsyncClient, path: str, password: str, confirm: str | None = None
) -> httpx.Response:
    form = await client.get(path)
    if form.status_code == 404:  # a dead link shows no form: post the way a stale browser tab would
        form = await client.get("/signin")
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return await client.post(path, data={**data, "csrf_token": csrf_of(form.text)})


def scrypt_hash(password: str) -> str:
    """The format the dashboard stored before argon2 (core/dashboard/users.py before issue 22)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


async def test_new_passwords_are_argon2id(make_merchant: Any, db: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    rows = await db.sql("SELECT password_hash FROM dashboard_users WHERE email = {}", email)
    assert rows[0]["password_hash"].startswith("$argon2id$") and PASSWORD not in rows[0]["password_hash"]


async def test_a_scrypt_hash_still_signs_in_and_becomes_argon2id(app_client: Any, make_merchant: Any, db: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    legacy = scrypt_hash(PASSWORD)
    await db.sql("UPDATE dashboard_users SET password_hash = {} WHERE email = {}", legacy, email)
    user_id = (await db.sql("SELECT id FROM dashboard_users WHERE email = {}", email))[0]["id"]
    async with app_client("frontend", client_ip="10.22.1.1") as client:
        assert (await sign_in(client, email, "not the password")).status_code == 401
        assert (await get_user(db, user_id))["password_hash"] == legacy  # type: ignore[index]  # no upgrade on a miss
        assert (await sign_in(client, email)).status_code == 303
    upgraded = (await get_user(db, user_id))["password_hash"]  # type: ignore[index]
    assert upgraded.startswith("$argon2id$")
    async with app_client("frontend", client_ip="10.22.1.2") as client:
        assert (await sign_in(client, email)).status_code == 303  # the new hash verifies


async def test_each_team_role_gets_exactly_what_the_permission_table_gives(
    app_client: Any, make_merchant: Any, db: Any
) -> None:
    merchant = await make_merchant()
    expected = {  # role: (may write keys, whitelist, manage the team)
        "owner": (True, True, True),
        "admin": (True, True, True),
        "developer": (True, True, False),
        "viewer": (False, False, False),
    }
    for team_role, (keys_ok, whitelist_ok, team_ok) in expected.items():
        user = await member(db, merchant.merchant_id, team_role)
        async with app_client("frontend", client_ip="10.22.2.1") as client:
            assert (await sign_in(client, user["email"])).status_code == 303
            for path in ("/", "/payins", "/keys", "/webhooks", "/ledger", "/settings/whitelist"):
                assert (await client.get(path)).status_code == 200, (team_role, path)
            shown = {path: (await client.get(path)).text for path in ("/keys", "/webhooks", "/settings/whitelist")}
            assert ("Create a key" in shown["/keys"]) is keys_ok, team_role  # pages hide what the role cannot do
            assert ("Rotate the signing secret" in shown["/webhooks"]) is keys_ok, team_role
            assert ("Save whitelist" in shown["/settings/whitelist"]) is whitelist_ok, team_role
            nav = (await client.get("/")).text
            assert ('href="/team"' in nav) is team_ok, team_role
            created = await post_form(client, "/keys", "/keys")
            assert created.status_code == (201 if keys_ok else 403), team_role
            if keys_ok:  # make room for the next role's key (two active at most)
                key_id = re.search(r"New key <code>(key_\w+)</code>", created.text).group(1)  # type: ignore[union-attr]
                assert (await post_form(client, "/keys", f"/keys/{key_id}/revoke")).status_code == 303
            else:
                assert "not available to your account" in created.text and "New key" not in created.text
            listed = await post_form(client, "/settings/whitelist", "/settings/whitelist", entries="10.0.0.0/8")
            assert listed.status_code == (303 if whitelist_ok else 403), team_role
            assert (await client.get("/team")).status_code == (200 if team_ok else 403), team_role
            invite = await post_form(
                client, "/keys", "/team/invite", email=f"x-{secrets.token_hex(3)}@example.com", team_role="viewer"
            )
            assert invite.status_code == (201 if team_ok else 403), team_role
            refund = await post_form(client, "/keys", "/payins/pay_missing/refunds", amount="1")
            assert refund.status_code == (404 if team_role in ("owner", "admin") else 403), team_role


async def test_invite_set_password_and_sign_in(
    app_client: Any, make_merchant: Any, resources: Any, capsys: Any, db: Any
) -> None:
    merchant = await make_merchant()
    owner = await member(db, merchant.merchant_id, "owner")
    email = f"invited-{secrets.token_hex(4)}@example.com"
    async with app_client("frontend", client_ip="10.22.3.1") as client:
        await sign_in(client, owner["email"])
        invited = await post_form(client, "/team", "/team/invite", email=email.upper(), team_role="developer")
        assert invited.status_code == 201, invited.text
        path = LINK.search(invited.text).group(1)  # type: ignore[union-attr]
        assert 'data-testid="invite-link"' in invited.text
        team = await client.get("/team")
        assert path not in team.text and email in team.text and ">invited<" in team.text  # the link is shown once
    user = await user_by_email(db, email)
    assert user is not None and user["team_role"] == "developer" and user["password_hash"] is None
    async with app_client("frontend", client_ip="10.22.3.2") as newcomer:
        assert (await sign_in(newcomer, email, "")).status_code == 401  # no password yet: no way in
        assert (await set_password(newcomer, path, NEW_PASSWORD, "something else entirely")).status_code == 422
        assert (await set_password(newcomer, path, "short")).status_code == 422
        done = await set_password(newcomer, path, NEW_PASSWORD)
        assert done.status_code == 303 and done.headers["location"] == "/signin?password=set"
        assert (await newcomer.get(path)).status_code == 404  # used once, dead
        assert (await set_password(newcomer, path, "yet another passphrase")).status_code == 404
        assert (await sign_in(newcomer, email, NEW_PASSWORD)).status_code == 303
        assert (await newcomer.get("/keys")).status_code == 200
        assert (await newcomer.get("/team")).status_code == 403  # a developer does not manage the team
    entries, _ = await audit.list_entries(resources.mongo, target=merchant.merchant_id, limit=20)
    invites = [e for e in entries if e["action"] == "team.member_invited"]
    assert len(invites) == 1 and invites[0]["actor"] == f"user:{owner['id']}"
    assert invites[0]["details"] == {"user_id": user["id"], "team_role": "developer"}
    token = path.rsplit("/", 1)[1]
    logged = capsys.readouterr().out
    assert token not in logged and '"path":"/reset/[redacted-secret]"' in logged  # request lines hide the token
    stored = await db.sql("SELECT token_hash FROM dashboard_password_links WHERE user_id = {}", user["id"])
    assert stored and token not in stored[0]["token_hash"]


async def test_role_changes_and_disabling_take_effect_at_once_and_are_audited(
    app_client: Any, make_merchant: Any, resources: Any, db: Any
) -> None:
    merchant, other = await make_merchant(), await make_merchant()
    owner = await member(db, merchant.merchant_id, "owner")
    admin = await member(db, merchant.merchant_id, "admin")
    dev = await member(db, merchant.merchant_id, "developer")
    stranger = await member(db, other.merchant_id, "viewer")
    async with (
        app_client("frontend", client_ip="10.22.4.1") as as_owner,
        app_client("frontend", client_ip="10.22.4.2") as as_admin,
        app_client("frontend", client_ip="10.22.4.3") as as_dev,
    ):
        for client, user in ((as_owner, owner), (as_admin, admin), (as_dev, dev)):
            assert (await sign_in(client, user["email"])).status_code == 303
        assert (await post_form(as_dev, "/keys", "/keys")).status_code == 201
        demoted = await post_form(as_admin, "/team", f"/team/{dev['id']}/role", team_role="viewer")
        assert demoted.status_code == 303
        assert (await post_form(as_dev, "/keys", "/keys")).status_code == 403  # the same session, the new role
        # An admin may not touch an owner nor make one; nobody changes themself; other teams do not exist.
        assert (await post_form(as_admin, "/team", f"/team/{owner['id']}/access", disabled="true")).status_code == 403
        assert (await post_form(as_admin, "/team", f"/team/{dev['id']}/role", team_role="owner")).status_code == 403
        assert (await post_form(as_admin, "/team", f"/team/{admin['id']}/role", team_role="viewer")).status_code == 403
        assert (
            await post_form(as_owner, "/team", f"/team/{stranger['id']}/access", disabled="true")
        ).status_code == 404
        assert (await post_form(as_owner, "/team", f"/team/{dev['id']}/role", team_role="boss")).status_code == 422
        disabled = await post_form(as_owner, "/team", f"/team/{admin['id']}/access", disabled="true")
        assert disabled.status_code == 303
        assert (await as_admin.get("/team")).headers["location"] == "/signin"  # its session is over
        assert (await get_user(db, stranger["id"]))["disabled"] is False  # type: ignore[index]
    async with app_client("frontend", client_ip="10.22.4.4") as again:
        assert (await sign_in(again, admin["email"])).status_code == 401
    entries, _ = await audit.list_entries(resources.mongo, target=merchant.merchant_id, limit=20)
    team = [(e["action"], e["actor"], e["details"]) for e in entries if e["action"].startswith("team.")]
    assert ("team.member_disabled", f"user:{owner['id']}", {"user_id": admin["id"]}) in team
    role_change = {"user_id": dev["id"], "from": "developer", "to": "viewer"}
    assert ("team.role_changed", f"user:{admin['id']}", role_change) in team
    assert len(team) == 2  # refused changes leave no entry


async def reset_link(email: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from core.cli.user import user; user()",
        *("reset-link", email, "--base-url", "http://dash.example"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-1000:]
    link = out.decode().strip()
    assert link.startswith("http://dash.example/reset/pwl_"), link
    return link.removeprefix("http://dash.example")


async def test_a_reset_link_works_once_within_the_hour_and_ends_every_session(
    app_client: Any, make_merchant: Any, db: Any
) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with (
        app_client("frontend", client_ip="10.22.5.1") as signed,
        app_client("frontend", client_ip="10.22.5.2") as browser,
    ):
        assert (await sign_in(signed, email)).status_code == 303
        replaced = await reset_link(email)
        path = await reset_link(email)
        assert (await browser.get(replaced)).status_code == 404  # a newer link voids the older one
        assert (await browser.get(path)).status_code == 200
        assert (await signed.get("/")).status_code == 200  # issuing a link alone changes nothing
        assert (await set_password(browser, path, NEW_PASSWORD)).status_code == 303
        assert (await signed.get("/")).headers["location"] == "/signin"  # every session ended
        assert (await set_password(browser, path, "one more new passphrase")).status_code == 404
        assert (await sign_in(browser, email, NEW_PASSWORD)).status_code == 303
    async with app_client("frontend", client_ip="10.22.5.3") as old:
        assert (await sign_in(old, email, PASSWORD)).status_code == 401
        expired = await reset_link(email)
        await db.sql(
            "UPDATE dashboard_password_links SET expires_at = now() - interval '1 second'"
            " WHERE user_id = (SELECT id FROM dashboard_users WHERE email = {}) AND used_at IS NULL",
            email,
        )
        assert (await old.get(expired)).status_code == 404
        assert (await set_password(old, expired, "one more new passphrase")).status_code == 404
    rows = await db.sql(
        "SELECT l.expires_at - l.created_at AS lifetime FROM dashboard_password_links l JOIN dashboard_users u"
        " ON u.id = l.user_id WHERE u.email = {} ORDER BY l.created_at LIMIT 1",
        email,
    )
    assert rows[0]["lifetime"].total_seconds() == 3600


async def test_a_link_token_never_reaches_a_trace(app_client: Any, spans: Any) -> None:
    token = f"pwl_{secrets.token_urlsafe(32)}"
    async with app_client("frontend", client_ip="10.22.6.1") as client:
        assert (await client.get(f"/reset/{token}")).status_code == 404
    server = [s for s in spans.get_finished_spans() if s.kind.name == "SERVER" and "/reset/" in s.name]
    assert server, [s.name for s in spans.get_finished_spans()]
    for span in spans.get_finished_spans():
        assert token not in repr(dict(span.attributes or {})) and token not in span.name
    assert "/reset/[redacted-secret]" in str(dict(server[0].attributes or {}))
