#!/usr/bin/env bash
# Deployment checks that need tools outside the Python project (called by .ci/run and CI):
#   1. caddy validate on every stacks/*/Caddyfile, with the demo client's values
#   2. ansible-playbook --syntax-check on every playbook, for every example inventory
#   3. ansible-lint (production profile, offline; see ansible/.ansible-lint)
#   4. a check-mode run of site.yml against localhost (tags: render = templates and copies,
#      nothing that needs Docker or systemd), asserting the multi-host upstream lists, the
#      per-host GATEWAY_HOST, and that an empty Caddy basic-auth hash is refused
# Installs what it needs: Debian's caddy (apt) and pinned ansible-core/ansible-lint in a
# throwaway venv under .local/ (git-ignored). Exits non-zero on the first failure.
set -euo pipefail

ANSIBLE_CORE_VERSION=2.19.14
ANSIBLE_LINT_VERSION=26.10.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.local/deploy-tools"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "tools"
if ! command -v caddy >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq caddy >/dev/null
fi
caddy version
stamp="ansible-core==$ANSIBLE_CORE_VERSION ansible-lint==$ANSIBLE_LINT_VERSION"
if [ "$(cat "$TOOLS/.installed" 2>/dev/null || true)" != "$stamp" ]; then
  rm -rf "$TOOLS"
  uv venv --quiet --python 3.11 "$TOOLS"
  VIRTUAL_ENV="$TOOLS" uv pip install --quiet $stamp
  echo "$stamp" > "$TOOLS/.installed"
fi
export PATH="$TOOLS/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_LOCAL_TEMP="$WORK/ansible-local" ANSIBLE_HOME="$WORK/ansible-home"
ansible-playbook --version > "$WORK/versions" && sed -n 1p "$WORK/versions"
ansible-lint --nocolor --version

step "caddy validate"
# Each Caddyfile is validated with the demo client's variables; files Caddy imports from its
# container paths (/etc/caddy/...) are mapped back to the stack folder through compose volumes.
PYTHON=("$ROOT/.venv/bin/python")
[ -x "${PYTHON[0]}" ] || PYTHON=(uv run --frozen python) # needs pyyaml (a dev dependency)
"${PYTHON[@]}" - "$WORK" <<'PY'
import os, re, shutil, subprocess, sys
from pathlib import Path
import yaml

work = Path(sys.argv[1])
env = dict(os.environ, XDG_DATA_HOME=str(work / "caddy-data"), XDG_CONFIG_HOME=str(work / "caddy-config"))
for name in (".env.stack", ".env.monitoring"):
    for line in Path("clients/demo", name).read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key] = value
caddyfiles = sorted([*Path("stacks").glob("*/Caddyfile"), *Path("stacks").glob("*/caddy/Caddyfile")])
if not caddyfiles:
    sys.exit("no Caddyfile found under stacks/")
for caddyfile in caddyfiles:
    stack = caddyfile.parent if (caddyfile.parent / "compose.yml").exists() else caddyfile.parent.parent
    copy = work / "caddy" / stack.name
    shutil.copytree(stack, copy)
    target = copy / caddyfile.relative_to(stack)
    compose = yaml.safe_load((stack / "compose.yml").read_text())
    text = target.read_text()
    for svc in compose.get("services", {}).values():
        for vol in svc.get("volumes", []) if "caddy" in str(svc.get("image", "")) else []:
            if isinstance(vol, str) and vol.startswith("./"):
                src, dst = vol.split(":")[:2]
                text = text.replace(dst, str((copy / src).resolve()))
    target.write_text(text)
    modes = ["local", "hosts"] if (copy / "caddy" / "upstreams-hosts.caddy").exists() else [None]
    for mode in modes:
        run_env = dict(env)
        if mode:
            run_env.update(UPSTREAM_MODE=mode, API_UPSTREAMS="10.0.0.11:8101 10.0.0.12:8101",
                           PAYMENT_UPSTREAMS="10.0.0.11:8102", FRONTEND_UPSTREAMS="10.0.0.11:8104")
        result = subprocess.run(["caddy", "validate", "--config", str(target),
                                 "--adapter", "caddyfile"], env=run_env, capture_output=True, text=True)
        label = f"{caddyfile}" + (f" (UPSTREAM_MODE={mode})" if mode else "")
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
            sys.exit(f"caddy validate failed: {label}")
        print(f"valid: {label}")
PY

