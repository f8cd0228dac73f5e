// callbin: the element's interface, and two callbins in one process calling each other over real
// webrtcbin on loopback, wired by a loopback signaller. Each side sends a tone; each must decode
// the other side's tone, hear silence while the other is muted, and tear down without leaking fds.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include "tone_meter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <dirent.h>
#include <functional>
#include <memory>
#include <mutex>
#include <numbers>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gstreamer/ref_ptr.h"
#include "loopback_signaller.h"
#include "main_loop.h"

using calling::detail::RefPtr;
using namespace std::chrono_literals;

namespace {

constexpr int kRate = 48000;
constexpr size_t kWindow = kRate / 10;  // 100 ms of decoded audio is analysed at a time
constexpr const char* kAlice = "8:acs:res_00000000-0000-0000-0000-00000000a11c";
constexpr const char* kBob = "8:acs:res_00000000-0000-0000-0000-000000000b0b";
constexpr const char* kAlicePad = "audio_8_acs_res_00000000-0000-0000-0000-00000000a11c";
constexpr const char* kBobPad = "audio_8_acs_res_00000000-0000-0000-0000-000000000b0b";

using calling::test::goertzelPower;
using calling::test::rms;

int countEntries(const char* directory)
{
    int count = 0;
    if (DIR* dir = opendir(directory)) {
        while (dirent* entry = readdir(dir)) {
            if (entry->d_name[0] != '.')
                ++count;
        }
        closedir(dir);
    }
    return count;
}

// Minus the one that reads the directory.
int openFds()
{
    return countEntries("/proc/self/fd") - 1;
}

int threads()
{
    return countEntries("/proc/self/task");
}

// Wakes the waiting test thread whenever something it waits for may have happened.
struct Waker {
    GMainContext* context;
    void operator()() const { g_main_context_wakeup(context); }
};

// What one side decodes of the other: the latest window of samples and how many came in total.
class Listener {
public:
    explicit Listener(Waker waker) : waker_(waker) {}

    void add(const float* samples, size_t count)
    {
        {
            std::lock_guard lock(mutex_);
            for (size_t i = 0; i < count; ++i) {
                window_.push_back(samples[i]);
                if (window_.size() > kWindow)
                    window_.pop_front();
            }
            total_ += count;
        }
        waker_();
    }

    // The last window, once it is full.
    std::vector<float> window() const
    {
        std::lock_guard lock(mutex_);
        if (window_.size() < kWindow)
            return {};
        return {window_.begin(), window_.end()};
    }

    void reset()
    {
        std::lock_guard lock(mutex_);
        window_.clear();
        total_ = 0;
    }

    size_t total() const
    {
        std::lock_guard lock(mutex_);
        return total_;
    }

    // The tone at `expected` dominates the other tone and frequencies around it.
    bool hears(double expected, double other) const
    {
        std::vector<float> samples = window();
        if (samples.empty() || rms(samples) < 0.05)
            return false;
        double target = goertzelPower(samples, expected);
        for (double probe : {other, expected * 0.5, expected * 0.8, expected * 1.25, expected * 2.5}) {
            if (target < 20 * goertzelPower(samples, probe))
                return false;
        }
        return true;
    }

    // The last window is digital silence (what Opus makes of zeros).
    bool hearsSilence() const
    {
        std::vector<float> samples = window();
        return !samples.empty() && rms(samples) < 1e-3;
    }

    std::string describe(double expected, double other) const
    {
        std::vector<float> samples = window();
        if (samples.empty())
            return "fewer than " + std::to_string(kWindow) + " samples decoded (" + std::to_string(total()) + ")";
        return "rms " + std::to_string(rms(samples)) + ", power at " + std::to_string(expected) + " Hz " +
               std::to_string(goertzelPower(samples, expected)) + ", at " + std::to_string(other) + " Hz " +
               std::to_string(goertzelPower(samples, other));
    }

private:
    Waker waker_;
    mutable std::mutex mutex_;
    std::deque<float> window_;
    size_t total_ = 0;
};

constexpr double kReceiveOnly = 0;

// What a side sends as video: a solid colour (0xRRGGBB) at a size.
struct VideoSpec {
    int width = 0;
    int height = 0;
    guint32 rgb = 0;
};

// What one side decodes of the other's video: frames, their size and the centre pixel.
class Viewer {
public:
    explicit Viewer(Waker waker) : waker_(waker) {}

    void add(int width, int height, guint32 centre)
    {
        {
            std::lock_guard lock(mutex_);
            ++frames_;
            width_ = width;
            height_ = height;
            centre_ = centre;
        }
        waker_();
    }

    size_t frames() const
    {
        std::lock_guard lock(mutex_);
        return frames_;
    }

    // The last frame has the size and, in its centre, the colour (each channel within 24).
    bool sees(const VideoSpec& expected) const
    {
        std::lock_guard lock(mutex_);
        if (frames_ == 0 || width_ != expected.width || height_ != expected.height)
            return false;
        for (int shift : {16, 8, 0}) {
            int got = int((centre_ >> shift) & 0xff);
            int want = int((expected.rgb >> shift) & 0xff);
            if (std::abs(got - want) > 24)
                return false;
        }
        return true;
    }

