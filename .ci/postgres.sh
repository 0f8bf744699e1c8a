# A throwaway PostgreSQL cluster for the tests. Sourced by .ci/run (needs bash):
#
#   source .ci/postgres.sh && start_postgres
#
# starts a fresh cluster on 127.0.0.1 and a private unix socket, exports
# CUSTODIAN_TEST_POSTGRES_URL (an admin URL, as the store's postgres tests expect), puts the
# cluster's binaries (pg_dump) first on PATH, and arranges for the cluster to be stopped and
# deleted when the calling shell exits, whatever the outcome. It fails loudly when no
# cluster can be started: CI must never skip the PostgreSQL tests silently.
#
# Usable by hand too: `bash .ci/postgres.sh` starts a cluster, prints the URL and waits
# until interrupted.

# The version the project is tested on; any other installed major version is the fallback.
PG_WANTED_MAJOR=15

# Prints the directory holding initdb, pg_ctl and pg_dump, or fails.
pg_bin_dir() {
  local dir
  for dir in "/usr/lib/postgresql/$PG_WANTED_MAJOR/bin" /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/pg_dump" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

# Installs the server from Debian's packages when it is missing (a fresh machine).
pg_install() {
  if ! command -v apt-get >/dev/null 2>&1 || [[ $(id -u) -ne 0 ]]; then
    echo "postgres: binaries missing and cannot install them (needs root and apt-get)" >&2
    return 1
  fi
  echo "postgres: binaries missing; installing postgresql-$PG_WANTED_MAJOR"
  # The packaged service is not wanted (we start our own cluster); policy-rc.d exit 101
  # tells the maintainer scripts not to start it.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  local status=0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || status=$?
  if [[ $status -eq 0 ]]; then
    apt-get install -y -qq --no-install-recommends "postgresql-$PG_WANTED_MAJOR" \
      || apt-get install -y -qq --no-install-recommends postgresql \
      || status=$?
  fi
  if [[ $created_policy -eq 1 ]]; then rm -f "$policy"; fi
  return "$status"
}

# Runs a command as the unprivileged owner of the cluster (initdb and postgres refuse root).
pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

# Whether something already listens on 127.0.0.1:$1.
pg_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop_postgres() {
  if [[ -n ${PG_CI_DIR:-} && -d $PG_CI_DIR ]]; then
    if [[ -n ${PG_CI_BIN:-} && -f $PG_CI_DIR/data/postmaster.pid ]]; then
      pg_as_owner "$PG_CI_BIN/pg_ctl" -D "$PG_CI_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_CI_DIR"
  fi
  PG_CI_DIR=
}

start_postgres() {
  local started_at=$SECONDS
  PG_CI_BIN=$(pg_bin_dir) || { pg_install && PG_CI_BIN=$(pg_bin_dir); } || {
    echo "FATAL: no PostgreSQL server binaries (looked in /usr/lib/postgresql/*/bin) and" \
      "installing them failed; the PostgreSQL tests cannot run" >&2
    return 1
  }
  # As root the cluster runs as `nobody`, who must reach the directory: /tmp, not a TMPDIR
  # that may sit under root's home.
  local base=${TMPDIR:-/tmp}
  if [[ $(id -u) -eq 0 ]]; then base=/tmp; fi
  PG_CI_DIR=$(mktemp -d "$base/custodian-pg.XXXXXX")
  # A signal ends the shell through `exit`, so the EXIT trap runs then too.
  trap stop_postgres EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ $(id -u) -eq 0 ]]; then
    chown nobody "$PG_CI_DIR"
  fi
  chmod 700 "$PG_CI_DIR"

  # Trust authentication on a cluster reachable only from this machine, deleted at exit.
  if ! pg_as_owner "$PG_CI_BIN/initdb" -D "$PG_CI_DIR/data" -A trust -U postgres \
    -E UTF8 --locale=C.UTF-8 --no-instructions >"$PG_CI_DIR/initdb.log" 2>&1; then
    cat "$PG_CI_DIR/initdb.log" >&2
    echo "FATAL: initdb failed" >&2
    return 1
  fi

  local attempt port=
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    if pg_port_busy "$port"; then continue; fi
    # fsync stays on: the cluster behaves as production would. -w waits until it accepts
    # connections (or the start fails, e.g. because the port was taken meanwhile).
    if pg_as_owner "$PG_CI_BIN/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/server.log" \
      -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CI_DIR -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    port=
  done
  if [[ -z $port ]] || ! "$PG_CI_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30; then
    cat "$PG_CI_DIR/server.log" >&2 || true
    echo "FATAL: the PostgreSQL test cluster did not start" >&2
    return 1
  fi

  export CUSTODIAN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export PATH="$PG_CI_BIN:$PATH"
  PG_CI_PORT=$port
  echo "postgres: $("$PG_CI_BIN/postgres" --version) on 127.0.0.1:$port" \
    "(started in $((SECONDS - started_at)) s)"
}

# The number of test databases the tests created in the cluster: proof they ran against it.
postgres_test_databases() {
  "$PG_CI_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_CI_PORT" -U postgres -d postgres \
    -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'custodian\_test\_%'"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  start_postgres
  echo "CUSTODIAN_TEST_POSTGRES_URL=$CUSTODIAN_TEST_POSTGRES_URL"
  echo "pg_dump: $PG_CI_BIN/pg_dump"
  echo "running until interrupted (Ctrl-C stops and deletes the cluster)"
  while sleep 3600; do :; done
fi
