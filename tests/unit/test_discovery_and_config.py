"""Discovery stops start-up naming the module; config errors name the variable."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pytest

from core.config import ConfigError, load_settings
from core.registry import DiscoveryError, discover_functions, discover_jobs

HANDLER = """
from litestar import get
ROLE = {role!r}

@get({path!r}, sync_to_thread=False)
def handler() -> dict:
    return {{}}
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    name = f"tmpfns_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, root
    for mod in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[mod]


def write(root, module: str, text: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(text))


def test_a_good_package_is_discovered(package) -> None:
    name, root = package
    write(root, "things", HANDLER.format(role="api", path="/v1/things"))
    [spec] = discover_functions(name)
    assert spec.name == "things" and spec.roles == ("api",) and spec.path == "/v1/things"


def test_module_without_handler_is_named(package) -> None:
    name, root = package
    write(root, "empty", "ROLE = 'api'\n")
    with pytest.raises(DiscoveryError, match=rf"{name}\.empty: has no route handler"):
        discover_functions(name)


def test_unknown_role_is_named(package) -> None:
    name, root = package
    write(root, "odd", HANDLER.format(role="banking", path="/v1/odd"))
    with pytest.raises(DiscoveryError, match=rf"{name}\.odd: unknown role"):
        discover_functions(name)


def test_two_modules_claiming_one_path_are_named(package) -> None:
    name, root = package
    write(root, "a", HANDLER.format(role="api", path="/v1/same"))
    write(root, "b", HANDLER.format(role="payment", path="/v1/same"))
    with pytest.raises(DiscoveryError, match=r"GET /v1/same is already claimed"):
        discover_functions(name)


def test_module_that_fails_to_import_is_named(package) -> None:
    name, root = package
    write(root, "broken", "import does_not_exist_anywhere\n")
    with pytest.raises(DiscoveryError, match=rf"{name}\.broken: cannot import"):
        discover_functions(name)


def test_job_module_without_its_reference_is_named(package) -> None:
    name, root = package
    write(root, "sweep", "async def sweep(ctx, args):\n    return 1\n")
    with pytest.raises(DiscoveryError, match=rf"{name}\.sweep: declares no JOB"):
        discover_jobs(name, refs=())


def test_job_module_must_take_its_references_arguments(package) -> None:
    from core.job_refs import POLL_PAYOUT

    name, root = package
    write(
        root,
        "poll_payout",
        "from core.job_refs import POLL_PAYOUT\nJOB = POLL_PAYOUT\n"
        "async def poll_payout(ctx, *, payout_id: str):\n    return 1\n",
    )
    with pytest.raises(DiscoveryError, match=r"poll_payout must take \(ctx, args: PollArgs\)"):
        discover_jobs(name, refs=(POLL_PAYOUT,))


def test_a_declared_job_nobody_implements_stops_start_up(package) -> None:
    from core.job_refs import EXPIRE_PAYIN, PayinArgs

    name, root = package
    write(
        root,
        "expire_payin",
        "from core.job_refs import EXPIRE_PAYIN, PayinArgs\nJOB = EXPIRE_PAYIN\n"
        "async def expire_payin(ctx, args: PayinArgs):\n    return args.payin_id\n",
    )
    assert [s.name for s in discover_jobs(name, refs=(EXPIRE_PAYIN,))] == ["expire_payin"]
    with pytest.raises(DiscoveryError, match="no module implements job\\(s\\) submit_payout"):
        from core.job_refs import SUBMIT_PAYOUT

        discover_jobs(name, refs=(EXPIRE_PAYIN, SUBMIT_PAYOUT))
    assert PayinArgs(payin_id="pi_1").payin_id == "pi_1"


def test_broken_module_stops_app_creation(package) -> None:
    from core.http.app import create_app

    name, root = package
    write(root, "empty", "ROLE = 'api'\n")
    with pytest.raises(DiscoveryError, match="empty"):
        create_app("api", functions_package=name)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SIGNATURE_TOLERANCE_SECONDS", "five"),
        ("PAYOUT_POLL_MAX_ATTEMPTS", "0"),
        ("ALLOW_PRIVATE_WEBHOOK_TARGETS", "maybe"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip"),
        ("WEBHOOK_RETRY_SCHEDULE", "1,x"),
        ("REDIS_URL", "http://localhost"),
        ("ROLE", "cashier"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_config_errors_name_the_variable(variable, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_config_parses_lists_and_defaults() -> None:
    s = load_settings({"WEBHOOK_RETRY_SCHEDULE": "1, 2,3", "TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert s.webhook_retry_schedule == (1, 2, 3)
    assert s.trusted_proxies == ("10.0.0.0/8", "::1")
    assert load_settings({}).payin_auto_expire_minutes == 30


def test_production_refuses_the_development_master_key() -> None:
    with pytest.raises(ConfigError, match="SECRETS_MASTER_KEYS"):
        load_settings({"ENVIRONMENT": "production"})
