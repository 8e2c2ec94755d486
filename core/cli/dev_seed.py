"""`gateway dev` extras: the sandbox PSP beside the roles, a sandbox PLE and a demo merchant.

The demo merchant's credentials are kept in `.local/dev-merchant.json` (git-ignored, local
development only) so every `just dev` prints the same key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import orjson

from core.config import Settings, load_settings

STATE = Path(".local/dev-merchant.json")
DEV_PLE_NAME = "Sandbox (dev)"
DEMO_FEES = {"payin": {"upi": {"percent_bps": 200, "fixed": 0}}, "payout": {"imps": {"percent_bps": 0, "fixed": 500}}}


async def dev_ple(res: Any, settings: Settings) -> tuple[str, str]:
    """The dev sandbox PLE's id and secret. A new one gets a generated secret; one left by an
    older `just dev` with the public default gets a generated one now. The sandbox is then
    started with exactly this secret."""
    from core.routing import active_ples, create_ple, ple_config_by_id, update_ple
    from core.security.dev_secrets import is_well_known, new_provider_secret

    for row in await active_ples(res.db, "sandbox"):
        if row["name"] == DEV_PLE_NAME and row["base_url"] == settings.sandbox_url:
            ple_id = str(row["id"])
            secret = (await ple_config_by_id(res, ple_id)).secret
            if is_well_known(secret):
                secret = new_provider_secret()
                await update_ple(res, ple_id, {"secret": secret}, actor="dev")
            return ple_id, secret
    created = await create_ple(
        res,
        provider="sandbox",
        name=DEV_PLE_NAME,
        currency="INR",
        base_url=settings.sandbox_url,
        secret=None,
        fee_schedule={},
        actor="dev",
    )
    return str(created["id"]), str(created["secret"])


async def dev_ple_id(res: Any, settings: Settings) -> str:
    return (await dev_ple(res, settings))[0]


async def seed(settings: Settings) -> dict[str, Any]:
    from core.balances import adjust
    from core.merchants.service import Actor, create_merchant
    from core.merchants.store import fetch_merchant
    from core.resources import open_resources
    from core.routing import route_everything_to
    from core.security.admin_tokens import create_admin_token

    async with open_resources(settings, pool_size=2) as res:
        ple_id, ple_secret = await dev_ple(res, settings)
        state = orjson.loads(STATE.read_bytes()) if STATE.exists() else {}
        if not state or await fetch_merchant(res.db, state["merchant_id"]) is None:
            created = await create_merchant(res, name="Demo merchant", actor=Actor("dev"), fee_plans=DEMO_FEES)
            state = {
                "merchant_id": created["merchant"]["id"],
                "key_id": created["key_id"],
                "secret": created["secret"],
                "webhook_secret": created["webhook_secret"],
                "admin_token": (await create_admin_token(res.db, "dev")).token,
            }
            STATE.parent.mkdir(exist_ok=True)
            STATE.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
            STATE.chmod(0o600)
        await route_everything_to(res, state["merchant_id"], ple_id, actor="dev")
        await adjust(
            res,
            state["merchant_id"],
            amount=1_000_000,
            currency="INR",
            reference="dev-seed",
            reason="demo funds",
            actor="dev",
        )
        return {**state, "ple_id": ple_id, "ple_secret": ple_secret}


def seed_and_start_extras(port: int) -> list[subprocess.Popen[bytes]]:
    settings = load_settings()
    state = asyncio.run(seed(settings))
    sandbox_port = urlsplit(settings.sandbox_url).port or 8400
    # The PLE's own secret, through the environment (not argv, which `ps` shows everyone).
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "sandbox",
            "--port",
            str(sandbox_port),
            "--callback-url",
            f"http://127.0.0.1:{port}/v1/callbacks/sandbox",
            "--delay-seconds",
            str(settings.sandbox_delay_seconds),
        ],
        env={**os.environ, "SANDBOX_SECRET": state["ple_secret"]},
    )
    click.echo(
        "\n".join(
            [
                "",
                f"sandbox PSP on {settings.sandbox_url} (PLE {state['ple_id']}, its secret generated, never a default)",
                f"demo merchant  {state['merchant_id']}  (funded with ₹10,000.00)",
                f"  X-Api-Key    {state['key_id']}",
                f"  secret       {state['secret']}",
                f"admin token    {state['admin_token']}",
                "try:  uv run gateway invoke payins.create --merchant "
                + state["merchant_id"]
                + """ --json '{"amount": 10000, "currency": "INR", "reference": "demo-1", "method": "upi","""
                + """ "customer": {"name": "Asha", "email": "asha@example.com"}}'""",
                "",
            ]
        ),
        err=True,
    )
    return [sandbox]
