/**
 * SECTION:element-callrendersink
 * @title: callrendersink
 *
 * callrendersink shows one raw video stream, a remote participant's or the local camera's, in a
 * view of #CallRenderSink:width × #CallRenderSink:height pixels, the way the ACS RendererView
 * does:
 *
 * - `fit` (the default): the whole frame, keeping its aspect ratio, centered between black bars
 *   (letterbox above and below, or pillarbox left and right);
 * - `crop`: the view is filled keeping the aspect ratio; what overflows is cut equally on both
 *   sides;
 * - `stretch`: the view is filled, the aspect ratio ignored.
 *
 * #CallRenderSink:mirrored flips the picture left to right (a local preview). A width or height
 * of 0 follows the stream: with both 0 the view is the stream's own size, with one of them 0 that
 * side follows from the other and the stream's aspect ratio (the scaling mode then changes
 * nothing).
 *
 * Inside, `videoconvert ! videoflip ! videobox ! videoconvertscale ! capsfilter ! video-sink`:
 * videobox cuts (crop) or adds black borders (fit) to the frame in the stream's own pixels until
 * it has the view's aspect ratio, and videoconvertscale scales that to the view's size, so the
 * video sink always gets frames of the view's size. The scaling mode, mirroring and view size may
 * change at any time, PLAYING included: the new settings are applied on the streaming thread just
 * before the next frame enters, so that frame already shows them, whole, and nothing stalls. A
 * change of the view size renegotiates with the video sink; a change of the mode or mirroring
 * does not. A stream whose resolution changes mid-stream keeps its layout.
 *
 * #CallRenderSink:video-sink is where the frames go, settable in NULL and READY. By default it is
 * `autovideosink` when a display is available (DISPLAY or WAYLAND_DISPLAY set) and otherwise
 * `fakesink sync=true`, which consumes frames in real time; an `appsink` gives the raw frames of
 * the view to a bot, in whatever format its caps ask for.
 *
 * #CallRenderSink:source-width and #CallRenderSink:source-height are the incoming stream's size
 * (the ACS `Renderer.size`), notified when they change; #CallRenderSink::size-changed says the
 * same in one signal. #CallRenderSink::first-frame is emitted once per stream start. Both are
 * emitted on the streaming thread.
 *
 * callrendersink implements #GstVideoOverlay: a window handle, render rectangle and event
 * handling set on it are forwarded to the #GstVideoOverlay inside the video sink (the sink itself,
 * or the element in it that implements the interface, as in `autovideosink`), and applied again
 * to any overlay inside that posts `prepare-window-handle` later, for example one that
 * `autovideosink` creates when it starts. The `prepare-window-handle` message still reaches the
 * application's bus sync handler, so the usual pattern of answering it also works.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc ! callrendersink scaling-mode=crop width=320 height=320
 * ]| Shows the test pattern in a 320×320 view, its left and right sides cut off.
 * |[
 * gst-launch-1.0 videotestsrc ! callrendersink mirrored=true width=640 height=360 video-sink=ximagesink
 * ]| Shows it mirrored, pillarboxed in a 640×360 view, through ximagesink.
 */
#include "call_render_sink.h"

#include <gst/video/video.h>
#include <gst/video/videooverlay.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include "gstreamer/ref_ptr.h"

GST_DEBUG_CATEGORY_STATIC(call_render_sink_debug);
#define GST_CAT_DEFAULT call_render_sink_debug

using calling::detail::RefPtr;

namespace {

constexpr CallScalingMode kDefaultScalingMode = CALL_SCALING_MODE_FIT;
constexpr gboolean kDefaultMirrored = FALSE;
constexpr guint kDefaultWidth = 0;
constexpr guint kDefaultHeight = 0;
// Larger than any display; keeps the arithmetic and the frames videobox makes within bounds.
constexpr guint kMaxViewSize = 16384;
constexpr double kMaxBoxedSize = 32768;

enum {
    PROP_0,
    PROP_SCALING_MODE,
    PROP_MIRRORED,
    PROP_WIDTH,
    PROP_HEIGHT,
    PROP_VIDEO_SINK,
    PROP_SOURCE_WIDTH,
    PROP_SOURCE_HEIGHT,
    N_PROPERTIES,
};

GParamSpec* properties[N_PROPERTIES];

enum {
    SIGNAL_FIRST_FRAME,
    SIGNAL_SIZE_CHANGED,
    SIGNAL_COUNT,
};

guint renderSignals[SIGNAL_COUNT];

GstStaticPadTemplate sinkTemplate =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));

