#include "media.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace bench {
namespace {

// The stamp: 32 bits of the capture time in units of 100 us (wraps after 4.9 days; differences
// are taken modulo 2^32), one 20x16 block a bit across the top of the picture, and the same bits
// inverted in the 16 rows below, so that a damaged read is recognised and dropped.
constexpr int kBits = 32;
constexpr int kBlockWidth = 20;
constexpr int kBlockHeight = 16;
constexpr int64_t kStampUnitUs = 100;

uint32_t stampNow()
{
    return uint32_t(nowUs() / kStampUnitUs);
}

GstPadProbeReturn stampFrame(GstPad* pad, GstPadProbeInfo* info, gpointer)
{
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    GstVideoInfo video;
    if (!caps || !gst_video_info_from_caps(&video, caps) || GST_VIDEO_INFO_FORMAT(&video) != GST_VIDEO_FORMAT_I420)
        return GST_PAD_PROBE_OK;
    GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &video, buffer, GST_MAP_WRITE))
        return GST_PAD_PROBE_OK;
    // Taken as late as possible: the frame leaves the source right after this probe.
    uint32_t stamp = stampNow();
    auto* luma = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    int lumaStride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (int bit = 0; bit < kBits; bit++) {
        bool one = (stamp >> (kBits - 1 - bit)) & 1u;
        for (int y = 0; y < 2 * kBlockHeight; y++) {
            bool white = y < kBlockHeight ? one : !one;
            memset(luma + y * lumaStride + bit * kBlockWidth, white ? 235 : 16, kBlockWidth);
        }
    }
    // Neutral chroma under the blocks, so that they decode to grey levels, not colours.
    for (int plane = 1; plane <= 2; plane++) {
        auto* chroma = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, plane));
        int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
        for (int y = 0; y < kBlockHeight; y++)
            memset(chroma + y * stride, 128, kBits * kBlockWidth / 2);
    }
    gst_video_frame_unmap(&frame);
    return GST_PAD_PROBE_OK;
}

// A bin holding `description`, with its last element's src pad as the bin's.
GstElement* sourceBin(const char* description, GstPad** innerSrc)
{
    g_autoptr(GError) error = nullptr;
    GstElement* bin = gst_parse_bin_from_description(description, TRUE, &error);
    if (!bin) {
        g_printerr("calling-bench: cannot build '%s': %s\n", description, error->message);
        return nullptr;
    }
    if (innerSrc) {
        g_autoptr(GstPad) ghost = gst_element_get_static_pad(bin, "src");
        *innerSrc = gst_ghost_pad_get_target(GST_GHOST_PAD(ghost));
    }
    return bin;
}

constexpr int kRate = 48000;
constexpr int kSamplesPerBuffer = 480;   // 10 ms
constexpr int kBurstEvery = 100;         // buffers: every second
constexpr int kBurstBuffers = 2;         // 20 ms of tone
constexpr int kBurstAmplitude = 16000;
constexpr int kOnsetThreshold = 6000;
constexpr int kQuietBeforeOnset = kRate / 5;  // 200 ms of silence before an onset counts

struct BurstState {
    BurstLog* log;
    uint64_t buffers = 0;
};

GstPadProbeReturn writeBurst(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* state = static_cast<BurstState*>(data);
    uint64_t index = state->buffers++;
    uint64_t phase = index % kBurstEvery;
    if (phase >= kBurstBuffers)
        return GST_PAD_PROBE_OK;
    GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_WRITE))
        return GST_PAD_PROBE_OK;
    auto* samples = reinterpret_cast<int16_t*>(map.data);
    size_t count = map.size / sizeof(int16_t);
    for (size_t i = 0; i < count; i++) {
        double t = double(phase * kSamplesPerBuffer + i) / kRate;
        samples[i] = int16_t(kBurstAmplitude * std::sin(2 * M_PI * 1000 * t));
    }
    gst_buffer_unmap(buffer, &map);
    if (phase == 0)
        state->log->add(nowUs());
    return GST_PAD_PROBE_OK;
}

GstAppSink* newAppSink(const char* caps, bool sync)
{
    auto* sink = GST_APP_SINK(gst_element_factory_make("appsink", nullptr));
    if (caps) {
        g_autoptr(GstCaps) parsed = gst_caps_from_string(caps);
        g_object_set(sink, "caps", parsed, nullptr);
    }
    g_object_set(sink, "sync", sync, "max-buffers", 4u, "drop", TRUE, "enable-last-sample", FALSE, nullptr);
    return sink;
}

}  // namespace

