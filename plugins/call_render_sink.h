// callrendersink: shows one video stream in a view of a chosen size, scaled by a scaling mode,
// optionally mirrored. See the element's documentation in call_render_sink.cpp.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

// How the stream fills the view, as the ACS ScalingMode.
typedef enum {
    CALL_SCALING_MODE_STRETCH,  // fills the view, ignoring the aspect ratio
    CALL_SCALING_MODE_CROP,     // fills the view keeping the aspect ratio; the overflow is cut equally on both sides
    CALL_SCALING_MODE_FIT,      // the whole frame, keeping the aspect ratio, centered between black bars
} CallScalingMode;

#define CALL_TYPE_SCALING_MODE (call_scaling_mode_get_type())
GType call_scaling_mode_get_type(void);

// A GstBin with one ghost sink pad, "sink", taking raw video; implements GstVideoOverlay.
#define CALL_TYPE_RENDER_SINK (call_render_sink_get_type())
G_DECLARE_FINAL_TYPE(CallRenderSink, call_render_sink, CALL, RENDER_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE(callrendersink);

G_END_DECLS