// The incoming stream's frames.
struct Source {
    int width = 0;
    int height = 0;
    int parN = 1;
    int parD = 1;
};

// What the children are set to.
struct Layout {
    // videobox's left, right, top and bottom, in the stream's pixels: positive values cut,
    // negative ones add black borders.
    int left = 0;
    int right = 0;
    int top = 0;
    int bottom = 0;
    // The size of the frames given to the video sink; 0×0 leaves it to the stream.
    int viewWidth = 0;
    int viewHeight = 0;
    bool mirrored = false;

    bool operator==(const Layout&) const = default;
    bool sameBox(const Layout& other) const
    {
        return left == other.left && right == other.right && top == other.top && bottom == other.bottom;
    }
    bool sameView(const Layout& other) const
    {
        return viewWidth == other.viewWidth && viewHeight == other.viewHeight;
    }
};

// Splits `total` pixels between two sides, the odd one to the second.
std::pair<int, int> split(int total)
{
    return {total / 2, total - total / 2};
}

Layout computeLayout(CallScalingMode mode, bool mirrored, guint width, guint height, const Source& source)
{
    Layout layout;
    layout.mirrored = mirrored;
    if (source.width <= 0 || source.height <= 0 || source.parN <= 0 || source.parD <= 0) {
        // No stream yet: the view as configured, when fully configured.
        if (width > 0 && height > 0) {
            layout.viewWidth = int(width);
            layout.viewHeight = int(height);
        }
        return layout;
    }
    if (width == 0 && height == 0)
        return layout;

    // The stream's display aspect ratio, and the sizes that have the view's aspect ratio in the
    // stream's own pixels.
    double sourceAspect = double(source.width) * source.parN / (double(source.height) * source.parD);
    if (width == 0)
        width = guint(std::clamp(std::lround(height * sourceAspect), 1L, long(kMaxViewSize)));
    if (height == 0)
        height = guint(std::clamp(std::lround(width / sourceAspect), 1L, long(kMaxViewSize)));
    layout.viewWidth = int(width);
    layout.viewHeight = int(height);
    if (mode == CALL_SCALING_MODE_STRETCH)
        return layout;

    double viewAspect = double(width) / height;
    // Rows of stream pixels that, at the stream's width, make the view's aspect ratio; columns
    // that, at the stream's height, do.
    int rows = int(std::clamp(std::round(source.width * double(source.parN) / (source.parD * viewAspect)), 1.0,
                              kMaxBoxedSize));
    int columns = int(std::clamp(std::round(source.height * viewAspect * source.parD / source.parN), 1.0,
                                 kMaxBoxedSize));
    bool wider = sourceAspect > viewAspect;
    if (mode == CALL_SCALING_MODE_FIT) {
        if (wider && rows > source.height) {
            auto [top, bottom] = split(rows - source.height);
            layout.top = -top;
            layout.bottom = -bottom;
        } else if (!wider && columns > source.width) {
            auto [left, right] = split(columns - source.width);
            layout.left = -left;
            layout.right = -right;
        }
    } else {
        if (wider && columns < source.width)
            std::tie(layout.left, layout.right) = split(source.width - columns);
        else if (!wider && rows < source.height)
            std::tie(layout.top, layout.bottom) = split(source.height - rows);
    }
    return layout;
}

}  // namespace

// The element's C++ state, new-ed in init and deleted in finalize.
//
// Locks, in the order they are taken: the element's state lock (GST_STATE_LOCK, held by
// GStreamer around state changes, and taken to swap the video sink), then `mutex`. `mutex` is
// never held while calling into the children, adding, removing or linking elements, emitting
// signals or posting messages: take what is needed and let go first.
struct CallRenderSinkState {
    std::mutex mutex;

