// callrendersink in real pipelines: frames drawn by the test (appsrc) or videotestsrc go in, an
// appsink as the video sink gets RGBx frames of the view, and the test reads their pixels the way
// a user looks at the screen: where the black bars are, which colour a column has.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/videooverlay.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gstreamer/ref_ptr.h"

using calling::detail::RefPtr;
using namespace std::chrono_literals;

// A video sink that implements GstVideoOverlay and asks for a window when it gets caps, as
// xvimagesink does, without needing a display.
#define TEST_TYPE_OVERLAY_SINK (test_overlay_sink_get_type())
G_DECLARE_FINAL_TYPE(TestOverlaySink, test_overlay_sink, TEST, OVERLAY_SINK, GstBaseSink)

// Fields under the object lock: set on the streaming thread, read by the test.
struct _TestOverlaySink {
    GstBaseSink parent;
    guintptr windowHandle;
    gint renderWidth;
};

static void test_overlay_sink_overlay_init(GstVideoOverlayInterface* iface)
{
    iface->set_window_handle = [](GstVideoOverlay* overlay, guintptr handle) {
        GST_OBJECT_LOCK(overlay);
        TEST_OVERLAY_SINK(overlay)->windowHandle = handle;
        GST_OBJECT_UNLOCK(overlay);
    };
    iface->set_render_rectangle = [](GstVideoOverlay* overlay, gint, gint, gint width, gint) {
        GST_OBJECT_LOCK(overlay);
        TEST_OVERLAY_SINK(overlay)->renderWidth = width;
        GST_OBJECT_UNLOCK(overlay);
    };
}

static guintptr windowHandleOf(GstElement* sink)
{
    GST_OBJECT_LOCK(sink);
    guintptr handle = TEST_OVERLAY_SINK(sink)->windowHandle;
    GST_OBJECT_UNLOCK(sink);
    return handle;
}

static gint renderWidthOf(GstElement* sink)
{
    GST_OBJECT_LOCK(sink);
    gint width = TEST_OVERLAY_SINK(sink)->renderWidth;
    GST_OBJECT_UNLOCK(sink);
    return width;
}

G_DEFINE_TYPE_WITH_CODE(TestOverlaySink, test_overlay_sink, GST_TYPE_BASE_SINK,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_VIDEO_OVERLAY, test_overlay_sink_overlay_init))

static void test_overlay_sink_init(TestOverlaySink*) {}

static void test_overlay_sink_class_init(TestOverlaySinkClass* klass)
{
    static GstStaticPadTemplate sinkTemplate =
        GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));
    gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &sinkTemplate);
    gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "Test overlay sink", "Sink/Video",
                                          "Records the window handle it is given", "gst-calling tests");
    GST_BASE_SINK_CLASS(klass)->set_caps = [](GstBaseSink* sink, GstCaps*) -> gboolean {
        gst_video_overlay_prepare_window_handle(GST_VIDEO_OVERLAY(sink));
        return TRUE;
    };
}

namespace {

constexpr int kView = 320;
// Pixels this close to an edge between two areas may be blended by the scaler.
constexpr int kMargin = 3;

enum class Colour { Black, White, Red, Green, Blue, Other };

const char* name(Colour colour)
{
    switch (colour) {
    case Colour::Black:
        return "black";
    case Colour::White:
        return "white";
    case Colour::Red:
        return "red";
    case Colour::Green:
        return "green";
    case Colour::Blue:
        return "blue";
    default:
        return "other";
    }
}

Colour classify(int r, int g, int b)
{
    auto high = [](int v) { return v > 160; };
    auto low = [](int v) { return v < 90; };
    if (r < 40 && g < 40 && b < 40)
        return Colour::Black;
    if (r > 200 && g > 200 && b > 200)
        return Colour::White;
    if (high(r) && low(g) && low(b))
        return Colour::Red;
    if (low(r) && high(g) && low(b))
        return Colour::Green;
    if (low(r) && low(g) && high(b))
        return Colour::Blue;
    return Colour::Other;
}

// One RGBx frame as the video sink got it.
struct Frame {
    int width = 0;
    int height = 0;
    int stride = 0;
    std::vector<guint8> pixels;

