# Shared by tools/demo, tools/test and tools/bench. Source it; do not run it.

# The repository root.
OCCUPANT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian/Ubuntu packages that are missing (with sudo when not root).
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}): run as root or install sudo"
        sudo=sudo
    fi
    say "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages every build needs.
ensure_build_dependencies() {
    # zlib1g-dev: swift-nio-extras (under async-http-client) links zlib, and the gateway's gzip uploads (CZlib).
    # libcurl4-openssl-dev: the gateway's uplink to the training host (CCurl; OpenSSL, as libmosquitto). libyaml-dev:
    # the YAML reader (CYAML).
    ensure_packages libmosquitto-dev mosquitto libi2c-dev libyaml-dev pkg-config gcc zlib1g-dev libcurl4-openssl-dev
    command -v swift >/dev/null || die "no Swift toolchain on PATH: install Swift 6 (https://www.swift.org/install/linux/)"
    # mosquitto lives in /usr/sbin, which is not on every user's PATH.
    case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac
}

# PostgreSQL 15 (Debian's `postgresql`) for the store contract tests: the harness (OccupantTesting.PostgresServer)
# runs initdb into a temporary folder and starts its own server on a free loopback port; the packaged cluster is not
# used.
ensure_postgres() {
    ensure_packages postgresql
}

# A headless browser for the dashboard's browser tests (Debian's chromium, started by the tests on loopback) and a
# font for its screenshots.
ensure_browser() {
    ensure_packages chromium fonts-dejavu-core
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + RANDOM % 40000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    die "no free port found"
}

# Starts a private mosquitto on 127.0.0.1:$1, writing its PID to $2/mosquitto.pid. With $3, a folder written by
# `occupant server broker-config`, it refuses anonymous clients and uses that folder's password file and ACL, and
# queues what the training host's persistent session has not taken yet.
start_private_broker() {
    local port=$1 dir=$2 access=${3:-}
    if [ -n "$access" ]; then
        # Started as root, mosquitto reads the files as the mosquitto user: its group gets them (0640, and the
        # folders on the way may be passed through, not listed).
        if [ "$(id -u)" -eq 0 ] && getent group mosquitto >/dev/null; then
            chgrp mosquitto "$access" "$access/passwords" "$access/acl"
            chmod 0750 "$access"
            chmod o+x "$dir"
        fi
        cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous false
password_file $access/passwords
acl_file $access/acl
max_queued_messages 1000000
persistence false
log_dest stderr
CONF
    else
        cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
CONF
    fi
    mosquitto -c "$dir/mosquitto.conf" 2> "$dir/mosquitto.log" &
    echo $! > "$dir/mosquitto.pid"
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    die "mosquitto did not start on port $port (see $dir/mosquitto.log)"
}

# Stops a process by the PID in file $1, if it is still running.
stop_pid_file() {
    [ -f "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