step "ansible-playbook --syntax-check"
inventories=(ansible/inventories/*/)
for playbook in ansible/playbooks/*.yml; do
  for inventory in "${inventories[@]}"; do
    ansible-playbook -i "$inventory" --syntax-check "$playbook" >/dev/null
    echo "syntax ok: $playbook ($inventory)"
  done
done

step "ansible-lint"
(cd ansible && ansible-lint --nocolor -q)
echo "ansible-lint: production profile passed"

step "check-mode run against localhost (tags: render)"
for inventory in "${inventories[@]}"; do
  client="$(basename "$inventory")"
  log="$WORK/check-$client.log"
  if ! ansible-playbook -i "$inventory" ansible/playbooks/site.yml --check --diff --tags render \
    -e ansible_connection=local -e "ansible_python_interpreter=$TOOLS/bin/python" \
    -e "gateway_root=$WORK/$client/opt" -e "postgres_tls_dir=$WORK/$client/tls" \
    -e "backups_dir=$WORK/$client/backups" >"$log" 2>&1; then
    tail -40 "$log"
    echo "check-mode run failed for $client" >&2
    exit 1
  fi
  grep -A8 '^PLAY RECAP' "$log"
  # every host names itself on the telemetry it pushes (GATEWAY_HOST = inventory name)
  for host in $(sed -n 's/^ \{8\}\([a-z0-9-]*\):$/\1/p' ansible/inventories/"$client"/hosts.yml | sort -u); do
    grep -q "^+GATEWAY_HOST=$host\$" "$log" || { echo "$client: GATEWAY_HOST not rendered for $host" >&2; exit 1; }
  done
  echo "GATEWAY_HOST rendered for every host of $client"
  if grep -q '^ *acme-app-2:' ansible/inventories/"$client"/hosts.yml; then
    grep -q '^+API_UPSTREAMS=10.1.0.10:8101 10.1.0.11:8101$' "$log" \
      || { echo "acme: multi-host upstream list not rendered" >&2; exit 1; }
    echo "multi-host upstream lists rendered for $client"
  fi
done

step "secrets: files for compose, none left in the env files (a real render run of stack_deploy)"
# Only the stack_deploy role, into a scratch root: it writes the host's env files without their
# secrets, each secret to clients/<client>/secrets/<name> (0400, the container's uid), and the
# rendered alertmanager.yml (0400, uid 65534). Runs as root (CI does), like on a host.
cat > "$WORK/secrets-play.yml" <<YML
- name: Render one stack like a host would
  hosts: localhost
  gather_facts: false
  roles:
    - role: stack_deploy
YML
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ci postgres CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
for stack in app databases monitoring; do
  root="$WORK/secrets-$stack"
  ANSIBLE_ROLES_PATH="$ROOT/ansible/roles" ansible-playbook -i localhost, "$WORK/secrets-play.yml" --tags render \
    -e ansible_connection=local -e "ansible_python_interpreter=$TOOLS/bin/python" -e gateway_client=demo \
    -e "stack_deploy_stack=$stack" -e "gateway_root=$root" -e "gateway_repo_root=$ROOT" \
    -e gateway_private_addr=10.0.0.10 -e "stack_deploy_postgres_ca_file=$WORK/ca.crt" \
    >"$WORK/secrets-$stack.log" 2>&1 \
    || { tail -30 "$WORK/secrets-$stack.log"; echo "render run failed for $stack" >&2; exit 1; }
  "${PYTHON[@]}" - "$ROOT" "$root" "$stack" <<'PY'
import os, re, stat, sys
from pathlib import Path
import yaml

repo, root, stack = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
defaults = yaml.safe_load((repo / "ansible/roles/stack_deploy/defaults/main.yml").read_text())
secrets = defaults["stack_deploy_secrets"][stack]
client = root / "clients/demo"
everywhere = {s["var"] for specs in defaults["stack_deploy_secrets"].values() for s in specs}
everywhere |= set(defaults["stack_deploy_strip_vars"])
for env_file in client.glob(".env.*"):
    left = everywhere & set(re.findall(r"^([A-Z][A-Z0-9_]*)=", env_file.read_text(), re.M))
    assert not left, f"{sorted(left)} left in {env_file.name}"
for spec in secrets:
    source = (repo / "clients/demo" / spec["env_file"]).read_text()
    value = re.search(rf"^{spec['var']}=(.*)$", source, re.M).group(1).strip("'")
    path = client / "secrets" / spec["name"]
    info = path.stat()
    assert path.read_text() == value, f"{spec['name']}: not the value of {spec['var']}"
    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == spec["owner"], f"{spec['name']}: mode/owner"
    for env_file in client.glob(".env.*"):
        assert not re.search(rf"^{spec['var']}=", env_file.read_text(), re.M), f"{spec['var']} left in {env_file.name}"
compose = yaml.safe_load((repo / f"stacks/{stack}/compose.yml").read_text())
declared = {name for name in compose.get("secrets", {}) if name not in ("alertmanager_config", "postgres_ca")}
if stack == "app":  # the CA DATABASE_URL's sslrootcert names, for sslmode=verify-full
    ca = client / "secrets/postgres_ca.crt"
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----") and stat.S_IMODE(ca.stat().st_mode) == 0o444
assert declared == {s["name"] for s in secrets}, (declared, [s["name"] for s in secrets])
if stack == "monitoring":
    am = root / "stacks/monitoring/alertmanager/alertmanager.yml"
    assert stat.S_IMODE(am.stat().st_mode) == 0o400 and am.stat().st_uid == 65534
    assert "webhook_configs" in am.read_text()
print(f"{stack}: {len(secrets)} secret files (0400, container uid), none left in the env files")
PY
done
ansible-vault --version | head -n1

step "an empty basic-auth hash stops the monitoring deployment"
neg="$WORK/empty-hash"
mkdir -p "$neg/clients"
cp -r clients/demo "$neg/clients/demo"
ln -s "$ROOT/stacks" "$neg/stacks"
sed -i 's/^MONITORING_BASIC_AUTH_HASH=.*/MONITORING_BASIC_AUTH_HASH=/' "$neg/clients/demo/.env.monitoring"
if ansible-playbook -i ansible/inventories/demo ansible/playbooks/monitoring.yml --check --tags render \
  -e ansible_connection=local -e "ansible_python_interpreter=$TOOLS/bin/python" \
  -e "gateway_repo_root=$neg" -e "gateway_root=$WORK/empty-hash-opt" >"$WORK/empty-hash.log" 2>&1; then
  echo "monitoring.yml accepted an empty MONITORING_BASIC_AUTH_HASH" >&2
  exit 1
fi
grep -q 'has an empty \*_HASH' "$WORK/empty-hash.log" \
  || { tail -20 "$WORK/empty-hash.log"; echo "monitoring.yml failed for another reason" >&2; exit 1; }
echo "refused as expected"

step "scripts"
bash -n scripts/restore-drill.sh
python3 scripts/new-client.py --help >/dev/null
echo "deploy checks passed"