    Colour at(int x, int y) const
    {
        const guint8* pixel = &pixels[size_t(y) * stride + size_t(x) * 4];
        return classify(pixel[0], pixel[1], pixel[2]);
    }

    std::string describe(int x, int y) const
    {
        const guint8* pixel = &pixels[size_t(y) * stride + size_t(x) * 4];
        std::ostringstream text;
        text << "(" << x << "," << y << ") is rgb(" << int(pixel[0]) << "," << int(pixel[1]) << "," << int(pixel[2])
             << ")";
        return text.str();
    }
};

// Every pixel of [x0, x1) × [y0, y1), less kMargin on each side, has `colour`.
::testing::AssertionResult areaIs(const Frame& frame, int x0, int y0, int x1, int y1, Colour colour)
{
    if (frame.width == 0)
        return ::testing::AssertionFailure() << "no frame";
    for (int y = y0 + kMargin; y < y1 - kMargin; ++y) {
        for (int x = x0 + kMargin; x < x1 - kMargin; ++x) {
            if (frame.at(x, y) != colour)
                return ::testing::AssertionFailure() << "expected " << name(colour) << " in [" << x0 << "," << x1
                                                     << ")x[" << y0 << "," << y1 << "), but " << frame.describe(x, y);
        }
    }
    return ::testing::AssertionSuccess();
}

// The test's source picture, RGBx: a green band on the left eighth, red up to the middle, blue on
// the right half. Crop cuts the green band of a 4:3 frame in a square view; fit and stretch keep it.
// A portrait frame has a white band on its top eighth instead of the green one (crop cuts it).
std::vector<guint8> drawSource(int width, int height)
{
    bool portrait = height > width;
    std::vector<guint8> pixels(size_t(width) * height * 4);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            guint8* pixel = &pixels[(size_t(y) * width + x) * 4];
            if (portrait && y < height / 8)
                pixel[0] = pixel[1] = pixel[2] = 255;
            else if (!portrait && x < width / 8)
                pixel[1] = 255;
            else if (x < width / 2)
                pixel[0] = 255;
            else
                pixel[2] = 255;
            pixel[3] = 255;
        }
    }
    return pixels;
}

// What the element reported, from the streaming thread.
struct Reports {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<guint, guint>> sizes;
    int firstFrames = 0;
    int sourceWidthNotifies = 0;

    template <typename Predicate>
    bool waitFor(Predicate predicate, std::chrono::milliseconds timeout = 5s)
    {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return predicate(*this); });
    }

    void connect(GstElement* render)
    {
        g_signal_connect(render, "size-changed", G_CALLBACK(+[](GstElement*, guint width, guint height, gpointer data) {
                             auto* self = static_cast<Reports*>(data);
                             std::lock_guard lock(self->mutex);
                             self->sizes.emplace_back(width, height);
                             self->changed.notify_all();
                         }),
                         this);
        g_signal_connect(render, "first-frame", G_CALLBACK(+[](GstElement*, gpointer data) {
                             auto* self = static_cast<Reports*>(data);
                             std::lock_guard lock(self->mutex);
                             ++self->firstFrames;
                             self->changed.notify_all();
                         }),
                         this);
        g_signal_connect(render, "notify::source-width", G_CALLBACK(+[](GObject*, GParamSpec*, gpointer data) {
                             auto* self = static_cast<Reports*>(data);
                             std::lock_guard lock(self->mutex);
                             ++self->sourceWidthNotifies;
                             self->changed.notify_all();
                         }),
                         this);
    }
};

guint uintProperty(gpointer object, const char* property)
{
    guint value = 0;
    g_object_get(object, property, &value, nullptr);
    return value;
}

RefPtr<GstElement> makeAppsink()
{
    auto appsink = RefPtr<GstElement>::adopt(gst_element_factory_make("appsink", nullptr));
    auto caps = RefPtr<GstCaps>::adopt(gst_caps_from_string("video/x-raw,format=RGBx"));
    g_object_set(appsink.get(), "caps", caps.get(), "sync", FALSE, nullptr);
    return appsink;
}

class RenderSinkTest : public ::testing::Test {
protected:
    void SetUp() override { gst_init(nullptr, nullptr); }

    void TearDown() override
    {
        if (pipeline) {
            EXPECT_NE(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_FAILURE);
        }
    }

