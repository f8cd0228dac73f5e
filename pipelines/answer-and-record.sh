#!/bin/sh
# Answers the first incoming call to the identity of $TOKEN (calling-server at $SERVER) and records
# the caller's audio (Opus) and video (VP8) as they arrive, without transcoding, as two tracks of
# the Matroska file $OUTPUT. Ends when the call ends, however it ends; Ctrl-C ends the recording
# too (-e: the file is finalised first). A caller without video gives a file with the audio alone.
exec gst-launch-1.0 -e \
  callbin name=call server-url="${SERVER:?set SERVER to the endpoint of calling-server, http://HOST:PORT/}" \
    access-token="${TOKEN:?set TOKEN to a voip access token}" display-name="${DISPLAY_NAME:-Recorder}" \
  call. ! audio/x-opus ! queue ! mux.audio_%u \
  call. ! video/x-vp8 ! queue ! mux.video_%u \
  matroskamux name=mux offset-to-zero=true ! filesink location="${OUTPUT:?set OUTPUT to the .mkv file to write}"
