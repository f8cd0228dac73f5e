// The "calling" GStreamer plugin. This file only registers the plugin's features; each element
// and device provider lives in its own file pair.
#include <gst/gst.h>

#include "call_bin.h"
#include "call_participant_demux.h"
#include "call_render_sink.h"
#include "call_test_device_provider.h"

static gboolean pluginInit(GstPlugin* plugin)
{
    gboolean registered = FALSE;
    registered |= GST_ELEMENT_REGISTER(callparticipantdemux, plugin);
    registered |= GST_ELEMENT_REGISTER(callbin, plugin);
    registered |= GST_ELEMENT_REGISTER(callrendersink, plugin);
    registered |= GST_DEVICE_PROVIDER_REGISTER(calltestdeviceprovider, plugin);
    return registered;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, calling,
                  "Calls over calling-server: token signalling around webrtcbin, participant demuxing, rendering, "
                  "virtual test devices",
                  pluginInit, PACKAGE_VERSION, "LGPL", "gst-calling", "https://gst-calling.invalid/")