    // Properties.
    CallScalingMode scalingMode = kDefaultScalingMode;
    bool mirrored = kDefaultMirrored;
    guint width = kDefaultWidth;
    guint height = kDefaultHeight;
    // In the bin and linked after `filter`; the application's, or the default one made in
    // NULL→READY.
    RefPtr<GstElement> videoSink;
    Source source;

    // What the application set through GstVideoOverlay, for the overlays inside the video sink.
    std::optional<guintptr> windowHandle;
    std::optional<GstVideoRectangle> renderRectangle;
    std::optional<bool> handleEvents;

    // The settings changed: the layout is applied again before the next frame.
    std::atomic<bool> layoutDirty = true;
    // No frame of the current stream reached the video sink yet.
    std::atomic<bool> firstFramePending = true;
    // What the children are set to. Only touched on the streaming thread.
    std::optional<Layout> applied;

    // The chain, fixed for the element's lifetime; null when a plugin is missing.
    RefPtr<GstElement> convert;
    RefPtr<GstElement> flip;
    RefPtr<GstElement> box;
    RefPtr<GstElement> scale;
    RefPtr<GstElement> filter;
    bool complete = false;
};

struct _CallRenderSink {
    GstBin parent;
    CallRenderSinkState* state;
};

static void call_render_sink_overlay_init(GstVideoOverlayInterface* iface);

G_DEFINE_TYPE_WITH_CODE(CallRenderSink, call_render_sink, GST_TYPE_BIN,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_VIDEO_OVERLAY, call_render_sink_overlay_init)
                            GST_DEBUG_CATEGORY_INIT(call_render_sink_debug, "callrendersink", 0,
                                                    "Video rendering with scaling modes"))

GST_ELEMENT_REGISTER_DEFINE(callrendersink, "callrendersink", GST_RANK_NONE, CALL_TYPE_RENDER_SINK)

GType call_scaling_mode_get_type(void)
{
    static const GType type = [] {
        static const GEnumValue values[] = {
            {CALL_SCALING_MODE_STRETCH, "Fill the view, ignoring the aspect ratio", "stretch"},
            {CALL_SCALING_MODE_CROP, "Fill the view keeping the aspect ratio, cutting the overflow", "crop"},
            {CALL_SCALING_MODE_FIT, "Show the whole frame keeping the aspect ratio, between black bars", "fit"},
            {0, nullptr, nullptr},
        };
        return g_enum_register_static("CallScalingMode", values);
    }();
    return type;
}

// ---------------------------------------------------------------------------------------------
// The layout, applied on the streaming thread

// Sets the children for the current settings, if they changed. Called on the streaming thread
// before a frame or caps enter the chain, so that they already go through the new settings.
static void applyLayout(CallRenderSink* self)
{
    CallRenderSinkState& state = *self->state;
    if (!state.layoutDirty.exchange(false))
        return;
    Layout layout;
    {
        std::lock_guard lock(state.mutex);
        layout = computeLayout(state.scalingMode, state.mirrored, state.width, state.height, state.source);
    }
    std::optional<Layout> before = std::exchange(state.applied, layout);
    if (before == layout)
        return;
    GST_DEBUG_OBJECT(self, "view %dx%d, box left %d right %d top %d bottom %d%s", layout.viewWidth,
                     layout.viewHeight, layout.left, layout.right, layout.top, layout.bottom,
                     layout.mirrored ? ", mirrored" : "");

    if (!before || before->mirrored != layout.mirrored)
        g_object_set(state.flip.get(), "video-direction",
                     layout.mirrored ? GST_VIDEO_ORIENTATION_HORIZ : GST_VIDEO_ORIENTATION_IDENTITY, nullptr);
    if (!before || !before->sameBox(layout))
        g_object_set(state.box.get(), "left", layout.left, "right", layout.right, "top", layout.top, "bottom",
                     layout.bottom, nullptr);
    if (!before || !before->sameView(layout)) {
        auto caps = RefPtr<GstCaps>::adopt(
            layout.viewWidth > 0
                ? gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, layout.viewWidth, "height", G_TYPE_INT,
                                      layout.viewHeight, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr)
                : gst_caps_new_empty_simple("video/x-raw"));
        g_object_set(state.filter.get(), "caps", caps.get(), nullptr);
    }
}

