#!/bin/sh
# Self-check for the fake I2C preload library (tools/fake-i2c/fake_i2c.c).
#
# Builds libfake_i2c.so and check.c into a temporary directory (nothing is written
# into the source tree), runs check under LD_PRELOAD with a temporary register map
# and log, then verifies the log. Exits non-zero on any mismatch.
#
# Usage: tools/fake-i2c/check.sh        (CC defaults to cc)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/fake-i2c-check.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "== build (in $work)"
# The documented build command, plus strict warnings.
"$cc" -std=c11 -Wall -Wextra -Werror -shared -fPIC -O2 -o "$work/libfake_i2c.so" "$here/fake_i2c.c" -ldl
"$cc" -std=c11 -Wall -Wextra -Werror -O2 -o "$work/check" "$here/check.c" -li2c -lpthread

# libi2c must be a separate shared object, so that its ioctl() call goes through
# the PLT and the preload intercepts it.
if ! ldd "$work/check" | grep -q 'libi2c\.so'; then
    echo "FAIL - check is not dynamically linked against libi2c" >&2
    exit 1
fi

"$work/check" --print-map >"$work/map.txt"
: >"$work/log.txt"

echo "== run"
status=0
OCCUPANT_FAKE_I2C_MAP="$work/map.txt" \
OCCUPANT_FAKE_I2C_LOG="$work/log.txt" \
LD_PRELOAD="$work/libfake_i2c.so" \
    "$work/check" 2>"$work/stderr.txt" || status=$?
sed 's/^/stderr: /' "$work/stderr.txt"

echo "== log"
fail=0
expect_log() {
    if grep -qxF "$1" "$work/log.txt"; then
        echo "ok   - log has: $1"
    else
        echo "FAIL - log lacks: $1"
        fail=1
    fi
}
expect_log "rdwr 0x44 2400 BEEF92BEEF92 OK"
expect_log "write 0x44 2400 - OK"
expect_log "read 0x44 - BEEF92 OK"
expect_log "read 0x44 - - EIO"
expect_log "smbus 0x48 01 7F OK"
expect_log "smbus 0x48 02 3412 OK"
expect_log "smbus 0x48 0155 - OK"
expect_log "rdwr 0x50 00 - EREMOTEIO"
expect_log "rdwr 0x52 00 - ETIMEDOUT"
expect_log "rdwr 0x60 00 - ENXIO"
expect_log "rdwr 0x44 2400 CAFE01CAFE01 OK"

expect_stderr() {
    if grep -qF "$1" "$work/stderr.txt"; then
        echo "ok   - stderr has: $1"
    else
        echo "FAIL - stderr lacks: $1"
        fail=1
    fi
}
expect_stderr "map.txt:1: expected 3 fields ADDRESS WRITE READ, found 4"
expect_stderr "register map is valid again"

echo "== $(wc -l <"$work/log.txt") log lines"
if [ "$status" -ne 0 ] || [ "$fail" -ne 0 ]; then
    echo "FAILED (check exit status $status, log/stderr checks $fail)"
    exit 1
fi
echo "PASSED"
