#!/usr/bin/env bash
# The main job: sets up and builds (tools/setup.sh), starts calling-server on a free loopback port,
# creates two identities with voip tokens through the REST API and prints them and the connection
# string, then places a real call between them with gst-call: Bob answers and records the call
# (`gst-call record`), Alice calls him with the virtual camera and microphone for ten seconds and
# hangs up. Prints a summary (setup time, duration, what was received, the recording's path and
# tracks) and stops the server; the recording stays, playable (DEMO_RECORDING, by default
# build/demo-call.mkv). Needs no display, camera, microphone or network. DEMO_SECONDS changes the
# call's length; DEMO_BUILD_DIR=DIR uses that build as it is, without tools/setup.sh (the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${DEMO_BUILD_DIR:-build}
[ -n "${DEMO_BUILD_DIR:-}" ] || tools/setup.sh >&2

recording=${DEMO_RECORDING:-$PWD/$build/demo-call.mkv}
seconds=${DEMO_SECONDS:-10}
state=$(mktemp -d)
coproc SERVER { exec "$build/tools/calling-server/calling-server" --listen 127.0.0.1:0 --state-dir "$state"; }
server_pid=$SERVER_PID
record_pid=
trap '[ -n "$record_pid" ] && kill -TERM "$record_pid" 2>/dev/null; kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$state"' EXIT
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
gst_call=$build/tools/gst-call/gst-call
export GST_PLUGIN_PATH=$(cd "$build" && pwd)/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
echo "Bob answers and records; Alice calls him with the virtual camera and microphone for $seconds seconds."
bob_log=$state/bob.txt
# GStreamer's own warnings go to the *.err files, shown only when something failed.
CALLING_TOKEN=${tokens[bob]} "$gst_call" record --endpoint "$endpoint" --display-name Bob -o "$recording" \
  > "$bob_log" 2> "$state/bob.err" &
record_pid=$!
# Alice calls once Bob's agent is signed in: a call to an identity not connected anywhere ends at once.
for _ in $(seq 100); do grep -q '^waiting:' "$bob_log" && break; sleep 0.1; done

# Alice's lines as they come, and when her call was placed and connected (the setup time).
placed=
connected=
while IFS= read -r line; do
  echo "  alice: $line"
  [ -z "$placed" ] && [ "$line" = "state: Connecting" ] && placed=$EPOCHREALTIME
  [ -z "$connected" ] && [ "$line" = "state: Connected" ] && connected=$EPOCHREALTIME
done < <(CALLING_TOKEN=${tokens[alice]} "$gst_call" call --endpoint "$endpoint" --display-name Alice \
           --camera calling-virtual:virtual-camera-1 --microphone calling-virtual:virtual-microphone-440 \
           --duration "$seconds" "${ids[bob]}" 2> "$state/alice.err"; echo "exit code: $?")
record_status=0
wait "$record_pid" || record_status=$?
record_pid=
sed 's/^/  bob:   /' "$bob_log"
if [ "$record_status" -ne 0 ]; then
  echo "demo: Bob's gst-call exited with $record_status; its stderr:" >&2
  cat "$state/bob.err" >&2
fi

# The summary, from what gst-call printed and what gst-discoverer-1.0 finds in the file.
echo
echo "Summary"
if [ -n "$placed" ] && [ -n "$connected" ]; then
  python3 -c 'import sys; print("  setup time: %.2f s (placing the call to Connected)" % (float(sys.argv[2]) - float(sys.argv[1])))' \
    "$placed" "$connected"
else
  echo "  setup time: the call never connected"
fi
last_status=$(grep -E '^[0-9:]+ (audio|video) ' "$bob_log" | tail -n1 | cut -d' ' -f1 || true)
echo "  duration:   ${last_status:-none} connected (Bob's last status line); Bob's call $(sed -n 's/^ended: /ended /p' "$bob_log")"
received=$(sed -n 's/^recorded: [^|]*| *//p' "$bob_log")
echo "  received:   ${received:-nothing recorded} (Bob, written to the file)"
if [ -s "$recording" ]; then
  discovered=$(gst-discoverer-1.0 "$recording" 2>&1 || true)
  echo "  recording:  $recording, $(stat -c %s "$recording") bytes, $(sed -n 's/^ *Duration: //p' <<< "$discovered"), seekable: $(sed -n 's/^ *Seekable: //p' <<< "$discovered")"
  # Each track: codec, then the audio's channels and rate or the video's size.
  python3 -c '
import re, sys
track = None
for line in sys.stdin:
    found = re.match(r"\s*(audio|video) #\d+: (.*)", line)
    if found:
        if track: print("    " + ", ".join(track))
        track = [found.group(1) + ": " + found.group(2)]
        continue
    found = re.match(r"\s*(Channels|Sample rate|Width|Height): (\S+)", line)
    if track and found:
        track.append(found.group(1).lower() + " " + found.group(2))
if track: print("    " + ", ".join(track))' <<< "$discovered"
  echo "  play it:    gst-play-1.0 $recording"
else
  echo "  recording:  none ($recording is missing or empty)"
fi
echo "Stopping calling-server."
exit $(( record_status != 0 ? record_status : 0 ))