static void onSourceCaps(CallRenderSink* self, GstCaps* caps)
{
    CallRenderSinkState& state = *self->state;
    GstVideoInfo info;
    if (!gst_video_info_from_caps(&info, caps)) {
        GST_WARNING_OBJECT(self, "not raw video: %" GST_PTR_FORMAT, caps);
        return;
    }
    Source source{GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info), GST_VIDEO_INFO_PAR_N(&info),
                  GST_VIDEO_INFO_PAR_D(&info)};
    Source before;
    {
        std::lock_guard lock(state.mutex);
        before = std::exchange(state.source, source);
    }
    state.layoutDirty = true;
    applyLayout(self);

    bool widthChanged = before.width != source.width;
    bool heightChanged = before.height != source.height;
    if (!widthChanged && !heightChanged)
        return;
    GST_INFO_OBJECT(self, "the stream is %dx%d", source.width, source.height);
    if (widthChanged)
        g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SOURCE_WIDTH]);
    if (heightChanged)
        g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SOURCE_HEIGHT]);
    g_signal_emit(self, renderSignals[SIGNAL_SIZE_CHANGED], 0, guint(source.width), guint(source.height));
}

// On the chain's sink pad: what comes in, before it enters the chain.
static GstPadProbeReturn onIncoming(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* self = CALL_RENDER_SINK(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)) {
        applyLayout(self);
        return GST_PAD_PROBE_OK;
    }
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
        self->state->firstFramePending = true;
        break;
    case GST_EVENT_CAPS: {
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        onSourceCaps(self, caps);
        break;
    }
    default:
        break;
    }
    return GST_PAD_PROBE_OK;
}

// On the chain's last src pad: frames on their way into the video sink.
static GstPadProbeReturn onOutgoing(GstPad*, GstPadProbeInfo*, gpointer data)
{
    auto* self = CALL_RENDER_SINK(data);
    if (self->state->firstFramePending.exchange(false)) {
        GST_INFO_OBJECT(self, "first frame");
        g_signal_emit(self, renderSignals[SIGNAL_FIRST_FRAME], 0);
    }
    return GST_PAD_PROBE_OK;
}

// ---------------------------------------------------------------------------------------------
// The video sink and GstVideoOverlay

// The element implementing GstVideoOverlay in the current video sink: the sink itself or, for a
// bin such as autovideosink, the child that implements it.
static RefPtr<GstElement> overlayTarget(CallRenderSink* self)
{
    RefPtr<GstElement> sink;
    {
        std::lock_guard lock(self->state->mutex);
        sink = self->state->videoSink;
    }
    if (!sink)
        return {};
    if (GST_IS_VIDEO_OVERLAY(sink.get()))
        return sink;
    if (GST_IS_BIN(sink.get()))
        return RefPtr<GstElement>::adopt(gst_bin_get_by_interface(GST_BIN(sink.get()), GST_TYPE_VIDEO_OVERLAY));
    return {};
}

// Gives `overlay` whatever the application set on the bin.
static void applyOverlaySettings(CallRenderSink* self, GstVideoOverlay* overlay)
{
    std::optional<guintptr> windowHandle;
    std::optional<GstVideoRectangle> rectangle;
    std::optional<bool> handleEvents;
    {
        std::lock_guard lock(self->state->mutex);
        windowHandle = self->state->windowHandle;
        rectangle = self->state->renderRectangle;
        handleEvents = self->state->handleEvents;
    }
    if (windowHandle) {
        GST_DEBUG_OBJECT(self, "window handle %" G_GUINTPTR_FORMAT " to %" GST_PTR_FORMAT, *windowHandle, overlay);
        gst_video_overlay_set_window_handle(overlay, *windowHandle);
    }
    if (rectangle)
        gst_video_overlay_set_render_rectangle(overlay, rectangle->x, rectangle->y, rectangle->w, rectangle->h);
    if (handleEvents)
        gst_video_overlay_handle_events(overlay, *handleEvents);
}

