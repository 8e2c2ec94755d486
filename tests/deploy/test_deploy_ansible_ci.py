"""Ansible layout (playbooks, inventories, roles) and the CI workflow's pins."""

from __future__ import annotations

import re

import pytest
import yaml
from deploy_support import REPO

ANSIBLE = REPO / "ansible"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
ACTION_PIN_RE = re.compile(r"^[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+$")


def test_site_imports_every_stack_playbook():
    site = yaml.safe_load((ANSIBLE / "playbooks" / "site.yml").read_text())
    imported = [play["ansible.builtin.import_playbook"] for play in site]
    assert imported == ["databases.yml", "app.yml", "monitoring.yml"]
    for name in (*imported, "restore.yml"):
        assert (ANSIBLE / "playbooks" / name).is_file(), name


@pytest.mark.parametrize("client", ["demo", "acme"])
def test_inventory_per_client_names_every_group(client):
    hosts = yaml.safe_load((ANSIBLE / "inventories" / client / "hosts.yml").read_text())
    groups = hosts["all"]["children"]
    assert {"app", "databases", "monitoring"} <= set(groups)
    merged: dict[str, dict] = {}
    for group in groups.values():
        for name, host in group["hosts"].items():
            merged.setdefault(name, {}).update(host or {})
    for name, host in merged.items():
        assert host.get("gateway_private_addr") and host.get("ansible_host"), name
    group_vars = yaml.safe_load((ANSIBLE / "inventories" / client / "group_vars" / "all.yml").read_text())
    assert group_vars["gateway_client"] == client
    assert (REPO / "clients" / client).is_dir()


def test_acme_spreads_the_app_over_several_hosts():
    hosts = yaml.safe_load((ANSIBLE / "inventories" / "acme" / "hosts.yml").read_text())
    app = hosts["all"]["children"]["app"]["hosts"]
    assert len(app) >= 2 and sum(bool(h.get("gateway_edge")) for h in app.values()) == 1


TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "register", "tags", "notify", "become", "vars",
    "changed_when", "failed_when", "diff", "no_log", "run_once", "delegate_to", "block",
    "rescue", "always", "check_mode", "ignore_errors", "environment", "listen", "until",
    "retries", "delay",
}  # fmt: skip


def _actions(tasks: list[dict]) -> list[str]:
    found = []
    for task in tasks:
        for key in ("block", "rescue", "always"):
            found += _actions(task.get(key, []))
        found += [k for k in task if k not in TASK_KEYWORDS]
    return found


def test_roles_exist_and_use_fully_qualified_modules():
    roles = ANSIBLE / "roles"
    files = [*roles.glob("*/tasks/*.yml"), *roles.glob("*/handlers/*.yml")]
    files += list((ANSIBLE / "playbooks").glob("restore.yml"))
    for role in ("docker_engine", "stack_deploy", "postgres_tls", "backups"):
        assert (roles / role / "tasks" / "main.yml").is_file(), role
    for path in files:
        doc = yaml.safe_load(path.read_text())
        tasks = [t for play in doc for t in play.get("tasks", [])] if "hosts" in doc[0] else doc
        actions = _actions(tasks)
        assert actions and all(a.startswith("ansible.builtin.") for a in actions), (path, actions)
    assert not _actions([{"name": "x", "command": "true"}])[0].startswith("ansible.")


def test_backups_run_pg_dump_and_mongodump_with_retention():
    script = (ANSIBLE / "roles" / "backups" / "templates" / "gateway-backup.sh.j2").read_text()
    assert "pg_dump" in script and "mongodump" in script and "-mtime +" in script
    timer = (ANSIBLE / "roles" / "backups" / "templates" / "gateway-backup.timer.j2").read_text()
    assert "OnCalendar=" in timer and "Persistent=true" in timer


def test_workflow_runs_ci_and_pushes_the_image_on_tags():
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert "tags" in triggers["push"]
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("bash .ci/run" in s.get("run", "") for s in steps)
    release = [
        s for s in workflow["jobs"]["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    ]
    assert release and release[0]["with"]["file"] == "stacks/Dockerfile" and release[0]["with"]["push"] is True
    for step in steps:
        if "uses" in step:
            assert ACTION_PIN_RE.match(step["uses"]), f"{step['uses']} is not pinned to vX.Y.Z"


@pytest.mark.parametrize("client", ["demo", "acme"])
def test_monitoring_has_a_host_of_its_own(client):
    """Both Caddys publish 80/443 and monitoring joins no network of the other stacks."""
    groups = yaml.safe_load((ANSIBLE / "inventories" / client / "hosts.yml").read_text())["all"]["children"]
    monitoring = set(groups["monitoring"]["hosts"])
    others = set(groups["app"]["hosts"]) | set(groups["databases"]["hosts"])
    assert monitoring and not monitoring & others, f"{client}: monitoring shares {monitoring & others}"
