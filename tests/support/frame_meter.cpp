#include "frame_meter.h"

#include <gst/app/gstappsink.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace calling::test {

std::shared_ptr<FrameMeter> FrameMeter::create()
{
    return std::shared_ptr<FrameMeter>(new FrameMeter);
}

GstElement* FrameMeter::makeSink()
{
    GstElement* sink = gst_element_factory_make("appsink", nullptr);
    attach(sink);
    return sink;
}

void FrameMeter::attach(GstElement* sink)
{
    g_autoptr(GstCaps) caps = gst_caps_from_string("video/x-raw,format=RGB");
    g_object_set(sink, "caps", caps, "emit-signals", TRUE, "sync", FALSE, "max-buffers", 5, "drop", TRUE, nullptr);
    auto keep = new std::shared_ptr<FrameMeter>(shared_from_this());
    g_signal_connect_data(sink, "new-sample", G_CALLBACK(onSample), keep,
                          [](gpointer data, GClosure*) { delete static_cast<std::shared_ptr<FrameMeter>*>(data); },
                          GConnectFlags(0));
}

GstFlowReturn FrameMeter::onSample(GstElement* sink, gpointer data)
{
    auto& self = *static_cast<std::shared_ptr<FrameMeter>*>(data);
    g_autoptr(GstSample) sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (!sample || !gst_sample_get_caps(sample))
        return GST_FLOW_OK;
    const GstStructure* caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    int width = 0, height = 0;
    gst_structure_get_int(caps, "width", &width);
    gst_structure_get_int(caps, "height", &height);
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (width <= 0 || height <= 0 || !buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ))
        return GST_FLOW_OK;
    size_t stride = (size_t(width) * 3 + 3) & ~size_t(3);  // GStreamer's RGB rows are 4-byte aligned
    size_t offset = size_t(height / 2) * stride + size_t(width / 2) * 3;
    if (offset + 3 <= map.size && size_t(height) * stride <= map.size) {
        const guint8* pixel = map.data + offset;
        auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(self->mutex_);
        if (self->frames_ > 0)
            self->longestGap_ = std::max(
                self->longestGap_, std::chrono::duration_cast<std::chrono::milliseconds>(now - self->lastFrame_));
        self->lastFrame_ = now;
        ++self->frames_;
        self->width_ = width;
        self->height_ = height;
        self->centre_ = uint32_t(pixel[0]) << 16 | uint32_t(pixel[1]) << 8 | pixel[2];
        self->pixels_.assign(map.data, map.data + size_t(height) * stride);
        self->stride_ = stride;
        if (self->trackX_ >= 0 && self->trackX_ < width && self->trackY_ < height) {
            const guint8* tracked = map.data + size_t(self->trackY_) * stride + size_t(self->trackX_) * 3;
            self->tracked_.push_back({now, uint32_t(tracked[0]) << 16 | uint32_t(tracked[1]) << 8 | tracked[2]});
        }
    }
    gst_buffer_unmap(buffer, &map);
    return GST_FLOW_OK;
}

size_t FrameMeter::frames() const
{
    std::lock_guard lock(mutex_);
    return frames_;
}

int FrameMeter::width() const
{
    std::lock_guard lock(mutex_);
    return width_;
}

int FrameMeter::height() const
{
    std::lock_guard lock(mutex_);
    return height_;
}

uint32_t FrameMeter::centre() const
{
    std::lock_guard lock(mutex_);
    return centre_;
}

uint32_t FrameMeter::at(int x, int y) const
{
    std::lock_guard lock(mutex_);
    if (x < 0 || y < 0 || x >= width_ || y >= height_)
        return 0;
    size_t offset = size_t(y) * stride_ + size_t(x) * 3;
    if (offset + 3 > pixels_.size())
        return 0;
    return uint32_t(pixels_[offset]) << 16 | uint32_t(pixels_[offset + 1]) << 8 | pixels_[offset + 2];
}

std::chrono::milliseconds FrameMeter::longestGap() const
{
    std::lock_guard lock(mutex_);
    return longestGap_;
}

void FrameMeter::resetGaps()
{
    std::lock_guard lock(mutex_);
    longestGap_ = std::chrono::milliseconds{0};
    lastFrame_ = std::chrono::steady_clock::now();
}

void FrameMeter::track(int x, int y)
{
    std::lock_guard lock(mutex_);
    trackX_ = x;
    trackY_ = y;
    tracked_.clear();
}

std::vector<FrameMeter::Sample> FrameMeter::tracked() const
{
    std::lock_guard lock(mutex_);
    return tracked_;
}

bool near(uint32_t a, uint32_t b, int tolerance)
{
    for (int shift : {16, 8, 0})
        if (std::abs(int((a >> shift) & 0xff) - int((b >> shift) & 0xff)) > tolerance)
            return false;
    return true;
}

bool FrameMeter::sees(int width, int height, uint32_t rgb, int tolerance) const
{
    std::lock_guard lock(mutex_);
    if (frames_ == 0 || width_ != width || height_ != height)
        return false;
    for (int shift : {16, 8, 0}) {
        int got = int((centre_ >> shift) & 0xff);
        int want = int((rgb >> shift) & 0xff);
        if (std::abs(got - want) > tolerance)
            return false;
    }
    return true;
}

std::string FrameMeter::describe() const
{
    std::lock_guard lock(mutex_);
    char centre[16];
    snprintf(centre, sizeof centre, "%06x", centre_);
    return std::to_string(frames_) + " frames, the last " + std::to_string(width_) + "x" + std::to_string(height_) +
           " with 0x" + centre + " in its centre";
}

}  // namespace calling::test
