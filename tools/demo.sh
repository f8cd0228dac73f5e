#!/usr/bin/env bash
# The main job: sets up and builds (tools/setup.sh), starts calling-server on a free loopback port,
# creates two identities with voip tokens through the REST API and prints them and the connection
# string, then places a real call between them with gst-call (Bob answers, Alice calls him for five
# seconds; both print their states and a status line a second), and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2

state=$(mktemp -d)
coproc SERVER { exec build/tools/calling-server/calling-server --listen 127.0.0.1:0 --state-dir "$state"; }
server_pid=$SERVER_PID
answer_pid=
trap '[ -n "$answer_pid" ] && kill -TERM "$answer_pid" 2>/dev/null; kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$state"' EXIT
if ! read -r -t 10 connection <&"${SERVER[0]}"; then
  echo "demo: calling-server did not start" >&2
  exit 1
fi
echo "calling-server is up; connection string: $connection"
endpoint=${connection#endpoint=}; endpoint=${endpoint%%;*}

declare -A ids tokens
for name in alice bob; do
  response=$(tools/acs-request "$connection" POST '/identities?api-version=2023-10-01' \
    '{"createTokenWithScopes":["voip"],"expiresInMinutes":60}')
  python3 -c '
import json, sys
name, response = sys.argv[1], json.loads(sys.argv[2])
token = response["accessToken"]
print(name + ": " + response["identity"]["id"])
print("  voip token, expires " + token["expiresOn"] + ": " + token["token"])' "$name" "$response"
  ids[$name]=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["identity"]["id"])' "$response")
  tokens[$name]=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["accessToken"]["token"])' "$response")
done

# The call: gst-call, with the plugin of this build and its virtual devices (docs/gst-call.md).
gst_call=build/tools/gst-call/gst-call
export GST_PLUGIN_PATH=$PWD/build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
echo "Bob answers; Alice calls him for five seconds."
bob_log=$state/bob.txt
CALLING_TOKEN=${tokens[bob]} "$gst_call" answer --endpoint "$endpoint" --display-name Bob \
  --microphone calling-virtual:virtual-microphone-880 > "$bob_log" 2>&1 &
answer_pid=$!
# Alice calls once Bob's agent is signed in: a call to an identity not connected anywhere ends at once.
for _ in $(seq 100); do grep -q '^waiting:' "$bob_log" && break; sleep 0.1; done
CALLING_TOKEN=${tokens[alice]} "$gst_call" call --endpoint "$endpoint" --display-name Alice --duration 5 \
  "${ids[bob]}" 2>&1 | sed -u 's/^/  alice: /'
wait "$answer_pid" || true
answer_pid=
sed 's/^/  bob:   /' "$bob_log"
echo "Stopping calling-server."