    std::string describe() const
    {
        std::lock_guard lock(mutex_);
        char centre[16];
        snprintf(centre, sizeof centre, "%06x", centre_);
        return std::to_string(frames_) + " frames, the last " + std::to_string(width_) + "x" +
               std::to_string(height_) + " with 0x" + centre + " in its centre";
    }

private:
    Waker waker_;
    mutable std::mutex mutex_;
    size_t frames_ = 0;
    int width_ = 0;
    int height_ = 0;
    guint32 centre_ = 0;
};

// One side of the call: audiotestsrc ! callbin (or callbin alone, receive-only), optionally a
// videotestsrc of a solid colour too, and each remote pad decoded into a Listener or a Viewer.
struct Endpoint {
    Endpoint(const char* name, double frequency, CallSignaller* signaller, Waker waker, VideoSpec video = {})
        : listener(waker), viewer(waker), waker(waker)
    {
        std::string description = "audiotestsrc is-live=true wave=sine volume=0.5 freq=" + std::to_string(frequency) +
                                  " ! callbin name=call";
        if (frequency == kReceiveOnly)
            description = "pipeline. ( callbin name=call )";
        if (video.width > 0) {
            char colour[16];
            snprintf(colour, sizeof colour, "0xff%06x", video.rgb);
            description += " videotestsrc is-live=true pattern=solid-color foreground-color=" + std::string(colour) +
                           " ! video/x-raw,width=" + std::to_string(video.width) +
                           ",height=" + std::to_string(video.height) + ",framerate=30/1 ! call.video_0";
        }
        g_autoptr(GError) error = nullptr;
        pipeline = RefPtr<GstElement>::adopt(gst_parse_launch(description.c_str(), &error));
        EXPECT_TRUE(pipeline) << (error ? error->message : "");
        gst_object_set_name(GST_OBJECT(pipeline.get()), name);
        callbin = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "call"));
        g_object_set(callbin.get(), "signaller", signaller, nullptr);
        g_signal_connect(callbin.get(), "pad-added", G_CALLBACK(onPadAdded), this);
        g_signal_connect(callbin.get(), "participant-stream-ended", G_CALLBACK(onStreamEnded), this);
    }

    ~Endpoint()
    {
        if (pipeline)
            gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    }

    static void onPadAdded(GstElement*, GstPad* pad, gpointer data)
    {
        auto* self = static_cast<Endpoint*>(data);
        if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
            return;
        {
            std::lock_guard lock(self->mutex);
            self->padNames.push_back(GST_PAD_NAME(pad));
            g_autofree gchar* participant = nullptr;
            g_autofree gchar* displayName = nullptr;
            g_object_get(pad, "participant-id", &participant, "display-name", &displayName, nullptr);
            self->participantIds.push_back(participant ? participant : "");
            self->displayNames.push_back(displayName ? displayName : "");
        }
        if (g_str_has_prefix(GST_PAD_NAME(pad), "video_")) {
            self->linkVideo(pad);
            return;
        }
        // The application's part: decode, here to float samples for analysis.
        g_autoptr(GError) error = nullptr;
        GstElement* decoder = gst_parse_bin_from_description(
            "opusdec ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! "
            "appsink name=sink sync=false async=false",
            TRUE, &error);
        ASSERT_NE(decoder, nullptr) << error->message;
        g_autoptr(GstElement) sink = gst_bin_get_by_name(GST_BIN(decoder), "sink");
        GstAppSinkCallbacks callbacks = {};
        callbacks.new_sample = [](GstAppSink* appsink, gpointer data) {
            g_autoptr(GstSample) sample = gst_app_sink_pull_sample(appsink);
            GstMapInfo map;
            if (sample && gst_buffer_map(gst_sample_get_buffer(sample), &map, GST_MAP_READ)) {
                static_cast<Endpoint*>(data)->listener.add(reinterpret_cast<const float*>(map.data),
                                                           map.size / sizeof(float));
                gst_buffer_unmap(gst_sample_get_buffer(sample), &map);
            }
            return GST_FLOW_OK;
        };
        callbacks.eos = [](GstAppSink*, gpointer data) {
            auto* self = static_cast<Endpoint*>(data);
            self->sawEos = true;
            self->waker();
        };
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, self, nullptr);
        gst_bin_add(GST_BIN(self->pipeline.get()), decoder);
        gst_element_sync_state_with_parent(decoder);
        g_autoptr(GstPad) decoderSink = gst_element_get_static_pad(decoder, "sink");
        EXPECT_EQ(gst_pad_link(pad, decoderSink), GST_PAD_LINK_OK);
        self->waker();
    }

    // Decodes a remote video pad to RGB frames for the Viewer.
    void linkVideo(GstPad* pad)
    {
        // The codec (VP8 or H.264) is known only once data comes: decodebin picks the decoder. A
        // stream that never came (stream-id none-video) has no caps at all, only EOS, which
        // decodebin would not pass on: a decoder of no consequence takes it.
        g_autofree gchar* streamId = nullptr;
        g_object_get(pad, "stream-id", &streamId, nullptr);
        bool missing = g_str_has_prefix(streamId, "none-");
        g_autoptr(GError) error = nullptr;
        GstElement* decoder = gst_parse_bin_from_description(
            (std::string("queue name=queue ! ") + (missing ? "vp8dec" : "decodebin") +
             " ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false async=false")
                .c_str(),
            FALSE, &error);
        ASSERT_NE(decoder, nullptr) << error->message;
        // Ghosted here: the parser would pick videoconvert's sink, unlinked until decodebin has
        // its pad.
        g_autoptr(GstElement) queue = gst_bin_get_by_name(GST_BIN(decoder), "queue");
        g_autoptr(GstPad) queueSink = gst_element_get_static_pad(queue, "sink");
        gst_element_add_pad(decoder, gst_ghost_pad_new("sink", queueSink));
        g_autoptr(GstElement) sink = gst_bin_get_by_name(GST_BIN(decoder), "sink");
        GstAppSinkCallbacks callbacks = {};
        callbacks.new_sample = [](GstAppSink* appsink, gpointer data) {
            g_autoptr(GstSample) sample = gst_app_sink_pull_sample(appsink);
            if (!sample)
                return GST_FLOW_OK;
            const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
            int width = 0, height = 0;
            gst_structure_get_int(caps, "width", &width);
            gst_structure_get_int(caps, "height", &height);
            GstMapInfo map;
            if (width > 0 && height > 0 && gst_buffer_map(gst_sample_get_buffer(sample), &map, GST_MAP_READ)) {
                size_t stride = (size_t(width) * 3 + 3) & ~size_t(3);  // GStreamer's RGB rows
                const guint8* pixel = map.data + size_t(height / 2) * stride + size_t(width / 2) * 3;
                if (pixel + 3 <= map.data + map.size)
                    static_cast<Endpoint*>(data)->viewer.add(width, height,
                                                             guint32(pixel[0]) << 16 | guint32(pixel[1]) << 8 | pixel[2]);
                gst_buffer_unmap(gst_sample_get_buffer(sample), &map);
            }
            return GST_FLOW_OK;
        };
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, this, nullptr);
        gst_bin_add(GST_BIN(pipeline.get()), decoder);
        gst_element_sync_state_with_parent(decoder);
        g_autoptr(GstPad) decoderSink = gst_element_get_static_pad(decoder, "sink");
        EXPECT_EQ(gst_pad_link(pad, decoderSink), GST_PAD_LINK_OK);
        waker();
    }

    static void onStreamEnded(GstElement*, const gchar* participantId, const gchar* padName, gpointer data)
    {
        auto* self = static_cast<Endpoint*>(data);
        {
            std::lock_guard lock(self->mutex);
            self->endedStreams.push_back(std::string(participantId) + " " + padName);
        }
        self->waker();
    }

    // Does what an application's bus handler does, and returns the first error posted, as text.
    // Latency changes when callbin's network sinks come up and when decoders are linked; the
    // pipeline's EOS is noted in pipelineEos.
    std::string error() const
    {
        g_autoptr(GstBus) bus = gst_element_get_bus(pipeline.get());
        while (GstMessage* message = gst_bus_pop(bus)) {
            switch (GST_MESSAGE_TYPE(message)) {
            case GST_MESSAGE_LATENCY:
                gst_bin_recalculate_latency(GST_BIN(pipeline.get()));
                break;
            case GST_MESSAGE_EOS:
                pipelineEos = true;
                break;
            case GST_MESSAGE_ERROR:
                if (firstError.empty()) {
                    g_autoptr(GError) error = nullptr;
                    g_autofree gchar* debug = nullptr;
                    gst_message_parse_error(message, &error, &debug);
                    firstError = std::string(GST_OBJECT_NAME(pipeline.get())) + ": " + error->message + " (" +
                                 (debug ? debug : "") + ")";
                }
                break;
            default:
                break;
            }
            gst_message_unref(message);
        }
        return firstError;
    }

    mutable bool pipelineEos = false;
    mutable std::string firstError;

    RefPtr<GstElement> pipeline;
    RefPtr<GstElement> callbin;
    Listener listener;
    Viewer viewer;
    Waker waker;
    std::atomic<bool> sawEos = false;
    std::mutex mutex;
    std::vector<std::string> padNames;
    std::vector<std::string> participantIds;
    std::vector<std::string> displayNames;
    std::vector<std::string> endedStreams;
};

class CallBinTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context = g_main_context_new();
    }

    void TearDown() override
    {
        // Messages still queued for the signallers hold references to them.
        while (g_main_context_iteration(context, FALSE)) {
        }
        g_main_context_unref(context);
    }

    Waker waker() const { return Waker{context}; }

    // Iterates the signallers' context until `done` holds, an endpoint posts an error, or the
    // deadline passes. Endpoints wake the context whenever they receive something.
    ::testing::AssertionResult waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                                       std::initializer_list<const Endpoint*> endpoints)
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        GSource* timer = g_timeout_source_new(guint(timeout.count()));
        g_source_set_callback(timer, [](gpointer) { return gboolean(G_SOURCE_REMOVE); }, nullptr, nullptr);
        g_source_attach(timer, context);
        ::testing::AssertionResult result = ::testing::AssertionSuccess();
        while (!done()) {
            for (const Endpoint* endpoint : endpoints) {
                if (std::string error = endpoint->error(); !error.empty()) {
                    result = ::testing::AssertionFailure() << error;
                    break;
                }
            }
            if (!result)
                break;
            if (std::chrono::steady_clock::now() >= deadline) {
                result = ::testing::AssertionFailure() << "timed out after " << timeout.count() << " ms";
                break;
            }
            g_main_context_iteration(context, TRUE);
        }
        g_source_destroy(timer);
        g_source_unref(timer);
        return result;
    }

    // Alice (440 Hz) calls Bob (1000 Hz); returns once each decodes the other's tone (a side that
    // sends nothing expects to decode nothing).
    void connect(Endpoint& alice, Endpoint& bob, CallSignaller* aliceSignaller, bool aliceSends = true,
                 bool bobSends = true)
    {
        ASSERT_NE(gst_element_set_state(alice.pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        ASSERT_NE(gst_element_set_state(bob.pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        // calling-server would tell the caller to offer once the callee accepted.
        call_signaller_emit_session_requested(aliceSignaller, kBob, "Bob");
        ASSERT_TRUE(waitFor(
            20s,
            [&] {
                return (!bobSends || alice.listener.hears(1000, 440)) && (!aliceSends || bob.listener.hears(440, 1000));
            },
            {&alice, &bob}))
            << "Alice decodes " << alice.listener.describe(1000, 440) << "; Bob decodes "
            << bob.listener.describe(440, 1000);
    }

    GMainContext* context = nullptr;
};

// What an endpoint's remote video pad carries, as its caps' name ("video/x-vp8"); "" without one.
std::string remoteVideoCodec(const Endpoint& endpoint)
{
    std::string codec;
    GstIterator* pads = gst_element_iterate_src_pads(endpoint.callbin.get());
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(pads, &item) == GST_ITERATOR_OK) {
        auto* pad = GST_PAD(g_value_get_object(&item));
        g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
        if (g_str_has_prefix(GST_PAD_NAME(pad), "video_") && caps && !gst_caps_is_empty(caps))
            codec = gst_structure_get_name(gst_caps_get_structure(caps, 0));
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(pads);
    return codec;
}

TEST_F(CallBinTest, DescribesItselfForGstInspect)
{
    g_autoptr(GstElementFactory) factory = gst_element_factory_find("callbin");
    ASSERT_NE(factory, nullptr);
    EXPECT_NE(std::string(gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION)), "");

    RefPtr<GstElement> callbin = RefPtr<GstElement>::adopt(gst_element_factory_make("callbin", nullptr));
    ASSERT_TRUE(callbin);
    struct Expected {
        const char* name;
        GType type;
    };
    for (Expected expected : {Expected{"signaller", CALL_TYPE_SIGNALLER}, Expected{"latency", G_TYPE_UINT},
                              Expected{"muted", G_TYPE_BOOLEAN}, Expected{"stun-server", G_TYPE_STRING},
                              Expected{"peer-id", G_TYPE_STRING}}) {
        GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(callbin.get()), expected.name);
        ASSERT_NE(spec, nullptr) << expected.name;
        EXPECT_TRUE(g_type_is_a(spec->value_type, expected.type)) << expected.name;
        EXPECT_NE(std::string(g_param_spec_get_blurb(spec)), "") << expected.name;
    }
    guint latency = 0;
    gboolean muted = TRUE;
    g_object_get(callbin.get(), "latency", &latency, "muted", &muted, nullptr);
    EXPECT_LE(latency, 100u) << "a call's jitterbuffer should be short";
    EXPECT_FALSE(muted);
    GParamSpec* mutedSpec = g_object_class_find_property(G_OBJECT_GET_CLASS(callbin.get()), "muted");
    EXPECT_TRUE(mutedSpec->flags & GST_PARAM_MUTABLE_PLAYING) << "mute must work during a call";

    GstPadTemplate* sink = gst_element_get_pad_template(callbin.get(), "audio_%u");
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(GST_PAD_TEMPLATE_PRESENCE(sink), GST_PAD_REQUEST);
    EXPECT_EQ(GST_PAD_TEMPLATE_DIRECTION(sink), GST_PAD_SINK);
    g_autoptr(GstCaps) raw = gst_caps_from_string("audio/x-raw");
    EXPECT_TRUE(gst_caps_can_intersect(GST_PAD_TEMPLATE_CAPS(sink), raw));
    GstPadTemplate* videoSink = gst_element_get_pad_template(callbin.get(), "video_%u");
    ASSERT_NE(videoSink, nullptr);
    EXPECT_EQ(GST_PAD_TEMPLATE_PRESENCE(videoSink), GST_PAD_REQUEST);
    g_autoptr(GstCaps) rawVideo = gst_caps_from_string("video/x-raw");
    EXPECT_TRUE(gst_caps_can_intersect(GST_PAD_TEMPLATE_CAPS(videoSink), rawVideo));
    GstPadTemplate* videoSrc = gst_element_get_pad_template(callbin.get(), "video_%s");
    ASSERT_NE(videoSrc, nullptr);
    g_autoptr(GstCaps) encodedVideo =
        gst_caps_from_string("video/x-vp8; video/x-h264, stream-format=avc, alignment=au");
    EXPECT_TRUE(gst_caps_is_subset(GST_PAD_TEMPLATE_CAPS(videoSrc), encodedVideo));
    g_autoptr(GstCaps) h264 = gst_caps_from_string("video/x-h264");
    EXPECT_TRUE(gst_caps_can_intersect(GST_PAD_TEMPLATE_CAPS(videoSrc), h264)) << "H.264 comes out as it arrives";
    GstPadTemplate* src = gst_element_get_pad_template(callbin.get(), "audio_%s");
    ASSERT_NE(src, nullptr);
    EXPECT_EQ(GST_PAD_TEMPLATE_PRESENCE(src), GST_PAD_SOMETIMES);
    g_autoptr(GstCaps) opus = gst_caps_from_string("audio/x-opus");
    EXPECT_TRUE(gst_caps_is_subset(GST_PAD_TEMPLATE_CAPS(src), opus)) << "remote streams come out encoded";
    EXPECT_NE(g_signal_lookup("participant-stream-ended", G_OBJECT_TYPE(callbin.get())), 0u);
}

TEST_F(CallBinTest, MakesASignallerOfItsOwnFromServerSettingsAndShowsItAsAChild)
{
    // As gst-launch-1.0 would: signaller::target is set once the child appears, on NULL to READY.
    // (A line of one element parses to that element.)
    g_autoptr(GError) error = nullptr;
    auto pipeline = RefPtr<GstElement>::adopt(gst_parse_launch(
        "callbin name=call server-url=http://127.0.0.1:9/ access-token=secret signaller::target=8:acs:r_b "
        "signaller::ca-file=/nonexistent.pem display-name=Alice",
        &error));
    ASSERT_TRUE(pipeline) << (error ? error->message : "");
    GstElement* call = pipeline.get();
    ASSERT_STREQ(GST_OBJECT_NAME(call), "call");
    ASSERT_TRUE(GST_IS_CHILD_PROXY(call));
    g_autoptr(GObject) none = gst_child_proxy_get_child_by_name(GST_CHILD_PROXY(call), "signaller");
    EXPECT_EQ(none, nullptr) << "made on NULL to READY, not before";

    GParamSpec* token = g_object_class_find_property(G_OBJECT_GET_CLASS(call), "access-token");
    ASSERT_NE(token, nullptr);
    EXPECT_FALSE(token->flags & G_PARAM_READABLE) << "the token must never be readable";
    for (const char* name : {"server-url", "target", "display-name"})
        EXPECT_NE(g_object_class_find_property(G_OBJECT_GET_CLASS(call), name), nullptr) << name;

    // READY only: the signaller connects on the way to PAUSED.
    ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    g_autoptr(GObject) signaller = gst_child_proxy_get_child_by_name(GST_CHILD_PROXY(call), "signaller");
    ASSERT_NE(signaller, nullptr);
    EXPECT_STREQ(G_OBJECT_TYPE_NAME(signaller), "CallServerSignaller");
    EXPECT_TRUE(CALL_IS_SIGNALLER(signaller));
    g_autoptr(GObject) property = nullptr;
    g_object_get(call, "signaller", &property, nullptr);
    EXPECT_EQ(property, signaller);
    g_autofree gchar* url = nullptr;
    g_autofree gchar* target = nullptr;
    g_autofree gchar* displayName = nullptr;
    g_autofree gchar* caFile = nullptr;
    g_object_get(signaller, "server-url", &url, "target", &target, "display-name", &displayName, "ca-file", &caFile,
                 nullptr);
    EXPECT_STREQ(url, "http://127.0.0.1:9/");
    EXPECT_STREQ(target, "8:acs:r_b");
    EXPECT_STREQ(displayName, "Alice");
    EXPECT_STREQ(caFile, "/nonexistent.pem");
    // callbin's own settings follow to the signaller it made.
    g_object_set(call, "display-name", "Alice B.", nullptr);
    g_autofree gchar* renamed = nullptr;
    g_object_get(signaller, "display-name", &renamed, nullptr);
    EXPECT_STREQ(renamed, "Alice B.");
    // The children are the bin's elements and then the signaller.
    guint count = gst_child_proxy_get_children_count(GST_CHILD_PROXY(call));
    g_autoptr(GObject) last = gst_child_proxy_get_child_by_index(GST_CHILD_PROXY(call), count - 1);
    EXPECT_EQ(last, signaller);
    ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

TEST_F(CallBinTest, MakesNoSignallerWithoutServerSettings)
{
    RefPtr<GstElement> callbin = RefPtr<GstElement>::adopt(gst_element_factory_make("callbin", nullptr));
    ASSERT_EQ(gst_element_set_state(callbin.get(), GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    g_autoptr(GObject) signaller = nullptr;
    g_object_get(callbin.get(), "signaller", &signaller, nullptr);
    EXPECT_EQ(signaller, nullptr);
    ASSERT_EQ(gst_element_set_state(callbin.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

TEST_F(CallBinTest, ConfiguresWebrtcbinForCalls)
{
    RefPtr<GstElement> callbin = RefPtr<GstElement>::adopt(gst_element_factory_make("callbin", nullptr));
    g_object_set(callbin.get(), "latency", 60u, nullptr);
    g_autoptr(GstPad) audio = gst_element_request_pad_simple(callbin.get(), "audio_%u");
    ASSERT_NE(audio, nullptr);
    EXPECT_STREQ(GST_PAD_NAME(audio), "audio_0");
    ASSERT_EQ(gst_element_set_state(callbin.get(), GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);

    g_autoptr(GstElement) webrtc = gst_bin_get_by_name(GST_BIN(callbin.get()), "webrtc");
    ASSERT_NE(webrtc, nullptr);
    GstWebRTCBundlePolicy bundle = GST_WEBRTC_BUNDLE_POLICY_NONE;
    guint latency = 0;
    g_object_get(webrtc, "bundle-policy", &bundle, "latency", &latency, nullptr);
    EXPECT_EQ(bundle, GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE);
    EXPECT_EQ(latency, 60u);
    g_autoptr(GObject) ice = nullptr;
    g_object_get(webrtc, "ice-agent", &ice, nullptr);
    g_autoptr(GObject) agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    gboolean upnp = TRUE;
    g_object_get(agent, "upnp", &upnp, nullptr);
    EXPECT_FALSE(upnp) << "no UPnP port mapping behind the user's back";

    // The transceiver exists before any offer and sends and receives; audio has no NACK (browsers
    // refuse audio RTX).
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    ASSERT_NE(transceivers, nullptr);
    ASSERT_EQ(transceivers->len, 1u);
    auto* transceiver = g_array_index(transceivers, GstWebRTCRTPTransceiver*, 0);
    GstWebRTCRTPTransceiverDirection direction = GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE;
    gboolean nack = FALSE;
    g_object_get(transceiver, "direction", &direction, "do-nack", &nack, nullptr);
    EXPECT_EQ(direction, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV);
    EXPECT_FALSE(nack);
    g_array_unref(transceivers);

    gst_element_release_request_pad(callbin.get(), audio);
    ASSERT_EQ(gst_element_set_state(callbin.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

TEST_F(CallBinTest, NullPlayingNull)
{
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    for (int round = 0; round < 3; ++round) {
        Endpoint alone("alone", 440, pair.a.get(), waker());
        ASSERT_NE(gst_element_set_state(alone.pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        GstState state = GST_STATE_NULL;
        ASSERT_EQ(gst_element_get_state(alone.pipeline.get(), &state, nullptr, 5 * GST_SECOND),
                  GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(state, GST_STATE_PLAYING);
        EXPECT_TRUE(calling::test::loopbackCounts(pair.a.get()).started) << "started on the way to PAUSED";
        ASSERT_EQ(gst_element_set_state(alone.pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        EXPECT_FALSE(calling::test::loopbackCounts(pair.a.get()).started) << "stopped on the way to READY";
        EXPECT_EQ(alone.error(), "");
    }
}

TEST_F(CallBinTest, IsALiveSourceSoARecorderReachesPlayingBeforeTheCall)
{
    // A recorder that sends nothing: its sink waits for remote media that only a call brings. As a
    // live source, callbin tells the pipeline not to wait for it to preroll.
    g_autoptr(GError) error = nullptr;
    auto pipeline = RefPtr<GstElement>::adopt(
        gst_parse_launch("callbin name=call call. ! queue ! fakesink name=recorder", &error));
    ASSERT_TRUE(pipeline) << (error ? error->message : "");
    EXPECT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
    // callbin (and webrtcbin in it) plays at once; the recorder completes its state change when the
    // first remote buffer comes, as sinks in any live pipeline do.
    ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    g_autoptr(GstElement) call = gst_bin_get_by_name(GST_BIN(pipeline.get()), "call");
    GstState state = GST_STATE_NULL;
    EXPECT_EQ(gst_element_get_state(call, &state, nullptr, 5 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    EXPECT_EQ(state, GST_STATE_PLAYING);
    EXPECT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
    ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

TEST_F(CallBinTest, TwoCallbinsHearEachOtherAndMuteSilencesTheFarEnd)
{
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker());
    Endpoint bob("bob", 1000, pair.b.get(), waker());
    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;

    {
        std::lock_guard aliceLock(alice.mutex);
        std::lock_guard bobLock(bob.mutex);
        ASSERT_EQ(alice.padNames, std::vector<std::string>{kBobPad});
        ASSERT_EQ(bob.padNames, std::vector<std::string>{kAlicePad});
        EXPECT_EQ(alice.participantIds, std::vector<std::string>{kBob});
        EXPECT_EQ(bob.participantIds, std::vector<std::string>{kAlice});
        EXPECT_EQ(alice.displayNames, std::vector<std::string>{"Bob"}) << "the offerer knows the peer's name";
    }
    g_autofree gchar* peer = nullptr;
    g_object_get(bob.callbin.get(), "peer-id", &peer, nullptr);
    EXPECT_STREQ(peer, kAlice);

    // Alice mutes: Bob hears digital silence, Alice still hears Bob.
    g_object_set(alice.callbin.get(), "muted", TRUE, nullptr);
    ASSERT_TRUE(waitFor(5s, [&] { return bob.listener.hearsSilence(); }, {&alice, &bob}))
        << "Bob decodes " << bob.listener.describe(440, 1000);
    size_t before = alice.listener.total();
    ASSERT_TRUE(waitFor(5s, [&] { return alice.listener.total() > before + kWindow; }, {&alice, &bob}));
    EXPECT_TRUE(alice.listener.hears(1000, 440)) << alice.listener.describe(1000, 440);

    // And unmutes: the tone comes back.
    g_object_set(alice.callbin.get(), "muted", FALSE, nullptr);
    ASSERT_TRUE(waitFor(5s, [&] { return bob.listener.hears(440, 1000); }, {&alice, &bob}))
        << "Bob decodes " << bob.listener.describe(440, 1000);

    // Bob leaves: Alice's stream of Bob ends as a gap, not an EOS.
    call_signaller_emit_session_ended(pair.a.get(), kBob);
    ASSERT_TRUE(waitFor(
        5s,
        [&] {
            std::lock_guard lock(alice.mutex);
            return !alice.endedStreams.empty();
        },
        {&alice, &bob}));
    {
        std::lock_guard lock(alice.mutex);
        EXPECT_EQ(alice.endedStreams, std::vector<std::string>{std::string(kBob) + " " + kBobPad});
    }
    EXPECT_FALSE(alice.sawEos);

    // EOS sent to the pipeline (as `gst-launch-1.0 -e` does) ends the remote streams for real, so
    // a recorder can finalize, and then the pipeline.
    ASSERT_TRUE(gst_element_send_event(alice.pipeline.get(), gst_event_new_eos()));
    ASSERT_TRUE(waitFor(5s, [&] { return alice.sawEos.load(); }, {&alice, &bob}));
    // The pipeline's EOS is a message on the bus, which nothing wakes the context for.
    EXPECT_TRUE(calling::test::iterateUntil(context, [&] {
        alice.error();
        return alice.pipelineEos;
    }, 5s))
        << "the pipeline never ended";
    // Bob sent no video: his video pad came then, empty and ended at once, so that a branch
    // waiting for it (a muxer's video track) ends too.
    std::lock_guard lock(alice.mutex);
    EXPECT_EQ(alice.padNames, (std::vector<std::string>{kBobPad, std::string("video") + (kBobPad + 5)}));
}

// Watches a callbin's video encoder (vp8enc or openh264enc, made when the call settles on its
// codec): the keyframes it makes and the keyframe requests it gets. `onEncoder` may probe it too.
struct EncoderWatch {
    explicit EncoderWatch(GstElement* callbin, GstPadProbeCallback onEncoder = nullptr) : onEncoder_(onEncoder)
    {
        g_signal_connect(callbin, "element-added", G_CALLBACK(onElementAdded), this);
        callbin_ = RefPtr<GstElement>::ref(callbin);
    }

    ~EncoderWatch() { g_signal_handlers_disconnect_by_data(callbin_.get(), this); }

    // From the signaller's thread, as callbin adds the encoder, before any frame reaches it.
    static void onElementAdded(GstBin*, GstElement* element, gpointer data)
    {
        auto* self = static_cast<EncoderWatch*>(data);
        GstElementFactory* factory = gst_element_get_factory(element);
        const char* name = factory ? GST_OBJECT_NAME(factory) : "";
        if (!g_str_equal(name, "vp8enc") && !g_str_equal(name, "openh264enc"))
            return;
        {
            std::lock_guard lock(self->mutex_);
            self->encoder_ = RefPtr<GstElement>::ref(element);
        }
        g_autoptr(GstPad) src = gst_element_get_static_pad(element, "src");
        gst_pad_add_probe(src, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_UPSTREAM),
                          onProbe, self, nullptr);
        if (self->onEncoder_)
            gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, self->onEncoder_, self, nullptr);
    }

    // The factory of the encoder callbin made, or "" before it made one.
    std::string factory() const
    {
        std::lock_guard lock(mutex_);
        return encoder_ ? GST_OBJECT_NAME(gst_element_get_factory(encoder_.get())) : "";
    }

    static GstPadProbeReturn onProbe(GstPad*, GstPadProbeInfo* info, gpointer data)
    {
        auto* self = static_cast<EncoderWatch*>(data);
        if (GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info); buffer && GST_IS_BUFFER(buffer)) {
            if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
                ++self->keyframes;
                if (self->requests > 0)
                    ++self->keyframesAfterARequest;
            }
        } else if (GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info)) {
            const GstStructure* structure = gst_event_get_structure(event);
            if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_UPSTREAM && structure &&
                gst_structure_has_name(structure, "GstForceKeyUnit"))
                ++self->requests;
        }
        return GST_PAD_PROBE_OK;
    }

    std::atomic<int> keyframes = 0;
    std::atomic<int> requests = 0;
    std::atomic<int> keyframesAfterARequest = 0;

private:
    GstPadProbeCallback onEncoder_;
    RefPtr<GstElement> callbin_;
    mutable std::mutex mutex_;
    RefPtr<GstElement> encoder_;
};

TEST_F(CallBinTest, VideoBothWaysAtTheSendersSizeAndColourWithAudioAlongside)
{
    const VideoSpec aliceVideo{640, 480, 0xff0000};  // red
    const VideoSpec bobVideo{320, 240, 0x0000ff};    // blue
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker(), aliceVideo);
    Endpoint bob("bob", 1000, pair.b.get(), waker(), bobVideo);
    EncoderWatch bobEncoder(bob.callbin.get());

    // Each side's transceivers exist before the offer: one audio, one video with NACK (not audio:
    // browsers refuse audio RTX).
    ASSERT_EQ(gst_element_set_state(alice.pipeline.get(), GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    g_autoptr(GstElement) webrtc = gst_bin_get_by_name(GST_BIN(alice.callbin.get()), "webrtc");
    ASSERT_NE(webrtc, nullptr);
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    ASSERT_NE(transceivers, nullptr);
    ASSERT_EQ(transceivers->len, 2u);
    for (guint i = 0; i < transceivers->len; ++i) {
        auto* transceiver = g_array_index(transceivers, GstWebRTCRTPTransceiver*, i);
        GstWebRTCRTPTransceiverDirection direction = GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE;
        gboolean nack = FALSE;
        GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;
        g_object_get(transceiver, "direction", &direction, "do-nack", &nack, "kind", &kind, nullptr);
        EXPECT_EQ(direction, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV);
        EXPECT_EQ(nack, kind == GST_WEBRTC_KIND_VIDEO);
        EXPECT_EQ(kind, i == 0 ? GST_WEBRTC_KIND_AUDIO : GST_WEBRTC_KIND_VIDEO);
    }
    g_array_unref(transceivers);

    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;
    EXPECT_EQ(bobEncoder.factory(), "vp8enc") << "VP8 unless the caller prefers H.264";
    ASSERT_TRUE(waitFor(15s, [&] { return alice.viewer.sees(bobVideo) && bob.viewer.sees(aliceVideo); },
                        {&alice, &bob}))
        << "Alice sees " << alice.viewer.describe() << "; Bob sees " << bob.viewer.describe();
    EXPECT_EQ(remoteVideoCodec(alice), "video/x-vp8");
    EXPECT_EQ(remoteVideoCodec(bob), "video/x-vp8");
    {
        std::lock_guard lock(alice.mutex);
        std::vector<std::string> names = alice.padNames;
        std::sort(names.begin(), names.end());
        EXPECT_EQ(names, (std::vector<std::string>{kBobPad, std::string("video") + (kBobPad + 5)}))
            << "one audio and one video pad, named after the participant";
    }
    // A keyframe was forced when the connection came up (the encoder's own first one may have gone
    // out before DTLS completed, and it makes no other for minutes).
    EXPECT_TRUE(calling::test::iterateUntil(
        context, [&] { return bobEncoder.requests >= 1 && bobEncoder.keyframesAfterARequest >= 1; }, 5s))
        << bobEncoder.requests << " requests, " << bobEncoder.keyframesAfterARequest << " keyframes after one";

    // Alice asks for a keyframe (what her decoder would do after a loss): it becomes a PLI, Bob's
    // rtpbin turns it into a request that reaches his encoder, and a keyframe comes out.
    int requests = bobEncoder.requests;
    int keyframes = bobEncoder.keyframes;
    g_autofree gchar* videoPadName = g_strdup_printf("video%s", kBobPad + 5);
    g_autoptr(GstPad) video = gst_element_get_static_pad(alice.callbin.get(), videoPadName);
    ASSERT_NE(video, nullptr);
    GstStructure* request = gst_structure_new("GstForceKeyUnit", "running-time", GST_TYPE_CLOCK_TIME,
                                              GST_CLOCK_TIME_NONE, "all-headers", G_TYPE_BOOLEAN, TRUE, "count",
                                              G_TYPE_UINT, 0u, nullptr);
    gst_pad_send_event(video, gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, request));
    ASSERT_TRUE(waitFor(5s, [&] { return bobEncoder.requests > requests && bobEncoder.keyframes > keyframes; },
                        {&alice, &bob}))
        << bobEncoder.requests << " requests and " << bobEncoder.keyframes << " keyframes at Bob's encoder";

    // And both still hear each other.
    EXPECT_TRUE(alice.listener.hears(1000, 440)) << alice.listener.describe(1000, 440);
    EXPECT_TRUE(bob.listener.hears(440, 1000)) << bob.listener.describe(440, 1000);
}

TEST_F(CallBinTest, AReceiverThatMissedEveryKeyframeAsksUntilOneComes)
{
    const VideoSpec aliceVideo{320, 240, 0xff0000};
    const VideoSpec bobVideo{320, 240, 0x0000ff};
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker(), aliceVideo);
    Endpoint bob("bob", 1000, pair.b.get(), waker(), bobVideo);
    // Every keyframe Bob makes is lost, the one forced on connect too, until his encoder has been
    // asked three times: Alice's depayloader asks (a PLI) for each frame it must drop, and the
    // requests have to reach Bob's encoder and be honoured again and again for her to see anything.
    EncoderWatch bobEncoder(bob.callbin.get(), [](GstPad*, GstPadProbeInfo* info, gpointer data) {
        auto* watch = static_cast<EncoderWatch*>(data);
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        bool keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
        return keyframe && watch->requests < 3 ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
    });
    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;
    EXPECT_TRUE(waitFor(15s, [&] { return alice.viewer.sees(bobVideo); }, {&alice, &bob}))
        << "Alice sees " << alice.viewer.describe() << " after " << bobEncoder.requests << " keyframe requests";
    EXPECT_GE(bobEncoder.requests, 3);
}

TEST_F(CallBinTest, VideoCodecsListsTheCodecsInOrderAndRefusesAnythingElse)
{
    RefPtr<GstElement> callbin = RefPtr<GstElement>::adopt(gst_element_factory_make("callbin", nullptr));
    ASSERT_TRUE(callbin);
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(callbin.get()), "video-codecs");
    ASSERT_NE(spec, nullptr);
    EXPECT_TRUE(spec->flags & GST_PARAM_MUTABLE_READY);
    auto codecs = [&] {
        g_autofree gchar* value = nullptr;
        g_object_get(callbin.get(), "video-codecs", &value, nullptr);
        return std::string(value ? value : "(null)");
    };
    EXPECT_EQ(codecs(), "vp8,h264") << "VP8 first by default";
    g_object_set(callbin.get(), "video-codecs", " H264 , vp8", nullptr);
    EXPECT_EQ(codecs(), "h264,vp8");
    g_object_set(callbin.get(), "video-codecs", "h264", nullptr);
    EXPECT_EQ(codecs(), "h264");

    g_autoptr(GstBus) bus = gst_bus_new();
    gst_element_set_bus(callbin.get(), bus);
    for (const char* bad : {"vp9", "vp8,vp8", "", "vp8,,h264"}) {
        g_object_set(callbin.get(), "video-codecs", bad, nullptr);
        EXPECT_EQ(codecs(), bad) << "a bad value reads back as given";
        EXPECT_EQ(gst_element_set_state(callbin.get(), GST_STATE_READY), GST_STATE_CHANGE_FAILURE) << bad;
        g_autoptr(GstMessage) message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        ASSERT_NE(message, nullptr) << bad;
        g_autoptr(GError) error = nullptr;
        g_autofree gchar* debug = nullptr;
        gst_message_parse_error(message, &error, &debug);
        EXPECT_EQ(std::string(error->message), "Unusable video-codecs '" + std::string(bad) + "'.");
        EXPECT_NE(std::string(debug).find("vp8 and h264"), std::string::npos) << debug;
        gst_element_set_state(callbin.get(), GST_STATE_NULL);
    }
    g_object_set(callbin.get(), "video-codecs", "h264,vp8", nullptr);
    EXPECT_EQ(gst_element_set_state(callbin.get(), GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    gst_element_set_state(callbin.get(), GST_STATE_NULL);
}

// The m-line of `kind` in the description webrtcbin holds in `property` ("current-local-description").
std::string mediaOf(GstElement* callbin, const char* property, const char* kind)
{
    g_autoptr(GstElement) webrtc = gst_bin_get_by_name(GST_BIN(callbin), "webrtc");
    GstWebRTCSessionDescription* description = nullptr;
    if (webrtc)
        g_object_get(webrtc, property, &description, nullptr);
    if (!description)
        return "";
    std::string text;
    for (guint i = 0; i < gst_sdp_message_medias_len(description->sdp); ++i) {
        const GstSDPMedia* media = gst_sdp_message_get_media(description->sdp, i);
        if (g_strcmp0(gst_sdp_media_get_media(media), kind) != 0)
            continue;
        g_autofree gchar* one = gst_sdp_media_as_text(media);
        text = one;
        break;
    }
    gst_webrtc_session_description_free(description);
    return text;
}

TEST_F(CallBinTest, H264BothWaysWhenTheCallerPrefersItWithKeyframesOnConnectAndOnRequest)
{
    const VideoSpec aliceVideo{640, 480, 0x00ff00};  // green
    const VideoSpec bobVideo{320, 240, 0xff00ff};    // magenta
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker(), aliceVideo);
    Endpoint bob("bob", 1000, pair.b.get(), waker(), bobVideo);
    g_object_set(alice.callbin.get(), "video-codecs", "h264,vp8", nullptr);
    EncoderWatch aliceEncoder(alice.callbin.get());
    EncoderWatch bobEncoder(bob.callbin.get());
    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;

    // The offer lists H.264 first (packetization mode 1, constrained baseline), VP8 after it; the
    // answer takes H.264 alone.
    std::string offer = mediaOf(alice.callbin.get(), "current-local-description", "video");
    std::string answer = mediaOf(alice.callbin.get(), "current-remote-description", "video");
    std::smatch formats;
    ASSERT_TRUE(std::regex_search(offer, formats, std::regex(R"(m=video \d+ \S+ (\d+) (\d+))"))) << offer;
    EXPECT_NE(offer.find("a=rtpmap:" + formats[1].str() + " H264/90000"), std::string::npos) << offer;
    EXPECT_NE(offer.find("a=rtpmap:" + formats[2].str() + " VP8/90000"), std::string::npos) << offer;
    EXPECT_NE(offer.find("packetization-mode=1"), std::string::npos) << offer;
    EXPECT_NE(offer.find("profile-level-id=42e01f"), std::string::npos) << offer;
    EXPECT_NE(answer.find("H264/90000"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("VP8/90000"), std::string::npos) << answer;
    EXPECT_EQ(aliceEncoder.factory(), "openh264enc");
    EXPECT_EQ(bobEncoder.factory(), "openh264enc");

    // Each side decodes the other's picture at the sender's size and colour.
    ASSERT_TRUE(waitFor(15s, [&] { return alice.viewer.sees(bobVideo) && bob.viewer.sees(aliceVideo); },
                        {&alice, &bob}))
        << "Alice sees " << alice.viewer.describe() << "; Bob sees " << bob.viewer.describe();
    EXPECT_EQ(remoteVideoCodec(alice), "video/x-h264");
    EXPECT_EQ(remoteVideoCodec(bob), "video/x-h264");

    // A keyframe was forced when the connection came up, and one comes on the far end's request.
    EXPECT_TRUE(calling::test::iterateUntil(
        context, [&] { return bobEncoder.requests >= 1 && bobEncoder.keyframesAfterARequest >= 1; }, 5s))
        << bobEncoder.requests << " requests, " << bobEncoder.keyframesAfterARequest << " keyframes after one";
    int requests = bobEncoder.requests;
    int keyframes = bobEncoder.keyframes;
    g_autofree gchar* videoPadName = g_strdup_printf("video%s", kBobPad + 5);
    g_autoptr(GstPad) video = gst_element_get_static_pad(alice.callbin.get(), videoPadName);
    ASSERT_NE(video, nullptr);
    GstStructure* request = gst_structure_new("GstForceKeyUnit", "running-time", GST_TYPE_CLOCK_TIME,
                                              GST_CLOCK_TIME_NONE, "all-headers", G_TYPE_BOOLEAN, TRUE, "count",
                                              G_TYPE_UINT, 0u, nullptr);
    gst_pad_send_event(video, gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, request));
    ASSERT_TRUE(waitFor(5s, [&] { return bobEncoder.requests > requests && bobEncoder.keyframes > keyframes; },
                        {&alice, &bob}))
        << bobEncoder.requests << " requests and " << bobEncoder.keyframes << " keyframes at Bob's encoder";
    EXPECT_TRUE(alice.listener.hears(1000, 440)) << alice.listener.describe(1000, 440);
}

TEST_F(CallBinTest, TheCallersPreferenceDecidesNotTheCallees)
{
    const VideoSpec aliceVideo{320, 240, 0xff0000};
    const VideoSpec bobVideo{320, 240, 0x0000ff};
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker(), aliceVideo);
    Endpoint bob("bob", 1000, pair.b.get(), waker(), bobVideo);
    g_object_set(bob.callbin.get(), "video-codecs", "h264,vp8", nullptr);
    EncoderWatch aliceEncoder(alice.callbin.get());
    EncoderWatch bobEncoder(bob.callbin.get());
    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;
    ASSERT_TRUE(waitFor(15s, [&] { return alice.viewer.sees(bobVideo) && bob.viewer.sees(aliceVideo); },
                        {&alice, &bob}))
        << "Alice sees " << alice.viewer.describe() << "; Bob sees " << bob.viewer.describe();
    EXPECT_EQ(aliceEncoder.factory(), "vp8enc");
    EXPECT_EQ(bobEncoder.factory(), "vp8enc");
    EXPECT_EQ(remoteVideoCodec(alice), "video/x-vp8");
    EXPECT_EQ(remoteVideoCodec(bob), "video/x-vp8");
}

TEST_F(CallBinTest, AnEosEventReturnsAtOnceEvenWhileARemoteBranchIsStuck)
{
    // Alice's pipeline receives into a branch nobody drains, as a muxer waiting for a stream that
    // never comes does: its streaming thread blocks, holding the branch's stream lock.
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint bob("bob", 1000, pair.b.get(), waker());
    g_autoptr(GError) error = nullptr;
    auto alice = RefPtr<GstElement>::adopt(gst_parse_launch("pipeline. ( callbin name=call )", &error));
    ASSERT_TRUE(alice) << (error ? error->message : "");
    g_autoptr(GstElement) call = gst_bin_get_by_name(GST_BIN(alice.get()), "call");
    g_object_set(call, "signaller", pair.a.get(), nullptr);
    struct Stuck {
        GstElement* pipeline;
        std::mutex mutex;
        std::vector<RefPtr<GstElement>> queues;
    } stuck{alice.get(), {}, {}};
    g_signal_connect(call, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
                         auto* stuck = static_cast<Stuck*>(data);
                         GstElement* branch = gst_parse_bin_from_description(
                             "queue name=q max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! "
                             "appsink max-buffers=1 drop=false sync=false async=false",
                             TRUE, nullptr);
                         gst_bin_add(GST_BIN(stuck->pipeline), branch);
                         gst_element_sync_state_with_parent(branch);
                         g_autoptr(GstPad) sink = gst_element_get_static_pad(branch, "sink");
                         gst_pad_link(pad, sink);
                         std::lock_guard lock(stuck->mutex);
                         stuck->queues.push_back(RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(branch), "q")));
                     }),
                     &stuck);
    ASSERT_NE(gst_element_set_state(alice.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    ASSERT_NE(gst_element_set_state(bob.pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    call_signaller_emit_session_requested(pair.a.get(), kBob, "Bob");
    // Nothing wakes the context for this: iterateUntil looks every 20 ms.
    ASSERT_TRUE(calling::test::iterateUntil(
        context,
        [&] {
            std::lock_guard lock(stuck.mutex);
            guint level = 0;
            if (!stuck.queues.empty())
                g_object_get(stuck.queues.front().get(), "current-level-buffers", &level, nullptr);
            return level >= 1;
        },
        10s));

    // What gst-launch-1.0 -e does on Ctrl-C: it must get control back, to give up on a second one.
    std::atomic<bool> returned = false;
    std::thread sender([&] {
        gst_element_send_event(alice.get(), gst_event_new_eos());
        returned = true;
        g_main_context_wakeup(context);
    });
    EXPECT_TRUE(waitFor(2s, [&] { return returned.load(); }, {&bob})) << "sending EOS blocked";
    // Flushing unblocks the branch, and with it anything still pushing into it.
    gst_element_set_state(alice.get(), GST_STATE_NULL);
    sender.join();
}

TEST_F(CallBinTest, AReceiveOnlyCallerHearsTheCallee)
{
    // A recording bot: it calls and listens, with nothing to send.
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", kReceiveOnly, pair.a.get(), waker());
    Endpoint bob("bob", 1000, pair.b.get(), waker());
    connect(alice, bob, pair.a.get(), false, true);
    if (HasFatalFailure())
        return;
    std::lock_guard lock(bob.mutex);
    EXPECT_TRUE(bob.padNames.empty()) << "Bob got a stream from a side that sends nothing";
}

TEST_F(CallBinTest, AReceiveOnlyCalleeHearsTheCaller)
{
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker());
    Endpoint bob("bob", kReceiveOnly, pair.b.get(), waker());
    connect(alice, bob, pair.a.get(), true, false);
}

// What teardown left behind, per call: open fds and threads.
struct Footprint {
    std::vector<int> fds;
    std::vector<int> threads;

    void record()
    {
        fds.push_back(openFds());
        threads.push_back(::threads());
    }

    // The first call may open what stays for the process (plugin loading, GLib's workers); after
    // it, each call must give back what it took.
    void expectFlat() const
    {
        std::string history;
        for (size_t i = 0; i < fds.size(); ++i)
            history += std::to_string(fds[i]) + " fds, " + std::to_string(threads[i]) + " threads; ";
        EXPECT_LE(fds.back(), fds[1] + 2) << "after each call: " << history;
        EXPECT_LE(threads.back(), threads[1] + 2) << "after each call: " << history;
    }
};

TEST_F(CallBinTest, RepeatedCallsDoNotLeakFdsOrThreads)
{
    Footprint footprint;
    for (int cycle = 0; cycle < 4; ++cycle) {
        {
            auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
            Endpoint alice("alice", 440, pair.a.get(), waker());
            Endpoint bob("bob", 1000, pair.b.get(), waker());
            connect(alice, bob, pair.a.get());
            if (HasFatalFailure())
                return;
            EXPECT_EQ(gst_element_set_state(alice.pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
            EXPECT_EQ(gst_element_set_state(bob.pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        }
        while (g_main_context_iteration(context, FALSE)) {
        }
        footprint.record();
    }
    footprint.expectFlat();
}

TEST_F(CallBinTest, OneCallbinServesCallAfterCall)
{
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker());
    Endpoint bob("bob", 1000, pair.b.get(), waker());
    Footprint footprint;
    for (int cycle = 0; cycle < 4; ++cycle) {
        alice.listener.reset();
        bob.listener.reset();
        // Each call starts from scratch: a new webrtcbin, a new negotiation.
        connect(alice, bob, pair.a.get());
        if (HasFatalFailure())
            return;
        EXPECT_EQ(gst_element_set_state(alice.pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(gst_element_set_state(bob.pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(alice.callbin->numsrcpads, 0) << "a call's remote pads go with it";
        while (g_main_context_iteration(context, FALSE)) {
        }
        footprint.record();
    }
    footprint.expectFlat();
    std::lock_guard lock(alice.mutex);
    EXPECT_EQ(alice.padNames, std::vector<std::string>(4, kBobPad)) << "the same name, call after call";
}

// get-stats: webrtcbin's statistics of the current call, through callbin; an empty structure
// without a call. Waited for with gst_promise_wait: webrtcbin answers from its own thread.
using StructurePtr = std::unique_ptr<GstStructure, decltype(&gst_structure_free)>;

StructurePtr statsOf(GstElement* callbin)
{
    auto promise = RefPtr<GstPromise>::adopt(gst_promise_new());
    g_signal_emit_by_name(callbin, "get-stats", promise.get());
    if (gst_promise_wait(promise.get()) != GST_PROMISE_RESULT_REPLIED || !gst_promise_get_reply(promise.get()))
        return StructurePtr(nullptr, gst_structure_free);
    return StructurePtr(gst_structure_copy(gst_promise_get_reply(promise.get())), gst_structure_free);
}

std::string describe(const GstStructure* structure)
{
    g_autofree gchar* text = gst_structure_to_string(structure);
    return text;
}

// The first RTCStats structure of `type` with a counter above zero, if any.
bool hasCounter(const GstStructure* stats, const char* type, const char* counter)
{
    for (int i = 0; i < gst_structure_n_fields(stats); ++i) {
        const GValue* value = gst_structure_get_value(stats, gst_structure_nth_field_name(stats, i));
        if (!GST_VALUE_HOLDS_STRUCTURE(value))
            continue;
        const GstStructure* entry = gst_value_get_structure(value);
        guint64 count = 0;
        if (gst_structure_has_name(entry, type) && gst_structure_get_uint64(entry, counter, &count) && count > 0)
            return true;
    }
    return false;
}

TEST_F(CallBinTest, GetStatsAnswersWithWebrtcbinsStatisticsOfTheCall)
{
    auto pair = calling::test::makeLoopbackPair(kAlice, kBob, context);
    Endpoint alice("alice", 440, pair.a.get(), waker());
    Endpoint bob("bob", 1000, pair.b.get(), waker());

    StructurePtr none = statsOf(alice.callbin.get());
    ASSERT_TRUE(none) << "no reply without a call";
    EXPECT_EQ(gst_structure_n_fields(none.get()), 0);

    connect(alice, bob, pair.a.get());
    if (HasFatalFailure())
        return;
    StructurePtr stats = statsOf(alice.callbin.get());
    ASSERT_TRUE(stats);
    EXPECT_TRUE(hasCounter(stats.get(), "outbound-rtp", "bytes-sent")) << describe(stats.get());
    EXPECT_TRUE(hasCounter(stats.get(), "inbound-rtp", "bytes-received")) << describe(stats.get());
}

}  // namespace
