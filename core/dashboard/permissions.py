"""Who in a merchant's team may do what (issue 22): the one table every dashboard page and action
is checked against, through `signed_in(..., need=...)` (core/dashboard/web.py).

Roles: `owner` (everything, and the only one who may make or change an owner), `admin` (everything
else, team included), `developer` (API keys, webhooks, IP whitelist), `viewer` (read only).
Platform admins (`role = admin`) are not team members; their pages check `role="admin"`.
"""

from __future__ import annotations

TEAM_ROLES = ("owner", "admin", "developer", "viewer")

_EVERYONE = frozenset(TEAM_ROLES)
_MANAGERS = frozenset({"owner", "admin"})
_BUILDERS = frozenset({"owner", "admin", "developer"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard:read": _EVERYONE,  # overview, lists, details, ledger, keys and webhooks as read-only pages
    "keys:write": _BUILDERS,  # create and revoke API keys
    "webhooks:write": _BUILDERS,  # endpoint, secret rotation, resending deliveries
    "whitelist:write": _BUILDERS,  # the API's IP whitelist
    "refunds:write": _MANAGERS,  # money leaves the merchant's balance
    "team:manage": _MANAGERS,  # the Team page: invite, change roles, disable
}


def allowed(team_role: str | None, need: str) -> bool:
    """True when a team member with this role may do `need`; an unknown permission is refused."""
    return team_role in PERMISSIONS.get(need, frozenset())
