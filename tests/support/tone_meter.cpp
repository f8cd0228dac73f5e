#include "tone_meter.h"

#include <gst/app/gstappsink.h>

#include <cmath>
#include <vector>

namespace calling::test {

namespace {
constexpr size_t kWindowSamples = ToneMeter::kRate / 2;
}

double goertzelPower(const std::vector<float>& samples, double frequency)
{
    if (samples.empty())
        return 0;
    double coefficient = 2.0 * std::cos(2.0 * M_PI * frequency / ToneMeter::kRate);
    double s1 = 0, s2 = 0;
    for (float x : samples) {
        double s0 = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    return power / (double(samples.size()) * samples.size());
}

double rms(const std::vector<float>& samples)
{
    double sum = 0;
    for (float x : samples)
        sum += double(x) * x;
    return samples.empty() ? 0 : std::sqrt(sum / samples.size());
}

std::shared_ptr<ToneMeter> ToneMeter::create()
{
    return std::shared_ptr<ToneMeter>(new ToneMeter);
}

GstElement* ToneMeter::makeSink()
{
    GstElement* sink = gst_element_factory_make("appsink", nullptr);
    attach(sink);
    return sink;
}

void ToneMeter::attach(GstElement* sink)
{
    g_autoptr(GstCaps) caps =
        gst_caps_from_string("audio/x-raw,format=F32LE,channels=1,rate=48000,layout=interleaved");
    // The library puts audioconvert/audioresample in front of the speaker; the caps pick the format.
    g_object_set(sink, "caps", caps, "emit-signals", TRUE, "sync", FALSE, "max-buffers", 50, "drop", TRUE, nullptr);
    {
        std::lock_guard lock(mutex_);
        liveSinks_++;
    }
    g_object_weak_ref(G_OBJECT(sink), [](gpointer data, GObject*) {
        auto* self = static_cast<ToneMeter*>(data);
        std::lock_guard lock(self->mutex_);
        self->liveSinks_--;
    }, this);
    auto keep = new std::shared_ptr<ToneMeter>(shared_from_this());
    g_signal_connect_data(sink, "new-sample", G_CALLBACK(onSample), keep,
                          [](gpointer data, GClosure*) { delete static_cast<std::shared_ptr<ToneMeter>*>(data); },
                          GConnectFlags(0));
}

GstFlowReturn ToneMeter::onSample(GstElement* sink, gpointer data)
{
    auto& self = *static_cast<std::shared_ptr<ToneMeter>*>(data);
    g_autoptr(GstSample) sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (!buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ))
        return GST_FLOW_OK;
    const auto* samples = reinterpret_cast<const float*>(map.data);
    size_t count = map.size / sizeof(float);
    {
        std::lock_guard lock(self->mutex_);
        for (size_t i = 0; i < count; i++)
            self->window_.push_back(samples[i]);
        while (self->window_.size() > kWindowSamples)
            self->window_.pop_front();
        self->received_ += count;
    }
    gst_buffer_unmap(buffer, &map);
    return GST_FLOW_OK;
}

double ToneMeter::dominance(double frequency) const
{
    std::vector<float> samples;
    {
        std::lock_guard lock(mutex_);
        samples.assign(window_.begin(), window_.end());
    }
    if (samples.size() < kWindowSamples / 4)
        return 0;
    // Power at the frequency against the window's mean power: a pure sine of amplitude A has
    // A^2/4 (Goertzel, normalised) and A^2/2, so the ratio is about 1 at its frequency.
    double meanPower = rms(samples) * rms(samples);
    if (meanPower <= 0)
        return 0;
    return goertzelPower(samples, frequency) / (meanPower / 2.0);
}

double ToneMeter::rmsDb() const
{
    std::lock_guard lock(mutex_);
    if (window_.empty())
        return -INFINITY;
    double sum = 0;
    for (float x : window_)
        sum += double(x) * x;
    return 10.0 * std::log10(sum / window_.size());
}

bool ToneMeter::sinksReleased() const
{
    std::lock_guard lock(mutex_);
    return liveSinks_ == 0;
}

size_t ToneMeter::received() const
{
    std::lock_guard lock(mutex_);
    return received_;
}

}  // namespace calling::test
