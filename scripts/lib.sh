# Steps shared by ./scripts/test, ./scripts/serve and ./scripts/check-fresh-machine.
#
# Sourced from the repository root. Each step is one small function that does
# nothing when its inputs have not changed since it last succeeded (a stamp
# file holds the hash of those inputs), so a second run starts at once.
# To add a step (say, building web/), write a function here and call it from
# the script that needs it; reuse npm_ready for another package-lock.json.

SCEAU_TEST_PG_DSN=${SCEAU_TEST_PG_DSN:-postgresql://postgres@127.0.0.1:5432/test}
export SCEAU_TEST_PG_DSN

step() { printf '== %s\n' "$*"; }
warn() { printf '!! %s\n' "$*" >&2; }
in_ci() { [ "${CI:-}" = true ]; }
is_root() { [ "$(id -u)" = 0 ]; }

# inputs_key FILE...: one hash over the names and contents of FILEs (a missing one counts as empty).
inputs_key() {
  local file
  for file in "$@"; do
    printf '%s\n' "$file"
    cat "$file" 2>/dev/null || true
  done | sha256sum | cut -d' ' -f1
}

# stamp_matches STAMP KEY: true when STAMP records KEY (the step already ran on these inputs).
stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# python_env_ready [EXTRA]: .venv holds Sceau (editable) and the versions of
# requirements.lock, with the optional extra ("test"). pip runs only when
# pyproject.toml, requirements.lock or the extra changed.
python_env_ready() {
  local extra=${1:-} target=. key stamp
  [ -n "$extra" ] && target=".[$extra]"
  key=$(inputs_key pyproject.toml requirements.lock; echo "$target")
  stamp=".venv/.sceau-pip-${extra:-base}"
  if [ -x .venv/bin/python ] && stamp_matches "$stamp" "$key"; then
    return 0
  fi
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  step "pip install -c requirements.lock -e '$target'"
  .venv/bin/python -m pip install --quiet -c requirements.lock -e "$target"
  echo "$key" > "$stamp"
  # An install with an extra also holds everything the plain install would.
  if [ -n "$extra" ]; then
    (inputs_key pyproject.toml requirements.lock; echo .) > .venv/.sceau-pip-base
  fi
  return 0
}

# npm_ready DIR: DIR/node_modules matches DIR/package-lock.json (npm ci runs only
# when the lock file changed). Without npm it warns: the tests needing it skip.
npm_ready() {
  local dir=$1 key stamp
  [ -f "$dir/package-lock.json" ] || return 0
  key=$(inputs_key "$dir/package-lock.json")
  stamp="$dir/node_modules/.sceau-npm-stamp"
  if [ -d "$dir/node_modules" ] && stamp_matches "$stamp" "$key"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    warn "npm is not installed: $dir/node_modules cannot be set up (the tests needing it skip, or fail with CI=true)"
    return 0
  fi
  step "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$key" > "$stamp"
}

# pytest_selects DIR ARGS...: true when pytest, given ARGS, would collect tests
# under DIR: ARGS name no existing path (the whole suite), or a path inside DIR,
# or one containing it. Options and their values that are not paths are ignored.
pytest_selects() {
  local dir=$1 arg path named=0
  shift
  for arg in "$@"; do
    case $arg in -*) continue ;; esac
    path=${arg%%::*}
    [ -e "$path" ] || continue
    named=1
    path=$(realpath -m --relative-to=. "$path")
    [ "$path" = . ] && return 0
    case "$path/" in "$dir/"*) return 0 ;; esac
    case "$dir/" in "$path/"*) return 0 ;; esac
  done
  [ "$named" = 0 ]
}

