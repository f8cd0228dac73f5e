#!/bin/sh
# Calls $TARGET (a raw id, 8:acs:...) as the identity of $TOKEN through calling-server at $SERVER,
# and sends a 440 Hz tone and a 640x480 test picture (SMPTE bars) until either side hangs up or
# Ctrl-C (which hangs up). What the far end sends is dropped: nothing here links callbin's remote
# pads, and unlinked remote pads stall nothing.
exec gst-launch-1.0 \
  callbin name=call server-url="${SERVER:?set SERVER to the endpoint of calling-server, http://HOST:PORT/}" \
    access-token="${TOKEN:?set TOKEN to a voip access token}" target="${TARGET:?set TARGET to the raw id to call}" \
    display-name="${DISPLAY_NAME:-Test sources}" \
  audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! call.audio_0 \
  videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=480,framerate=30/1 ! call.video_0