static void overlaySetWindowHandle(GstVideoOverlay* overlay, guintptr handle)
{
    auto* self = CALL_RENDER_SINK(overlay);
    {
        std::lock_guard lock(self->state->mutex);
        self->state->windowHandle = handle;
    }
    if (RefPtr<GstElement> target = overlayTarget(self))
        gst_video_overlay_set_window_handle(GST_VIDEO_OVERLAY(target.get()), handle);
}

static void overlayExpose(GstVideoOverlay* overlay)
{
    if (RefPtr<GstElement> target = overlayTarget(CALL_RENDER_SINK(overlay)))
        gst_video_overlay_expose(GST_VIDEO_OVERLAY(target.get()));
}

static void overlayHandleEvents(GstVideoOverlay* overlay, gboolean handleEvents)
{
    auto* self = CALL_RENDER_SINK(overlay);
    {
        std::lock_guard lock(self->state->mutex);
        self->state->handleEvents = handleEvents;
    }
    if (RefPtr<GstElement> target = overlayTarget(self))
        gst_video_overlay_handle_events(GST_VIDEO_OVERLAY(target.get()), handleEvents);
}

static void overlaySetRenderRectangle(GstVideoOverlay* overlay, gint x, gint y, gint width, gint height)
{
    auto* self = CALL_RENDER_SINK(overlay);
    {
        std::lock_guard lock(self->state->mutex);
        self->state->renderRectangle = GstVideoRectangle{x, y, width, height};
    }
    if (RefPtr<GstElement> target = overlayTarget(self))
        gst_video_overlay_set_render_rectangle(GST_VIDEO_OVERLAY(target.get()), x, y, width, height);
}

static void call_render_sink_overlay_init(GstVideoOverlayInterface* iface)
{
    iface->set_window_handle = overlaySetWindowHandle;
    iface->expose = overlayExpose;
    iface->handle_events = overlayHandleEvents;
    iface->set_render_rectangle = overlaySetRenderRectangle;
}

// Replaces the video sink: the old one leaves the bin, the new one (if any) is added and linked.
// In NULL or READY only, with the element's state lock held.
static bool installVideoSink(CallRenderSink* self, RefPtr<GstElement> sink)
{
    CallRenderSinkState& state = *self->state;
    RefPtr<GstElement> old;
    {
        std::lock_guard lock(state.mutex);
        old = std::exchange(state.videoSink, {});
    }
    if (old) {
        gst_element_unlink(state.filter.get(), old.get());
        gst_element_set_state(old.get(), GST_STATE_NULL);
        gst_bin_remove(GST_BIN(self), old.get());
    }
    if (!sink)
        return true;
    if (!gst_bin_add(GST_BIN(self), sink.get())) {
        GST_WARNING_OBJECT(self, "%" GST_PTR_FORMAT " cannot be added (another parent, or a name taken)", sink.get());
        return false;
    }
    if (!gst_element_link(state.filter.get(), sink.get())) {
        GST_WARNING_OBJECT(self, "%" GST_PTR_FORMAT " takes no raw video", sink.get());
        gst_bin_remove(GST_BIN(self), sink.get());
        return false;
    }
    gst_element_sync_state_with_parent(sink.get());
    {
        std::lock_guard lock(state.mutex);
        state.videoSink = sink;
    }
    GST_INFO_OBJECT(self, "video sink %" GST_PTR_FORMAT, sink.get());
    if (RefPtr<GstElement> target = overlayTarget(self))
        applyOverlaySettings(self, GST_VIDEO_OVERLAY(target.get()));
    return true;
}

