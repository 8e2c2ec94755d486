"""sdk/python is a package of its own: it builds, depends on httpx and msgspec only, and works
installed in an environment that has nothing of the gateway."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is the project's tool (scripts/setup.sh installs it)"
    return found


def test_the_wheel_depends_on_httpx_and_msgspec_only_and_installs_alone(tmp_path: Path) -> None:
    subprocess.run(
        [uv(), "build", "--wheel", "--out-dir", str(tmp_path), "sdk/python"], check=True, capture_output=True
    )
    (wheel,) = tmp_path.glob("gateway_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    requires = sorted(
        line.split(":", 1)[1].strip().split("<")[0].split(">")[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    )
    assert requires == ["httpx", "msgspec"]
    assert "gateway_client/py.typed" in names and not any(n.startswith(("core/", "functions/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv(), "pip", "install", "--quiet", "--python", python, str(wheel)], check=True, capture_output=True)
    code = "import gateway_client as g; g.Client('http://127.0.0.1:1', 'key_1', 's').close(); print(g.__version__)"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.split() == ["0.1.0"]
    installed = subprocess.run([uv(), "pip", "list", "--python", python], capture_output=True, text=True, check=True)
    names = {line.split()[0] for line in installed.stdout.splitlines()[2:]}
    assert {"gateway-client", "httpx", "msgspec"} <= names and not names & {"gateway", "litestar", "orjson"}
