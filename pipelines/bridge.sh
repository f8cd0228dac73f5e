#!/bin/sh
# Bridges two calls: answers the first incoming call to the identity of $TOKEN_A and the first to
# the identity of $TOKEN_B (calling-server at $SERVER), and gives each caller what the other sends,
# audio and video, decoded and encoded again. The inter elements carry each call's media to the
# other one; until a caller's media arrives the other hears silence and sees black. Ends when both
# calls have ended, or on Ctrl-C.
exec gst-launch-1.0 \
  callbin name=a server-url="${SERVER:?set SERVER to the endpoint of calling-server, http://HOST:PORT/}" \
    access-token="${TOKEN_A:?set TOKEN_A to a voip access token}" display-name="${DISPLAY_NAME:-Bridge}" \
  callbin name=b server-url="$SERVER" \
    access-token="${TOKEN_B:?set TOKEN_B to a voip access token of another identity}" display-name="${DISPLAY_NAME:-Bridge}" \
  a. ! audio/x-opus ! queue ! opusdec plc=true ! interaudiosink channel=a-audio \
  a. ! video/x-vp8 ! queue ! vp8dec ! intervideosink channel=a-video \
  b. ! audio/x-opus ! queue ! opusdec plc=true ! interaudiosink channel=b-audio \
  b. ! video/x-vp8 ! queue ! vp8dec ! intervideosink channel=b-video \
  interaudiosrc channel=b-audio ! a.audio_0 \
  intervideosrc channel=b-video ! a.video_0 \
  interaudiosrc channel=a-audio ! b.audio_0 \
  intervideosrc channel=a-video ! b.video_0
