"""`gateway --help` lists every command without importing any of them (issue 19), and `gateway
serve`'s supervisor process stays small: the app, its checks and Litestar load in the worker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import click
from click.testing import CliRunner

import core.cli
from core.cli import COMMANDS, LazyGroup, main


def _modules_after(code: str) -> set[str]:
    """Run `code` in a fresh interpreter, then return the names in its sys.modules."""
    probe = textwrap.dedent(code) + "\nimport sys\nprint('\\n'.join(sys.modules), file=sys.stderr)\n"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return set(result.stderr.split())


def test_help_imports_no_litestar_and_no_command_module() -> None:
    loaded = _modules_after(
        """
        import sys
        sys.argv = ["gateway", "--help"]
        from core.cli import main
        try:
            main()
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        """
    )
    assert "core.cli" in loaded and "click" in loaded  # the probe did run the CLI
    for heavy in ("litestar", "piccolo", "pymongo", "granian", "core.config", "core.registry"):
        assert heavy not in loaded, heavy
    assert not [name for name in loaded if name.startswith("core.cli.")]  # no command module either


def test_help_lists_every_command_with_its_own_help() -> None:
    # The same help an eager group (every command imported) would print: the kept text cannot drift.
    lazy = CliRunner().invoke(main, ["--help"], prog_name="gateway", terminal_width=100)
    assert lazy.exit_code == 0, lazy.output
    ctx = click.Context(main)
    eager = click.Group("gateway", help=main.help, context_settings=main.context_settings)
    for name in COMMANDS:
        command = LazyGroup.get_command(main, ctx, name)
        assert command is not None and command.help is not None, name
        assert command.help.split("\n\n")[0] == COMMANDS[name][1], f"{name}: update core/cli/__init__.py"
        eager.add_command(command, name)
    assert CliRunner().invoke(eager, ["--help"], prog_name="gateway", terminal_width=100).output == lazy.output
    for name in COMMANDS:
        assert f"\n  {name} " in lazy.output


def test_a_command_still_runs_through_the_lazy_group() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "--workers" in result.output
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == 2


def test_serve_supervisor_imports_granian_but_not_the_app() -> None:
    loaded = _modules_after(
        """
        import granian, granian.http  # what `serve` imports before handing over to Granian
        from core.cli.serve import serve
        """
    )
    assert "core.cli.serve" in loaded and "granian" in loaded
    for heavy in ("litestar", "piccolo", "pymongo", "prometheus_client", "core.config", "core.registry"):
        assert heavy not in loaded, heavy


def test_serve_roles_match_the_settings() -> None:
    from core.cli.serve import METRICS_DIR_ENV, SERVE_ROLES
    from core.config import SERVE_ROLES as CONFIG_ROLES
    from core.observability.multiproc import ENV

    assert SERVE_ROLES == CONFIG_ROLES and METRICS_DIR_ENV == ENV


def test_a_refused_worker_start_reaches_the_supervisor(tmp_path, monkeypatch) -> None:
    from core.cli import serve_app
    from core.cli.serve import START_PROBLEM_ENV

    problem = tmp_path / "problem"
    monkeypatch.setenv(START_PROBLEM_ENV, str(problem))
    monkeypatch.setenv("SIGNATURE_TOLERANCE_SECONDS", "soon")
    try:
        serve_app.app_from_env()
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a config error must stop the worker")
    assert "SIGNATURE_TOLERANCE_SECONDS" in problem.read_text()


def test_the_cli_package_is_where_the_entry_point_says() -> None:
    # pyproject's `gateway = "core.cli:main"`; `python -m core` runs the same group.
    assert core.cli.main is main
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "core", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "settlement-report" in out.stdout


def test_cli_timing_measures_both_commands() -> None:
    # The bench's figures (no speed is asserted): both commands must have run and succeeded.
    from bench.cli_timing import HELP_RUNS, INVOKE_RUNS, measure_cli

    timing = measure_cli({"LOG_LEVEL": "WARNING"})
    assert len(timing["runs"]["help"]) == HELP_RUNS and len(timing["runs"]["invoke_ready"]) == INVOKE_RUNS
    assert timing["help_seconds"] > 0 and timing["invoke_ready_seconds"] > 0


def test_an_app_whose_start_up_fails_ends_the_role_with_exit_1() -> None:
    # One process, no supervisor to report it: the exit code must still say it did not start.
    code = """
import core.cli.serve_app as serve_app
from core.local_services import free_port

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "store unreachable"})

serve_app.app_from_env = lambda: app
from core.cli.serve import _serve_in_this_process
_serve_in_this_process("127.0.0.1", free_port(), None)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "store unreachable" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
