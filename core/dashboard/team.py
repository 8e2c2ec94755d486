"""A merchant's team (issue 22): invite a member with a role, change a role, disable or enable a
member; every change audited with the acting user (`user:<id>`) like the merchant services (§8).

Who may call these at all is the permission table's `team:manage` (core/dashboard/permissions.py);
the rules here are about the target: only an owner makes, changes or disables an owner, nobody
changes or disables themself, and a member of another merchant does not exist.
"""

from __future__ import annotations

from typing import Any

from litestar import Response

from core import audit
from core.dashboard import password_links
from core.dashboard.permissions import TEAM_ROLES
from core.dashboard.users import COLUMNS, create_user, get_user, normal_email
from core.dashboard.web import Page
from core.merchants.service import Actor
from core.resources import Resources
from core.storage.postgres import Handle


class TeamError(ValueError):
    """A team change that is refused; `status` is what the page answers (403, 404 or 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def members(db: Handle, merchant_id: str) -> list[dict[str, Any]]:
    rows = await db.sql(
        f"SELECT {COLUMNS} FROM dashboard_users WHERE merchant_id = {{}} ORDER BY created_at, email", merchant_id
    )
    return [{**r, "invited": r["password_hash"] is None} for r in rows]


def _check_role(team_role: str, acting: dict[str, Any]) -> None:
    if team_role not in TEAM_ROLES:
        raise TeamError(422, f"role must be one of {', '.join(TEAM_ROLES)}")
    if team_role == "owner" and acting["team_role"] != "owner":
        raise TeamError(403, "Only an owner can make someone an owner.")


async def _target(db: Handle, merchant_id: str, user_id: str, acting: dict[str, Any]) -> dict[str, Any]:
    user = await get_user(db, user_id)
    if user is None or user["merchant_id"] != merchant_id:
        raise TeamError(404, "No such team member.")
    if user["id"] == acting["id"]:
        raise TeamError(403, "You cannot change your own role or access.")
    if user["team_role"] == "owner" and acting["team_role"] != "owner":
        raise TeamError(403, "Only an owner can change an owner.")
    return user


async def invite(
    res: Resources, merchant_id: str, acting: dict[str, Any], actor: Actor, email: str, team_role: str
) -> tuple[dict[str, Any], str]:
    """The new (password-less) member and the token of its one-time set-password link."""
    _check_role(team_role, acting)
    try:
        user = await create_user(res.db, normal_email(email), None, "merchant", merchant_id, team_role)
    except ValueError as exc:
        raise TeamError(422, str(exc)) from None
    token = await password_links.issue(res.db, user["id"], "invite")
    await _audit(res, actor, "team.member_invited", merchant_id, {"user_id": user["id"], "team_role": team_role})
    return user, token


async def change_role(
    res: Resources, merchant_id: str, acting: dict[str, Any], actor: Actor, user_id: str, team_role: str
) -> None:
    _check_role(team_role, acting)
    user = await _target(res.db, merchant_id, user_id, acting)
    if user["team_role"] == team_role:
        return
    changed = await res.db.sql(
        "UPDATE dashboard_users SET team_role = {} WHERE id = {} AND team_role = {} RETURNING id",
        *(team_role, user_id, user["team_role"]),
    )
    _unchanged_meanwhile(changed)
    details = {"user_id": user_id, "from": user["team_role"], "to": team_role}
    await _audit(res, actor, "team.role_changed", merchant_id, details)


async def set_disabled(
    res: Resources, merchant_id: str, acting: dict[str, Any], actor: Actor, user_id: str, disabled: bool
) -> None:
    """Disabling ends the member's sessions (epoch + 1) and voids its unused password links."""
    user = await _target(res.db, merchant_id, user_id, acting)
    if user["disabled"] == disabled:
        return
    changed = await res.db.sql(
        "UPDATE dashboard_users SET disabled = {}, session_epoch = session_epoch + 1"
        " WHERE id = {} AND disabled = {} AND team_role = {} RETURNING id",
        *(disabled, user_id, user["disabled"], user["team_role"]),
    )
    _unchanged_meanwhile(changed)
    if disabled:
        await password_links.void(res.db, user_id)
    action = "team.member_disabled" if disabled else "team.member_enabled"
    await _audit(res, actor, action, merchant_id, {"user_id": user_id})


def _unchanged_meanwhile(updated: list[dict[str, Any]]) -> None:
    # The rules were checked on the row as read; the update applies only to that same row state,
    # so a concurrent change (say, the member made an owner) cannot slip past them.
    if not updated:
        raise TeamError(409, "This member was changed meanwhile. Reload the page and try again.")


async def _audit(res: Resources, actor: Actor, action: str, merchant_id: str, details: dict[str, Any]) -> None:
    await audit.record(
        res.mongo, res.db, actor=actor.name, action=action, target=merchant_id, ip=actor.ip, details=details
    )


def link_url(page: Page, token: str) -> str:
    """The full set-password link as the person will open it (this dashboard's own address)."""
    return str(page.request.base_url).rstrip("/") + password_links.PATH + token


async def render(page: Page, status: int = 200, **context: Any) -> Response[Any]:
    """The Team page: members, their roles and states, the invite form."""
    listed = await members(page.resources.db, page.merchant_id)
    return page.render("team.html", status=status, members=listed, roles=TEAM_ROLES, me=page.user, **context)
