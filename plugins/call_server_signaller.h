// CallServerSignaller: a CallSignaller that runs one call with calling-server by itself, over a
// connection of its own, so that callbin works without an application (gst-launch-1.0). See the
// documentation in call_server_signaller.cpp.
//
// It lives in the plugin rather than the protocol layer because it is a GstObject (callbin exposes
// it as its child "signaller", and gst-launch-1.0's delayed `signaller::prop=value` settings need
// children that are GstObjects); it uses only the protocol layer's SignallingClient and messages.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALL_TYPE_SERVER_SIGNALLER (call_server_signaller_get_type())
G_DECLARE_FINAL_TYPE(CallServerSignaller, call_server_signaller, CALL, SERVER_SIGNALLER, GstObject)

G_END_DECLS
