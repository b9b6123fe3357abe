#!/usr/bin/env bash
# Builds the Debian package with cargo-deb from the debug binary `cargo test` already
# built (a release build would add minutes to CI), and checks what it holds: the binary,
# the systemd unit (verified, and its sandboxing scored, by systemd-analyze when the
# machine has it), the settings file as a conffile with nothing set. Called by .ci/run
# after `cargo test`. The release package is `cargo deb` (README, "Install").
#
# The package is made in target/package-check, never in target/release: a debug binary
# placed there could later pass for a release one.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
STAGE=target/package-check

fail() {
  echo "package check: $*" >&2
  exit 1
}

if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB_VERSION"; then
  echo "installing cargo-deb $CARGO_DEB_VERSION (a few minutes, once)" >&2
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
fi

cargo build --quiet --bin cbm2 # nothing to do after `cargo test`
rm -rf "$STAGE"
mkdir -p "$STAGE/release"
cp target/debug/cbm2 "$STAGE/release/cbm2"
# cargo-deb takes binaries from $CARGO_TARGET_DIR/release; --no-build: nothing compiles.
CARGO_TARGET_DIR="$STAGE" cargo deb --no-build --fast --quiet --output "$STAGE/" >/dev/null
debs=("$STAGE"/cbm2_*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one cbm2_*.deb in $STAGE"
deb=${debs[0]}

# Contents: path and mode of each file that matters.
contents=$(dpkg-deb --contents "$deb")
expect_file() { # MODE PATH
  grep -qE "^$1 (root/root|0/0) +[0-9]+ [0-9-]+ [0-9:]+ \./$2\$" <<<"$contents" \
    || fail "$2 with mode $1 is not in the package:"$'\n'"$contents"
}
expect_file '-rwxr-xr-x' 'usr/bin/cbm2'
expect_file '-rw-r--r--' 'usr/lib/systemd/system/cbm2.service'
expect_file '-rw-------' 'etc/cbm2/cbm2.env'
expect_file '-rw-r--r--' 'usr/share/doc/cbm2/copyright'
expect_file '-rw-r--r--' 'usr/share/doc/cbm2/README.md'

# Metadata.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ "$(dpkg-deb --field "$deb" Package)" = cbm2 ] || fail "the package is not named cbm2"
[ "$(dpkg-deb --field "$deb" Version)" = "$version-1" ] \
  || fail "version $(dpkg-deb --field "$deb" Version), Cargo.toml says $version"
dpkg-deb --field "$deb" Depends | grep -q libc6 || fail "no dependency on libc6"
info=$(dpkg-deb --info "$deb")
grep -qE '^ +[0-9]+ bytes, +[0-9]+ lines +(\* +)?(conffiles|postinst|prerm|postrm) ' <<<"$info" \
  || fail "no maintainer scripts:"$'\n'"$info"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/cbm2/cbm2.env ] \
  || fail "/etc/cbm2/cbm2.env is not the one conffile"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'deb-systemd-helper .*enable.* cbm2.service' \
  || fail "postinst does not enable cbm2.service"

# The files themselves.
root="$STAGE/root"
dpkg-deb --extract "$deb" "$root"
"$root/usr/bin/cbm2" --version | grep -qx "cbm2 $version" || fail "the packaged binary does not run"
unit="$root/usr/lib/systemd/system/cbm2.service"
for line in 'ExecStart=/usr/bin/cbm2 serve' 'EnvironmentFile=/etc/cbm2/cbm2.env' \
  'DynamicUser=yes' 'StateDirectory=cbm2' 'WorkingDirectory=/var/lib/cbm2' \
  'Environment=CBM2_DATABASE_URL=sqlite:///var/lib/cbm2/cbm2.db'; do
  grep -qxF "$line" "$unit" || fail "the unit lacks $line"
done
if grep -vE '^(#|$)' "$root/etc/cbm2/cbm2.env"; then
  fail "the settings file sets the lines above: every setting must be commented out"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify checks that ExecStart's program exists: point it at the packaged binary.
  check="$STAGE/unit-check"
  mkdir -p "$check"
  sed "s#^ExecStart=/usr/bin/cbm2 #ExecStart=$PWD/$root/usr/bin/cbm2 #" "$unit" >"$check/cbm2.service"
  # It warns of a line it cannot parse, and ignores the line, yet exits 0: any word fails.
  if ! verdict=$(SYSTEMD_UNIT_PATH="$PWD/$check:" systemd-analyze verify cbm2.service 2>&1) \
    || [ -n "$verdict" ]; then
    fail "systemd-analyze verify finds fault with the unit: $verdict"
  fi
  # Exposure 0 (locked down) to 100; the unit scores about 12 ("OK"); the network and
  # local sockets it needs account for most of it.
  systemd-analyze security --offline=true --threshold=20 "$check/cbm2.service" >/dev/null \
    || fail "the unit's sandboxing weakened: systemd-analyze security --offline=true $check/cbm2.service"
else
  echo "package check: systemd-analyze not found, the unit is not verified" >&2
fi

echo "package check: $deb holds the binary, the unit and the settings file" >&2