# system_packages_ready: the Debian packages of scripts/apt-packages are
# installed. As root it runs apt-get; otherwise it prints the exact command, and
# the tests needing those packages skip with it (or fail with CI=true).
system_packages_ready() {
  local missing command
  missing=$(python3 tests/system_packages.py missing)
  [ -z "$missing" ] && return 0
  if is_root && command -v apt-get >/dev/null 2>&1; then
    step "apt-get install $missing"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    return 0
  fi
  command=$(python3 tests/system_packages.py command "$(is_root && echo --root || echo --user)")
  warn "missing Debian packages: $missing"
  warn "install them with: $command"
  warn "until then the tests needing them skip (with CI=true they fail)"
}

# pg_address: "HOST PORT" of SCEAU_TEST_PG_DSN.
pg_address() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432)' "$SCEAU_TEST_PG_DSN"
}

# pg_answers HOST PORT: something accepts TCP connections there.
pg_answers() {
  python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' "$1" "$2" 2>/dev/null
}

# postgres_ready: a PostgreSQL answers at SCEAU_TEST_PG_DSN. As root, a local
# Debian cluster that is down is started; if it does not come up, the reason is
# printed, and with CI=true the run stops. The tests create their database.
postgres_ready() {
  local host port cluster output tries
  read -r host port < <(pg_address)
  pg_answers "$host" "$port" && return 0
  cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if is_root && [ -n "$cluster" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    step "starting PostgreSQL $cluster (nothing answered on $host:$port)"
    if ! output=$(pg_ctlcluster --skip-systemctl-redirect "$cluster" main start 2>&1); then
      warn "PostgreSQL $cluster did not start: $output"
    fi
    for tries in 1 2 3 4 5 6 7 8 9 10; do
      pg_answers "$host" "$port" && return 0
      sleep 1
    done
  fi
  warn "no PostgreSQL answers on $host:$port (SCEAU_TEST_PG_DSN=$SCEAU_TEST_PG_DSN)"
  if in_ci; then
    warn "CI=true: the PostgreSQL tests cannot run; stopping"
    return 1
  fi
  warn "the PostgreSQL tests will skip (start one, or set SCEAU_TEST_PG_DSN: docs/testing.md)"
}

# web_build_reason: why web/dist must be (re)built, or nothing when it is fresh:
# missing, or older than any file it is built from (sources, lock file, configs).
web_build_reason() {
  local built=web/dist/index.html newer
  if [ ! -f "$built" ]; then
    echo "web/dist is missing"
    return 0
  fi
  newer=$(find web/src web/public web/index.html web/package.json web/package-lock.json \
    web/vite.config.ts web/vite.config.js web/tsconfig.json web/tsconfig.app.json web/scripts \
    -newer "$built" -type f -print -quit 2>/dev/null || true)
  [ -n "$newer" ] && echo "web/dist is older than $newer"
  return 0
}

# web_client_ready: web/node_modules installed (npm ci when web/package-lock.json
# changed) and web/dist built when missing or stale, saying so. Without web/ it
# does nothing; without npm it warns (the server then shows how to build it).
web_client_ready() {
  local reason
  [ -f web/package.json ] || return 0
  if ! command -v npm >/dev/null 2>&1; then
    warn "npm is not installed: the web client cannot be built (/ will say how to build it)"
    in_ci && return 1
    return 0
  fi
  npm_ready web
  reason=$(web_build_reason)
  [ -z "$reason" ] && return 0
  step "building the web client: $reason (npm run build in web/)"
  (cd web && npm run --silent build)
}

# npm_script DIR NAME: DIR/package.json defines the script NAME.
npm_script() {
  node -e 'process.exit(require(process.argv[1]).scripts?.[process.argv[2]] ? 0 : 1)' \
    "$(realpath "$1")/package.json" "$2" 2>/dev/null
}

# web_checks: the web client's own lint, type check and Vitest tests (the
# scripts web/package.json defines among lint, typecheck and test).
web_checks() {
  local script
  [ -f web/package.json ] && command -v npm >/dev/null 2>&1 || return 0
  for script in lint typecheck test; do
    if npm_script web "$script"; then
      step "web: npm run $script"
      (cd web && npm run --silent "$script")
    fi
  done
}