    // appsrc ! callrendersink (width × height, video-sink an RGBx appsink), PLAYING.
    void startWithAppsrc(guint width = kView, guint height = kView)
    {
        pipeline = RefPtr<GstElement>::adopt(gst_pipeline_new(nullptr));
        appsrc = RefPtr<GstElement>::adopt(gst_element_factory_make("appsrc", nullptr));
        render = RefPtr<GstElement>::adopt(gst_element_factory_make("callrendersink", nullptr));
        ASSERT_TRUE(render) << "callrendersink is not registered";
        appsink = makeAppsink();
        g_object_set(appsrc.get(), "format", GST_FORMAT_TIME, nullptr);
        g_object_set(render.get(), "video-sink", appsink.get(), "width", width, "height", height, nullptr);
        reports.connect(render.get());
        gst_bin_add_many(GST_BIN(pipeline.get()), appsrc.get(), render.get(), nullptr);
        ASSERT_TRUE(gst_element_link(appsrc.get(), render.get()));
        ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    }

    // <source> ! callrendersink name=render, with an RGBx appsink as video sink, PLAYING.
    void startWithLaunch(const std::string& description)
    {
        g_autoptr(GError) error = nullptr;
        pipeline = RefPtr<GstElement>::adopt(gst_parse_launch(description.c_str(), &error));
        ASSERT_TRUE(pipeline) << (error ? error->message : "");
        render = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "render"));
        ASSERT_TRUE(render);
        appsink = makeAppsink();
        g_object_set(render.get(), "video-sink", appsink.get(), nullptr);
        reports.connect(render.get());
        ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    }

    // Pushes one frame of the test's picture at width × height (new caps when the size changes).
    void push(int width, int height)
    {
        if (width != pushedWidth || height != pushedHeight) {
            auto caps = RefPtr<GstCaps>::adopt(gst_caps_new_simple(
                "video/x-raw", "format", G_TYPE_STRING, "RGBx", "width", G_TYPE_INT, width, "height", G_TYPE_INT,
                height, "framerate", GST_TYPE_FRACTION, 30, 1, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr));
            g_object_set(appsrc.get(), "caps", caps.get(), nullptr);
            pushedWidth = width;
            pushedHeight = height;
        }
        std::vector<guint8> pixels = drawSource(width, height);
        GstBuffer* buffer = gst_buffer_new_memdup(pixels.data(), pixels.size());
        GST_BUFFER_PTS(buffer) = pushed * GST_SECOND / 30;
        GST_BUFFER_DURATION(buffer) = GST_SECOND / 30;
        ++pushed;
        ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(appsrc.get()), buffer), GST_FLOW_OK);
    }

    // The first error on the pipeline's bus, as text.
    std::string busError() const
    {
        g_autoptr(GstBus) bus = gst_element_get_bus(pipeline.get());
        g_autoptr(GstMessage) message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        if (!message)
            return "no error posted";
        g_autoptr(GError) error = nullptr;
        g_autofree gchar* debug = nullptr;
        gst_message_parse_error(message, &error, &debug);
        return std::string(error->message) + " (" + (debug ? debug : "") + ")";
    }

    // The next frame the video sink got, waiting up to `timeout` for it.
    Frame pull(std::chrono::milliseconds timeout = 5s)
    {
        g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(
            GST_APP_SINK(appsink.get()), GstClockTime(std::chrono::nanoseconds(timeout).count()));
        if (!sample) {
            ADD_FAILURE() << "no frame within " << timeout.count() << " ms: " << busError();
            return {};
        }
        GstVideoInfo info;
        EXPECT_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
        EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_RGBx);
        Frame frame;
        frame.width = GST_VIDEO_INFO_WIDTH(&info);
        frame.height = GST_VIDEO_INFO_HEIGHT(&info);
        GstVideoFrame mapped;
        if (!gst_video_frame_map(&mapped, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
            ADD_FAILURE() << "cannot map the frame";
            return {};
        }
        frame.stride = GST_VIDEO_FRAME_PLANE_STRIDE(&mapped, 0);
        auto* data = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&mapped, 0));
        frame.pixels.assign(data, data + size_t(frame.stride) * frame.height);
        gst_video_frame_unmap(&mapped);
        return frame;
    }

    Frame pushAndPull(int width = 640, int height = 480)
    {
        push(width, height);
        return pull();
    }

    RefPtr<GstElement> pipeline;
    RefPtr<GstElement> appsrc;
    RefPtr<GstElement> render;
    RefPtr<GstElement> appsink;
    Reports reports;
    int pushedWidth = 0;
    int pushedHeight = 0;
    guint64 pushed = 0;
};