GstElement* makeVideoSource(bool stamped)
{
    GstPad* inner = nullptr;
    GstElement* bin = sourceBin(
        "videotestsrc is-live=true pattern=ball ! "
        "capsfilter caps=video/x-raw,format=I420,width=640,height=480,framerate=30/1,pixel-aspect-ratio=1/1",
        &inner);
    if (bin && stamped)
        gst_pad_add_probe(inner, GST_PAD_PROBE_TYPE_BUFFER, stampFrame, nullptr, nullptr);
    if (inner)
        gst_object_unref(inner);
    return bin;
}

void BurstLog::add(int64_t atUs)
{
    std::lock_guard lock(mutex_);
    pushed_.push_back(atUs);
}

std::optional<int64_t> BurstLog::latestBefore(int64_t atUs, int64_t windowUs) const
{
    std::lock_guard lock(mutex_);
    for (auto it = pushed_.rbegin(); it != pushed_.rend(); ++it)
        if (*it <= atUs)
            return atUs - *it <= windowUs ? std::optional<int64_t>(*it) : std::nullopt;
    return std::nullopt;
}

GstElement* makeAudioSource(BurstLog* bursts)
{
    GstPad* inner = nullptr;
    g_autofree char* description = g_strdup_printf(
        "audiotestsrc is-live=true samplesperbuffer=%d wave=%s volume=0.3 ! "
        "capsfilter caps=audio/x-raw,format=S16LE,rate=%d,channels=1,layout=interleaved",
        kSamplesPerBuffer, bursts ? "silence" : "sine", kRate);
    GstElement* bin = sourceBin(description, &inner);
    if (bin && bursts)
        gst_pad_add_probe(inner, GST_PAD_PROBE_TYPE_BUFFER, writeBurst, new BurstState{bursts},
                          [](gpointer data) { delete static_cast<BurstState*>(data); });
    if (inner)
        gst_object_unref(inner);
    return bin;
}

void Samples::add(double value)
{
    std::lock_guard lock(mutex_);
    values_.push_back(value);
}

void Samples::miss()
{
    std::lock_guard lock(mutex_);
    misses_++;
}

size_t Samples::misses() const
{
    std::lock_guard lock(mutex_);
    return misses_;
}

std::vector<double> Samples::values() const
{
    std::lock_guard lock(mutex_);
    return values_;
}

size_t Samples::size() const
{
    std::lock_guard lock(mutex_);
    return values_.size();
}

GstElement* makeStampReader(Samples* out, std::atomic<int64_t>* firstFrameUs)
{
    GstAppSink* sink = newAppSink("video/x-raw,format=RGB", false);
    struct Reader {
        Samples* out;
        std::atomic<int64_t>* first;
    };
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
        auto* reader = static_cast<Reader*>(data);
        uint32_t now = stampNow();
        int64_t arrived = nowUs();
        g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
        if (!sample)
            return GST_FLOW_OK;
        int64_t expected = 0;
        if (reader->first)
            reader->first->compare_exchange_strong(expected, arrived);
        GstVideoInfo video;
        GstVideoFrame frame;
        if (!gst_video_info_from_caps(&video, gst_sample_get_caps(sample)) || video.width < kBits * kBlockWidth ||
            !gst_video_frame_map(&frame, &video, gst_sample_get_buffer(sample), GST_MAP_READ))
            return GST_FLOW_OK;
        auto* rgb = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
        int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        auto white = [&](int x, int y) {
            const guint8* pixel = rgb + y * stride + x * 3;
            return int(pixel[0]) + pixel[1] + pixel[2] > 3 * 128;
        };
        uint32_t stamp = 0;
        bool valid = true;
        for (int bit = 0; bit < kBits && valid; bit++) {
            int x = bit * kBlockWidth + kBlockWidth / 2;
            bool one = white(x, kBlockHeight / 2);
            valid = one != white(x, kBlockHeight + kBlockHeight / 2);
            stamp = stamp << 1 | uint32_t(one);
        }
        gst_video_frame_unmap(&frame);
        uint32_t elapsed = now - stamp;
        // A frame older than 10 s is a misread that passed the check, not a latency.
        if (valid && elapsed < 10 * 1000000 / kStampUnitUs)
            reader->out->add(double(elapsed) * kStampUnitUs / 1000.0);
        else
            reader->out->miss();
        return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(sink, &callbacks, new Reader{out, firstFrameUs},
                               [](gpointer data) { delete static_cast<Reader*>(data); });
    return GST_ELEMENT(sink);
}