static RefPtr<GstElement> makeDefaultSink(CallRenderSink* self)
{
    bool display = g_getenv("DISPLAY") || g_getenv("WAYLAND_DISPLAY");
    const char* factory = display ? "autovideosink" : "fakesink";
    auto sink = RefPtr<GstElement>::adopt(gst_element_factory_make(factory, "render-video-sink"));
    if (!sink) {
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing element '%s'.", factory),
                          ("callrendersink's default video sink is %s; install the GStreamer plugin that provides it, "
                           "or set video-sink.",
                           factory));
        return {};
    }
    // Without a display, frames are still consumed at their pace, as a window would show them.
    if (!display)
        g_object_set(sink.get(), "sync", TRUE, nullptr);
    return sink;
}

// ---------------------------------------------------------------------------------------------
// The element

static void call_render_sink_handle_message(GstBin* bin, GstMessage* message)
{
    // An overlay inside asks for a window (on its streaming thread): it gets the one the
    // application gave the bin, before the message goes on to the application.
    if (gst_is_video_overlay_prepare_window_handle_message(message) && GST_IS_VIDEO_OVERLAY(GST_MESSAGE_SRC(message)))
        applyOverlaySettings(CALL_RENDER_SINK(bin), GST_VIDEO_OVERLAY(GST_MESSAGE_SRC(message)));
    GST_BIN_CLASS(call_render_sink_parent_class)->handle_message(bin, message);
}

static GstStateChangeReturn call_render_sink_change_state(GstElement* element, GstStateChange transition)
{
    auto* self = CALL_RENDER_SINK(element);
    CallRenderSinkState& state = *self->state;

    switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY: {
        if (!state.complete) {
            GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing elements for callrendersink."),
                              ("callrendersink needs videoconvert, videoflip, videobox, videoconvertscale and "
                               "capsfilter (gst-plugins-base and gst-plugins-good)"));
            return GST_STATE_CHANGE_FAILURE;
        }
        bool haveSink = false;
        {
            std::lock_guard lock(state.mutex);
            haveSink = bool(state.videoSink);
        }
        if (!haveSink) {
            RefPtr<GstElement> sink = makeDefaultSink(self);
            if (!sink || !installVideoSink(self, sink))
                return GST_STATE_CHANGE_FAILURE;
        }
        break;
    }
    case GST_STATE_CHANGE_READY_TO_PAUSED:
        state.firstFramePending = true;
        state.layoutDirty = true;
        break;
    default:
        break;
    }

    GstStateChangeReturn ret = GST_ELEMENT_CLASS(call_render_sink_parent_class)->change_state(element, transition);
    if (ret == GST_STATE_CHANGE_FAILURE)
        return ret;

    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
        // Streaming has stopped: no stream, no size.
        Source before;
        {
            std::lock_guard lock(state.mutex);
            before = std::exchange(state.source, Source{});
        }
        if (before.width != 0)
            g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SOURCE_WIDTH]);
        if (before.height != 0)
            g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SOURCE_HEIGHT]);
    }
    return ret;
}

static void call_render_sink_set_property(GObject* object, guint propertyId, const GValue* value, GParamSpec* pspec)
{
    auto* self = CALL_RENDER_SINK(object);
    CallRenderSinkState& state = *self->state;
    switch (propertyId) {
    case PROP_SCALING_MODE: {
        std::lock_guard lock(state.mutex);
        state.scalingMode = CallScalingMode(g_value_get_enum(value));
        break;
    }
    case PROP_MIRRORED: {
        std::lock_guard lock(state.mutex);
        state.mirrored = g_value_get_boolean(value);
        break;
    }
    case PROP_WIDTH: {
        std::lock_guard lock(state.mutex);
        state.width = g_value_get_uint(value);
        break;
    }
    case PROP_HEIGHT: {
        std::lock_guard lock(state.mutex);
        state.height = g_value_get_uint(value);
        break;
    }
    case PROP_VIDEO_SINK: {
        // Refused at once beyond READY, before taking the state lock: a streaming thread may ask
        // while a state change that waits for it holds that lock.
        if (GST_STATE(self) > GST_STATE_READY) {
            GST_WARNING_OBJECT(self, "the video sink can only be changed in NULL or READY");
            return;
        }
        RefPtr<GstElement> sink;
        if (auto* given = static_cast<GstElement*>(g_value_get_object(value)))
            sink = RefPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(given)));
        GST_STATE_LOCK(self);
        if (GST_STATE(self) > GST_STATE_READY)
            GST_WARNING_OBJECT(self, "the video sink can only be changed in NULL or READY");
        else
            installVideoSink(self, sink);
        GST_STATE_UNLOCK(self);
        return;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
        return;
    }
    state.layoutDirty = true;
}