// The 640x480 picture fit in a 320x320 view: 320x240, black bars of 40 above and below.
void expectFit(const Frame& frame)
{
    ASSERT_EQ(frame.width, kView);
    ASSERT_EQ(frame.height, kView);
    EXPECT_TRUE(areaIs(frame, 0, 0, 320, 40, Colour::Black)) << "top bar";
    EXPECT_TRUE(areaIs(frame, 0, 40, 40, 280, Colour::Green));
    EXPECT_TRUE(areaIs(frame, 40, 40, 160, 280, Colour::Red));
    EXPECT_TRUE(areaIs(frame, 160, 40, 320, 280, Colour::Blue));
    EXPECT_TRUE(areaIs(frame, 0, 280, 320, 320, Colour::Black)) << "bottom bar";
    // The bars end where the picture starts, to the pixel (but for the scaler's blending).
    EXPECT_EQ(frame.at(100, 40 - kMargin), Colour::Black) << frame.describe(100, 40 - kMargin);
    EXPECT_EQ(frame.at(100, 40 + kMargin), Colour::Red) << frame.describe(100, 40 + kMargin);
    EXPECT_EQ(frame.at(100, 280 - kMargin), Colour::Red) << frame.describe(100, 280 - kMargin);
    EXPECT_EQ(frame.at(100, 280 + kMargin), Colour::Black) << frame.describe(100, 280 + kMargin);
}

// Cropped: the middle 480x480 of the picture fills the view; the green band (x < 80) is cut off,
// and the red/blue boundary (x = 320 of 640) sits in the middle.
void expectCrop(const Frame& frame)
{
    ASSERT_EQ(frame.width, kView);
    ASSERT_EQ(frame.height, kView);
    EXPECT_TRUE(areaIs(frame, 0, 0, 160, 320, Colour::Red));
    EXPECT_TRUE(areaIs(frame, 160, 0, 320, 320, Colour::Blue));
}

// Stretched: the whole picture fills the view, no bars.
void expectStretch(const Frame& frame)
{
    ASSERT_EQ(frame.width, kView);
    ASSERT_EQ(frame.height, kView);
    EXPECT_TRUE(areaIs(frame, 0, 0, 40, 320, Colour::Green));
    EXPECT_TRUE(areaIs(frame, 40, 0, 160, 320, Colour::Red));
    EXPECT_TRUE(areaIs(frame, 160, 0, 320, 320, Colour::Blue));
}

