#!/usr/bin/env bash
# The main job, until calls exist: sets up and builds (tools/setup.sh), starts calling-server on a
# free loopback port, creates two identities with voip tokens through the REST API, prints them and
# the connection string, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2

state=$(mktemp -d)
coproc SERVER { exec build/tools/calling-server/calling-server --listen 127.0.0.1:0 --state-dir "$state"; }
server_pid=$SERVER_PID
trap 'kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$state"' EXIT
if ! read -r -t 10 connection <&"${SERVER[0]}"; then
  echo "demo: calling-server did not start" >&2
  exit 1
fi
echo "calling-server is up; connection string: $connection"

for name in alice bob; do
  response=$(tools/acs-request "$connection" POST '/identities?api-version=2023-10-01' \
    '{"createTokenWithScopes":["voip"],"expiresInMinutes":60}')
  python3 -c '
import json, sys
name, response = sys.argv[1], json.loads(sys.argv[2])
token = response["accessToken"]
print(name + ": " + response["identity"]["id"])
print("  voip token, expires " + token["expiresOn"] + ": " + token["token"])' "$name" "$response"
done
echo "Stopping calling-server."
