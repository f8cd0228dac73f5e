// callbin: one call's media, webrtcbin inside, driven by a CallSignaller. See the element's
// documentation in call_bin.cpp.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALL_TYPE_BIN (call_bin_get_type())
G_DECLARE_FINAL_TYPE(CallBin, call_bin, CALL, BIN, GstBin)

// callbin's remote-stream src pads: ghost pads with the read-only properties participant-id,
// kind, stream-id and display-name (see call_stream_info.h), readable as soon as pad-added fires.
#define CALL_TYPE_BIN_PAD (call_bin_pad_get_type())
G_DECLARE_FINAL_TYPE(CallBinPad, call_bin_pad, CALL, BIN_PAD, GstGhostPad)

GST_ELEMENT_REGISTER_DECLARE(callbin);

G_END_DECLS