TEST_F(RenderSinkTest, DescribesItself)
{
    auto render = RefPtr<GstElement>::adopt(gst_element_factory_make("callrendersink", nullptr));
    ASSERT_TRUE(render);
    EXPECT_TRUE(GST_IS_BIN(render.get()));
    EXPECT_TRUE(GST_IS_VIDEO_OVERLAY(render.get()));
    EXPECT_STREQ(G_OBJECT_TYPE_NAME(render.get()), "CallRenderSink");

    {
        gint mode = -1;
        gboolean mirrored = TRUE;
        GstElement* videoSink = nullptr;
        g_object_get(render.get(), "scaling-mode", &mode, "mirrored", &mirrored, "video-sink", &videoSink, nullptr);
        EXPECT_EQ(mode, 2);
        EXPECT_FALSE(mirrored);
        EXPECT_EQ(videoSink, nullptr);
        EXPECT_EQ(uintProperty(render.get(), "width"), 0u);
        EXPECT_EQ(uintProperty(render.get(), "height"), 0u);
        EXPECT_EQ(uintProperty(render.get(), "source-width"), 0u);
        EXPECT_EQ(uintProperty(render.get(), "source-height"), 0u);
    }

    GParamSpec* mode = g_object_class_find_property(G_OBJECT_GET_CLASS(render.get()), "scaling-mode");
    ASSERT_NE(mode, nullptr);
    EXPECT_STREQ(g_type_name(mode->value_type), "CallScalingMode");
    GEnumClass* modes = G_ENUM_CLASS(g_type_class_ref(mode->value_type));
    for (const char* nick : {"stretch", "crop", "fit"})
        EXPECT_NE(g_enum_get_value_by_nick(modes, nick), nullptr) << nick;
    g_type_class_unref(modes);
    for (const char* live : {"scaling-mode", "mirrored", "width", "height"}) {
        GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(render.get()), live);
        ASSERT_NE(spec, nullptr) << live;
        EXPECT_TRUE(spec->flags & GST_PARAM_MUTABLE_PLAYING) << live;
    }
    GParamSpec* sourceWidth = g_object_class_find_property(G_OBJECT_GET_CLASS(render.get()), "source-width");
    ASSERT_NE(sourceWidth, nullptr);
    EXPECT_FALSE(sourceWidth->flags & G_PARAM_WRITABLE);

    g_autoptr(GstPad) sink = gst_element_get_static_pad(render.get(), "sink");
    ASSERT_NE(sink, nullptr);
    g_autoptr(GstCaps) template_ = gst_pad_get_pad_template_caps(sink);
    EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(template_, 0), "video/x-raw"));
    EXPECT_EQ(g_signal_lookup("first-frame", G_OBJECT_TYPE(render.get())) != 0, true);
    EXPECT_EQ(g_signal_lookup("size-changed", G_OBJECT_TYPE(render.get())) != 0, true);
}

TEST_F(RenderSinkTest, FitLetterboxesAWiderStream)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    expectFit(pushAndPull());
}

TEST_F(RenderSinkTest, CropFillsTheViewAndCutsBothSides)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "crop");
    expectCrop(pushAndPull());
}

TEST_F(RenderSinkTest, StretchFillsTheViewIgnoringTheAspectRatio)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "stretch");
    expectStretch(pushAndPull());
}

TEST_F(RenderSinkTest, MirroredSwapsLeftAndRight)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    g_object_set(render.get(), "mirrored", TRUE, nullptr);
    Frame frame = pushAndPull();
    ASSERT_EQ(frame.width, kView);
    EXPECT_TRUE(areaIs(frame, 0, 0, 320, 40, Colour::Black));
    EXPECT_TRUE(areaIs(frame, 0, 40, 160, 280, Colour::Blue));
    EXPECT_TRUE(areaIs(frame, 160, 40, 280, 280, Colour::Red));
    EXPECT_TRUE(areaIs(frame, 280, 40, 320, 280, Colour::Green));
    EXPECT_TRUE(areaIs(frame, 0, 280, 320, 320, Colour::Black));
}

TEST_F(RenderSinkTest, LiveChangesShowFromTheNextFrame)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    expectFit(pushAndPull());

    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "crop");
    expectCrop(pushAndPull());

    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "stretch");
    expectStretch(pushAndPull());

    // Mirrored and stretched: green band on the right.
    g_object_set(render.get(), "mirrored", TRUE, nullptr);
    Frame mirrored = pushAndPull();
    EXPECT_TRUE(areaIs(mirrored, 0, 0, 160, 320, Colour::Blue));
    EXPECT_TRUE(areaIs(mirrored, 160, 0, 280, 320, Colour::Red));
    EXPECT_TRUE(areaIs(mirrored, 280, 0, 320, 320, Colour::Green));

    g_object_set(render.get(), "mirrored", FALSE, nullptr);
    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "fit");
    expectFit(pushAndPull());

    // A 16:9 view of 160x90 pillarboxes the 4:3 picture: 120x90, bars of 20 on either side.
    g_object_set(render.get(), "width", 160, "height", 90, nullptr);
    Frame small = pushAndPull();
    ASSERT_EQ(small.width, 160);
    ASSERT_EQ(small.height, 90);
    EXPECT_TRUE(areaIs(small, 0, 0, 20, 90, Colour::Black));
    EXPECT_TRUE(areaIs(small, 20, 0, 35, 90, Colour::Green));
    EXPECT_TRUE(areaIs(small, 35, 0, 80, 90, Colour::Red));
    EXPECT_TRUE(areaIs(small, 80, 0, 140, 90, Colour::Blue));
    EXPECT_TRUE(areaIs(small, 140, 0, 160, 90, Colour::Black));

    // 0x0 follows the stream.
    g_object_set(render.get(), "width", 0, "height", 0, nullptr);
    Frame own = pushAndPull();
    EXPECT_EQ(own.width, 640);
    EXPECT_EQ(own.height, 480);
    EXPECT_TRUE(areaIs(own, 0, 0, 80, 480, Colour::Green));
    EXPECT_TRUE(areaIs(own, 320, 0, 640, 480, Colour::Blue));

    // Only a width: the height follows the stream's aspect ratio.
    g_object_set(render.get(), "width", 320, nullptr);
    Frame half = pushAndPull();
    EXPECT_EQ(half.width, 320);
    EXPECT_EQ(half.height, 240);
    EXPECT_TRUE(areaIs(half, 0, 0, 40, 240, Colour::Green));
}