static void call_render_sink_get_property(GObject* object, guint propertyId, GValue* value, GParamSpec* pspec)
{
    CallRenderSinkState& state = *CALL_RENDER_SINK(object)->state;
    std::lock_guard lock(state.mutex);
    switch (propertyId) {
    case PROP_SCALING_MODE:
        g_value_set_enum(value, state.scalingMode);
        break;
    case PROP_MIRRORED:
        g_value_set_boolean(value, state.mirrored);
        break;
    case PROP_WIDTH:
        g_value_set_uint(value, state.width);
        break;
    case PROP_HEIGHT:
        g_value_set_uint(value, state.height);
        break;
    case PROP_VIDEO_SINK:
        g_value_set_object(value, state.videoSink.get());
        break;
    case PROP_SOURCE_WIDTH:
        g_value_set_uint(value, guint(state.source.width));
        break;
    case PROP_SOURCE_HEIGHT:
        g_value_set_uint(value, guint(state.source.height));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
    }
}

static RefPtr<GstElement> makeChild(const char* factory, const char* name)
{
    auto element = RefPtr<GstElement>::adopt(gst_element_factory_make(factory, name));
    if (!element)
        GST_WARNING("%s is missing", factory);
    return element;
}

static void call_render_sink_init(CallRenderSink* self)
{
    self->state = new CallRenderSinkState;
    CallRenderSinkState& state = *self->state;
    state.convert = makeChild("videoconvert", "render-convert");
    state.flip = makeChild("videoflip", "render-flip");
    state.box = makeChild("videobox", "render-box");
    state.scale = makeChild("videoconvertscale", "render-scale");
    state.filter = makeChild("capsfilter", "render-filter");

    GstPadTemplate* templ = gst_static_pad_template_get(&sinkTemplate);
    GstPad* ghost = gst_ghost_pad_new_no_target_from_template("sink", templ);
    gst_object_unref(templ);
    gst_element_add_pad(GST_ELEMENT(self), ghost);

    state.complete = state.convert && state.flip && state.box && state.scale && state.filter;
    if (!state.complete)
        return;  // NULL→READY reports it.

    // The frames videobox hands on already have the view's aspect ratio (or are stretched on
    // purpose): videoconvertscale only scales.
    g_object_set(state.scale.get(), "add-borders", FALSE, nullptr);
    gst_bin_add_many(GST_BIN(self), state.convert.get(), state.flip.get(), state.box.get(), state.scale.get(),
                     state.filter.get(), nullptr);
    gst_element_link_many(state.convert.get(), state.flip.get(), state.box.get(), state.scale.get(),
                          state.filter.get(), nullptr);

    g_autoptr(GstPad) chainSink = gst_element_get_static_pad(state.convert.get(), "sink");
    gst_ghost_pad_set_target(GST_GHOST_PAD(ghost), chainSink);
    gst_pad_add_probe(chainSink,
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      onIncoming, self, nullptr);
    g_autoptr(GstPad) chainSrc = gst_element_get_static_pad(state.filter.get(), "src");
    gst_pad_add_probe(chainSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      onOutgoing, self, nullptr);
}

static void call_render_sink_dispose(GObject* object)
{
    CallRenderSinkState& state = *CALL_RENDER_SINK(object)->state;
    {
        std::lock_guard lock(state.mutex);
        state.videoSink.reset();
    }
    state.convert.reset();
    state.flip.reset();
    state.box.reset();
    state.scale.reset();
    state.filter.reset();
    G_OBJECT_CLASS(call_render_sink_parent_class)->dispose(object);
}

