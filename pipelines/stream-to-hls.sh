#!/bin/sh
# Answers the first incoming call to the identity of $TOKEN (calling-server at $SERVER) and streams
# the caller's video and audio out as HLS: H.264 (openh264) and AAC (voaacenc) in MPEG-TS segments
# of about two seconds, $HLS_DIR/segment00000.ts and on, listed in $HLS_DIR/playlist.m3u8 (the last
# five; segments older than the last ten are deleted), for any web server to serve. Ends when the
# call ends, however it ends, or on Ctrl-C; either way the playlist is closed (#EXT-X-ENDLIST).
exec gst-launch-1.0 -e \
  callbin name=call server-url="${SERVER:?set SERVER to the endpoint of calling-server, http://HOST:PORT/}" \
    access-token="${TOKEN:?set TOKEN to a voip access token}" display-name="${DISPLAY_NAME:-HLS}" \
  call. ! video/x-vp8 ! queue ! vp8dec ! videoconvert ! \
    openh264enc bitrate=1000000 rate-control=bitrate usage-type=camera ! h264parse ! hls.video \
  call. ! audio/x-opus ! queue ! opusdec ! audioconvert ! audioresample ! voaacenc bitrate=64000 ! aacparse ! hls.audio \
  hlssink2 name=hls target-duration=2 \
    location="${HLS_DIR:?set HLS_DIR to the folder for the playlist and segments}/segment%05d.ts" \
    playlist-location="$HLS_DIR/playlist.m3u8"