TEST_F(RenderSinkTest, ReportsTheSourceSizeAndTheFirstFrame)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    for (int i = 0; i < 3; ++i)
        pushAndPull();
    EXPECT_EQ(uintProperty(render.get(), "source-width"), 640u);
    EXPECT_EQ(uintProperty(render.get(), "source-height"), 480u);
    std::lock_guard lock(reports.mutex);
    EXPECT_EQ(reports.sizes, (std::vector<std::pair<guint, guint>>{{640, 480}}));
    EXPECT_EQ(reports.sourceWidthNotifies, 1);
    EXPECT_EQ(reports.firstFrames, 1) << "first-frame is emitted once per stream";
}

TEST_F(RenderSinkTest, KeepsWorkingWhenTheResolutionChangesMidStream)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    expectFit(pushAndPull(640, 480));

    // Portrait now: pillarboxed, 240x320 between bars of 40 left and right; the white band is
    // the top 40 rows of the picture.
    Frame portrait = pushAndPull(480, 640);
    ASSERT_EQ(portrait.width, kView);
    ASSERT_EQ(portrait.height, kView);
    EXPECT_TRUE(areaIs(portrait, 0, 0, 40, 320, Colour::Black));
    EXPECT_TRUE(areaIs(portrait, 40, 0, 280, 40, Colour::White));
    EXPECT_TRUE(areaIs(portrait, 40, 40, 160, 320, Colour::Red));
    EXPECT_TRUE(areaIs(portrait, 160, 40, 280, 320, Colour::Blue));
    EXPECT_TRUE(areaIs(portrait, 280, 0, 320, 320, Colour::Black));
    EXPECT_EQ(uintProperty(render.get(), "source-width"), 480u);
    EXPECT_EQ(uintProperty(render.get(), "source-height"), 640u);

    // Cropped, the portrait picture loses 80 rows at the top (the white band) and the bottom.
    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "crop");
    Frame cropped = pushAndPull(480, 640);
    EXPECT_TRUE(areaIs(cropped, 0, 0, 160, 320, Colour::Red));
    EXPECT_TRUE(areaIs(cropped, 160, 0, 320, 320, Colour::Blue));

    gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", "fit");
    expectFit(pushAndPull(640, 480));

    std::lock_guard lock(reports.mutex);
    EXPECT_EQ(reports.sizes, (std::vector<std::pair<guint, guint>>{{640, 480}, {480, 640}, {640, 480}}));
    EXPECT_EQ(reports.firstFrames, 1);
}

