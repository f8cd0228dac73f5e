// Looks at video a test receives: an appsink (made here, or one of a launch line) gets decoded
// frames as RGB, and the meter keeps how many came, the last one's size and pixels, and the
// longest wait between two frames since it was last reset.
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
    // 0xRRGGBB at (x, y) of the last frame; 0 outside it.
    uint32_t at(int x, int y) const;
    // The longest time between two consecutive frames since resetGaps().
    std::chrono::milliseconds longestGap() const;
    void resetGaps();
    // From now on, each frame's arrival time and its colour at (x, y) are kept.
    struct Sample {
        std::chrono::steady_clock::time_point arrived;
        uint32_t rgb;
    };
    void track(int x, int y);
    std::vector<Sample> tracked() const;
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
    std::vector<uint8_t> pixels_;  // the last frame, RGB rows of `stride_` bytes
    size_t stride_ = 0;
    std::chrono::steady_clock::time_point lastFrame_{};
    std::chrono::milliseconds longestGap_{0};
    int trackX_ = -1;
    int trackY_ = -1;
    std::vector<Sample> tracked_;
};

// Whether two 0xRRGGBB colours are within `tolerance` per channel.
bool near(uint32_t a, uint32_t b, int tolerance = 40);

}  // namespace calling::test
