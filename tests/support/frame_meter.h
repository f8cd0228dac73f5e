// Looks at video a test receives: an appsink (made here, or one of a launch line) gets decoded
// frames as RGB, and the meter keeps how many came, the last one's size and the colour at its
// centre.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace calling::test {

class FrameMeter : public std::enable_shared_from_this<FrameMeter> {
public:
    static std::shared_ptr<FrameMeter> create();
    // A new appsink (floating) feeding this meter.
    GstElement* makeSink();
    // Makes an existing appsink feed this meter; what is in front of it must convert to RGB
    // (videoconvert).
    void attach(GstElement* appsink);

    size_t frames() const;
    int width() const;
    int height() const;
    // 0xRRGGBB at the centre of the last frame.
    uint32_t centre() const;
    // The mean of R, G and B over the last frame, 0 (black) to 255.
    double brightness() const;
    // The last frame is width x height and its centre within `tolerance` of 0xRRGGBB, per channel.
    bool sees(int width, int height, uint32_t rgb, int tolerance = 24) const;
    std::string describe() const;

private:
    FrameMeter() = default;
    static GstFlowReturn onSample(GstElement* sink, gpointer self);

    mutable std::mutex mutex_;
    size_t frames_ = 0;
    int width_ = 0;
    int height_ = 0;
    uint32_t centre_ = 0;
    double brightness_ = 0;
};

}  // namespace calling::test