// A live source keeps flowing while the layout changes: every frame shows either the old layout
// or the new one, the new one from the next frames on, and the sink's caps never change.
TEST_F(RenderSinkTest, LiveSourceFlowsThroughModeChanges)
{
    ASSERT_NO_FATAL_FAILURE(startWithLaunch(
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xff00ff00 ! "
        "video/x-raw,format=I420,width=640,height=480,framerate=60/1 ! callrendersink name=render width=320 height=320"));
    auto isFit = [](const Frame& frame) {
        return areaIs(frame, 0, 0, 320, 40, Colour::Black) && areaIs(frame, 0, 40, 320, 280, Colour::Green) &&
               areaIs(frame, 0, 280, 320, 320, Colour::Black);
    };
    auto isFilled = [](const Frame& frame) { return bool(areaIs(frame, 0, 0, 320, 320, Colour::Green)); };

    // Under load the test may read late: appsink keeps only the newest frames.
    g_object_set(appsink.get(), "max-buffers", 2, "drop", TRUE, nullptr);
    Frame first = pull();
    ASSERT_TRUE(isFit(first)) << areaIs(first, 0, 0, 320, 40, Colour::Black).message();
    for (int round = 0; round < 3; ++round) {
        for (const char* mode : {"crop", "fit", "stretch", "fit"}) {
            bool fit = std::string(mode) == "fit";
            gst_util_set_object_arg(G_OBJECT(render.get()), "scaling-mode", mode);
            // Up to three frames went through before the change: two queued in appsink, one on its way.
            int frames = 0;
            bool switched = false;
            while (!switched && frames < 10) {
                Frame frame = pull(2s);
                ASSERT_EQ(frame.width, kView);
                ASSERT_EQ(frame.height, kView);
                ++frames;
                bool asNew = fit ? isFit(frame) : isFilled(frame);
                bool asOld = fit ? isFilled(frame) : isFit(frame);
                ASSERT_TRUE(asNew || asOld) << "a frame with neither layout after switching to " << mode;
                switched = asNew;
            }
            EXPECT_TRUE(switched) << mode << " not shown after " << frames << " frames";
            EXPECT_LE(frames, 4) << mode;
        }
    }
    std::lock_guard lock(reports.mutex);
    EXPECT_EQ(reports.firstFrames, 1);
}

TEST_F(RenderSinkTest, NullPlayingNullTwice)
{
    // Without a display the default video sink is a fakesink.
    g_unsetenv("DISPLAY");
    g_unsetenv("WAYLAND_DISPLAY");
    g_autoptr(GError) error = nullptr;
    pipeline = RefPtr<GstElement>::adopt(
        gst_parse_launch("videotestsrc is-live=true ! video/x-raw,width=320,height=180 ! callrendersink name=render "
                         "width=160 height=160",
                         &error));
    ASSERT_TRUE(pipeline) << (error ? error->message : "");
    render = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "render"));
    reports.connect(render.get());

    for (int run = 1; run <= 2; ++run) {
        ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        EXPECT_TRUE(reports.waitFor([&](Reports& reports) { return reports.firstFrames == run; }))
            << "run " << run << ": " << busError();
        EXPECT_EQ(gst_element_get_state(pipeline.get(), nullptr, nullptr, 5 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(uintProperty(render.get(), "source-width"), 320u);
        EXPECT_EQ(uintProperty(render.get(), "source-height"), 180u);

        GstElement* videoSink = nullptr;
        g_object_get(render.get(), "video-sink", &videoSink, nullptr);
        ASSERT_NE(videoSink, nullptr);
        GstElementFactory* factory = gst_element_get_factory(videoSink);
        EXPECT_STREQ(GST_OBJECT_NAME(factory), "fakesink");
        gst_object_unref(videoSink);

        ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(uintProperty(render.get(), "source-width"), 0u);
        EXPECT_EQ(uintProperty(render.get(), "source-height"), 0u);
    }
    std::lock_guard lock(reports.mutex);
    EXPECT_EQ(reports.firstFrames, 2);
}

TEST_F(RenderSinkTest, TheDocumentedLaunchLineRuns)
{
    g_unsetenv("DISPLAY");
    g_unsetenv("WAYLAND_DISPLAY");
    g_autoptr(GError) error = nullptr;
    // The documentation's example, with an end.
    pipeline = RefPtr<GstElement>::adopt(gst_parse_launch(
        "videotestsrc num-buffers=3 ! callrendersink name=render scaling-mode=crop width=320 height=320", &error));
    ASSERT_TRUE(pipeline) << (error ? error->message : "");
    ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    g_autoptr(GstBus) bus = gst_element_get_bus(pipeline.get());
    g_autoptr(GstMessage) message =
        gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(message, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_EOS);

    render = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "render"));
    gint mode = -1;
    g_object_get(render.get(), "scaling-mode", &mode, nullptr);
    EXPECT_EQ(mode, 1);
}

