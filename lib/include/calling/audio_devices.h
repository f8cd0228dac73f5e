// Where a call's audio comes from and where the other side's audio goes.
//
// Each is a factory the library calls once per call, on the library thread, for a new GStreamer
// element (a source for the microphone, a sink for the speaker); the library takes over the
// reference returned, floating or full. Leave one empty for the default:
//   microphone: the system's default audio source (autoaudiosrc) when an audio input device
//               exists, otherwise the virtual test microphone, a live 440 Hz sine (audiotestsrc), so
//               that headless machines have something to send;
//   speaker:    the system's default audio sink (autoaudiosink) when an audio output device exists,
//               otherwise a null sink that still plays in real time.
// A sink the application makes (an appsink, for example) gets the decoded far-end audio as
// S16LE/F32LE mono or stereo, 48 kHz.
#pragma once

#include <functional>

typedef struct _GstElement GstElement;

namespace calling {

using ElementFactory = std::function<GstElement*()>;

struct AudioDevices {
    ElementFactory microphone;
    ElementFactory speaker;
};

}  // namespace calling
