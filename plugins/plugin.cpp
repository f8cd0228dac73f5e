// The "calling" GStreamer plugin. This file only registers the plugin's features; each element
// lives in its own file pair. Elements arrive with the issues that need them (callbin,
// callparticipantdemux, callrendersink, the virtual test device provider).
#include <gst/gst.h>

static gboolean pluginInit(GstPlugin*)
{
    return TRUE;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, calling,
                  "Calls over calling-server: token signalling around webrtcbin, participant demuxing, rendering",
                  pluginInit, PACKAGE_VERSION, "LGPL", "gst-calling", "https://gst-calling.invalid/")