TEST_F(RenderSinkTest, VideoSinkIsFixedBeyondReady)
{
    ASSERT_NO_FATAL_FAILURE(startWithAppsrc());
    pushAndPull();
    auto other = RefPtr<GstElement>::adopt(gst_element_factory_make("fakesink", nullptr));
    g_object_set(render.get(), "video-sink", other.get(), nullptr);
    GstElement* videoSink = nullptr;
    g_object_get(render.get(), "video-sink", &videoSink, nullptr);
    EXPECT_EQ(videoSink, appsink.get());
    gst_object_unref(videoSink);
    expectFit(pushAndPull());
}

TEST_F(RenderSinkTest, ForwardsTheWindowHandleToTheVideoSink)
{
    auto render = RefPtr<GstElement>::adopt(gst_element_factory_make("callrendersink", nullptr));
    auto sink = RefPtr<GstElement>::adopt(GST_ELEMENT(g_object_new(TEST_TYPE_OVERLAY_SINK, nullptr)));
    g_object_set(render.get(), "video-sink", sink.get(), nullptr);
    gst_video_overlay_set_window_handle(GST_VIDEO_OVERLAY(render.get()), 0x1234);
    EXPECT_EQ(windowHandleOf(sink.get()), 0x1234u);
    gst_video_overlay_set_render_rectangle(GST_VIDEO_OVERLAY(render.get()), 0, 0, 200, 100);
    EXPECT_EQ(renderWidthOf(sink.get()), 200);

    // A sink set later gets the handle too.
    auto next = RefPtr<GstElement>::adopt(GST_ELEMENT(g_object_new(TEST_TYPE_OVERLAY_SINK, nullptr)));
    g_object_set(render.get(), "video-sink", next.get(), nullptr);
    EXPECT_EQ(windowHandleOf(next.get()), 0x1234u);
}

// Like autovideosink, a bin whose overlay appears only once it runs: the overlay asks for a
// window with prepare-window-handle and gets the one the application gave callrendersink; the
// application still sees the message.
TEST_F(RenderSinkTest, AnswersPrepareWindowHandleFromInside)
{
    pipeline = RefPtr<GstElement>::adopt(gst_pipeline_new(nullptr));
    GstElement* source = gst_element_factory_make("videotestsrc", nullptr);
    g_object_set(source, "num-buffers", 1, nullptr);
    render = RefPtr<GstElement>::adopt(gst_element_factory_make("callrendersink", nullptr));
    gst_bin_add_many(GST_BIN(pipeline.get()), source, render.get(), nullptr);
    ASSERT_TRUE(gst_element_link(source, render.get()));

    GstElement* wrapper = gst_bin_new("wrapper");
    // A sink bin says so from the start, as autovideosink does.
    GST_OBJECT_FLAG_SET(wrapper, GST_ELEMENT_FLAG_SINK);
    GstPad* ghost = gst_ghost_pad_new_no_target("sink", GST_PAD_SINK);
    gst_element_add_pad(wrapper, ghost);
    g_object_set(render.get(), "video-sink", wrapper, nullptr);
    gst_video_overlay_set_window_handle(GST_VIDEO_OVERLAY(render.get()), 0xbeef);

    auto overlay = RefPtr<GstElement>::ref(GST_ELEMENT(g_object_new(TEST_TYPE_OVERLAY_SINK, nullptr)));
    gst_bin_add(GST_BIN(wrapper), overlay.get());
    g_autoptr(GstPad) overlaySink = gst_element_get_static_pad(overlay.get(), "sink");
    ASSERT_TRUE(gst_ghost_pad_set_target(GST_GHOST_PAD(ghost), overlaySink));
    EXPECT_EQ(windowHandleOf(overlay.get()), 0u);

    ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    g_autoptr(GstBus) bus = gst_element_get_bus(pipeline.get());
    bool asked = false;
    while (GstMessage* message = gst_bus_timed_pop_filtered(
               bus, 10 * GST_SECOND, GstMessageType(GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
        GstMessageType type = GST_MESSAGE_TYPE(message);
        asked = asked || gst_is_video_overlay_prepare_window_handle_message(message);
        gst_message_unref(message);
        if (type != GST_MESSAGE_ELEMENT) {
            EXPECT_EQ(type, GST_MESSAGE_EOS);
            break;
        }
    }
    EXPECT_TRUE(asked) << "prepare-window-handle did not reach the application";
    EXPECT_EQ(windowHandleOf(overlay.get()), 0xbeefu);
}

}  // namespace