GstElement* makeOnsetDetector(const BurstLog* bursts, Samples* out)
{
    GstAppSink* sink = newAppSink("audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved", true);
    g_object_set(sink, "max-buffers", 0u, "drop", FALSE, nullptr);
    struct Detector {
        const BurstLog* bursts;
        Samples* out;
        int64_t quietSamples = 0;
    };
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
        auto* detector = static_cast<Detector*>(data);
        // A synchronised sink hands over each buffer as its first sample is due to be heard.
        int64_t heardUs = nowUs();
        g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
        if (!sample)
            return GST_FLOW_OK;
        GstMapInfo map;
        GstBuffer* buffer = gst_sample_get_buffer(sample);
        if (!buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ))
            return GST_FLOW_OK;
        auto* samples = reinterpret_cast<const int16_t*>(map.data);
        size_t count = map.size / sizeof(int16_t);
        for (size_t i = 0; i < count; i++) {
            if (std::abs(int(samples[i])) < kOnsetThreshold) {
                detector->quietSamples++;
                continue;
            }
            if (detector->quietSamples >= kQuietBeforeOnset) {
                int64_t onsetUs = heardUs + int64_t(i) * 1000000 / kRate;
                // Bursts are a second apart: a latency above 990 ms cannot be told apart here (it
                // would read as that minus a second), and an onset with no burst before it is noise.
                if (auto spoken = detector->bursts->latestBefore(onsetUs, 990000))
                    detector->out->add(double(onsetUs - *spoken) / 1000.0);
            }
            detector->quietSamples = 0;
        }
        gst_buffer_unmap(buffer, &map);
        return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(sink, &callbacks, new Detector{bursts, out},
                               [](gpointer data) { delete static_cast<Detector*>(data); });
    return GST_ELEMENT(sink);
}

GstElement* makeFirstFrameSink(std::atomic<int64_t>* firstFrameUs)
{
    GstAppSink* sink = newAppSink(nullptr, false);
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
        int64_t arrived = nowUs();
        g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
        int64_t expected = 0;
        static_cast<std::atomic<int64_t>*>(data)->compare_exchange_strong(expected, arrived);
        return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(sink, &callbacks, firstFrameUs, nullptr);
    return GST_ELEMENT(sink);
}

GstElement* makeRealTimeSink(std::atomic<int64_t>* firstUs, std::atomic<uint64_t>* count)
{
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
    g_autoptr(GstPad) pad = gst_element_get_static_pad(sink, "sink");
    if (firstUs) {
        gst_pad_add_probe(
            pad, GST_PAD_PROBE_TYPE_BUFFER,
            [](GstPad*, GstPadProbeInfo*, gpointer data) {
                int64_t expected = 0;
                static_cast<std::atomic<int64_t>*>(data)->compare_exchange_strong(expected, nowUs());
                return GST_PAD_PROBE_REMOVE;
            },
            firstUs, nullptr);
    }
    if (count) {
        gst_pad_add_probe(
            pad, GST_PAD_PROBE_TYPE_BUFFER,
            [](GstPad*, GstPadProbeInfo*, gpointer data) {
                static_cast<std::atomic<uint64_t>*>(data)->fetch_add(1);
                return GST_PAD_PROBE_OK;
            },
            count, nullptr);
    }
    return sink;
}

void configureOpusLikeCallbin(GstElement* encoder)
{
    gst_util_set_object_arg(G_OBJECT(encoder), "audio-type", "voice");
    g_object_set(encoder, "bitrate", 32000, "inband-fec", TRUE, "packet-loss-percentage", 10, nullptr);
}

void configureVp8LikeCallbin(GstElement* encoder)
{
    gst_util_set_object_arg(G_OBJECT(encoder), "end-usage", "cbr");
    gst_util_set_object_arg(G_OBJECT(encoder), "error-resilient", "default");
    g_object_set(encoder, "deadline", gint64(1), "cpu-used", 8, "threads", 2, "target-bitrate", 1000000,
                 "keyframe-max-dist", 3000, "buffer-size", 1000, "buffer-initial-size", 500, "buffer-optimal-size",
                 600, "max-intra-bitrate", 300, "lag-in-frames", 0, nullptr);
}

}  // namespace bench