static void call_render_sink_finalize(GObject* object)
{
    delete CALL_RENDER_SINK(object)->state;
    G_OBJECT_CLASS(call_render_sink_parent_class)->finalize(object);
}

static void call_render_sink_class_init(CallRenderSinkClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    GstElementClass* elementClass = GST_ELEMENT_CLASS(klass);
    GstBinClass* binClass = GST_BIN_CLASS(klass);

    objectClass->dispose = call_render_sink_dispose;
    objectClass->finalize = call_render_sink_finalize;
    objectClass->set_property = call_render_sink_set_property;
    objectClass->get_property = call_render_sink_get_property;

    auto live = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
    properties[PROP_SCALING_MODE] =
        g_param_spec_enum("scaling-mode", "Scaling Mode",
                          "How the stream fills the view: stretch, crop or fit; changeable while playing.",
                          CALL_TYPE_SCALING_MODE, kDefaultScalingMode, live);
    properties[PROP_MIRRORED] = g_param_spec_boolean(
        "mirrored", "Mirrored", "Flip the picture left to right; changeable while playing.", kDefaultMirrored, live);
    properties[PROP_WIDTH] =
        g_param_spec_uint("width", "Width", "Width of the view in pixels, 0 to follow the stream; changeable while playing.",
                          0, kMaxViewSize, kDefaultWidth, live);
    properties[PROP_HEIGHT] = g_param_spec_uint(
        "height", "Height", "Height of the view in pixels, 0 to follow the stream; changeable while playing.", 0,
        kMaxViewSize, kDefaultHeight, live);
    properties[PROP_VIDEO_SINK] = g_param_spec_object(
        "video-sink", "Video Sink",
        "The sink that gets the view's frames, settable in NULL and READY; autovideosink, or fakesink without a "
        "display, when unset.",
        GST_TYPE_ELEMENT, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
    properties[PROP_SOURCE_WIDTH] =
        g_param_spec_uint("source-width", "Source Width",
                          "Width of the incoming stream's frames in pixels, 0 without a stream; notified on change.",
                          0, G_MAXINT, 0, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
    properties[PROP_SOURCE_HEIGHT] =
        g_param_spec_uint("source-height", "Source Height",
                          "Height of the incoming stream's frames in pixels, 0 without a stream; notified on change.",
                          0, G_MAXINT, 0, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
    g_object_class_install_properties(objectClass, N_PROPERTIES, properties);

    /**
     * CallRenderSink::first-frame:
     * @render: the element
     *
     * The stream's first frame is on its way into the video sink. Emitted once per stream start
     * (a stream-start event, or READY→PAUSED), on the streaming thread: handlers must not block
     * or change the element's state; hand over to the application's own thread instead.
     */
    renderSignals[SIGNAL_FIRST_FRAME] = g_signal_new("first-frame", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                                     0, nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
    /**
     * CallRenderSink::size-changed:
     * @render: the element
     * @width: the stream's new width in pixels
     * @height: the stream's new height in pixels
     *
     * The incoming stream's frames changed size, its first caps included (the ACS Renderer's
     * size). Emitted on the streaming thread before the first frame of the new size, after
     * notify::source-width and notify::source-height. Not emitted when the element goes back to
     * READY and the source size returns to 0 (the notifications are).
     */
    renderSignals[SIGNAL_SIZE_CHANGED] = g_signal_new("size-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                                      nullptr, nullptr, nullptr, G_TYPE_NONE, 2, G_TYPE_UINT,
                                                      G_TYPE_UINT);

    elementClass->change_state = call_render_sink_change_state;
    binClass->handle_message = call_render_sink_handle_message;

    gst_element_class_add_static_pad_template(elementClass, &sinkTemplate);
    gst_element_class_set_static_metadata(
        elementClass, "Call render sink", "Sink/Video",
        "Shows a video stream in a view of a given size: fit, crop or stretch, optionally mirrored. "
        "Example: gst-launch-1.0 videotestsrc ! callrendersink scaling-mode=crop width=320 height=320",
        "gst-calling");

    gst_type_mark_as_plugin_api(CALL_TYPE_SCALING_MODE, GstPluginAPIFlags(0));
}
