#!/usr/bin/env bash
# Installs the Debian 12 packages listed in tools/debian-packages.txt that are missing (as root, or
# through sudo), then configures and builds the project in build/. A second run installs nothing
# and rebuilds only what changed. CI=true turns compiler warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' tools/debian-packages.txt | grep -v '^$')
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
# npm comes with some nodejs builds and is a package of its own in Debian's.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages the tests use, each pinned by its lock file: Microsoft's ACS identity SDK, which the
# tests run against calling-server (tests/acs-sdk), and playwright-core, which drives Debian's
# Chromium in the browser interop tests (tests/browser; it downloads no browser of its own).
for dir in tests/acs-sdk tests/browser; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
done

werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror="$werror"
elif ! meson introspect build --buildoptions | grep -q "\"name\": \"werror\", \"value\": $werror"; then
  meson configure build -Dwerror="$werror"
fi
meson compile -C build
