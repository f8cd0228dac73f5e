// Measures a tone in audio a test receives: an appsink (made for a library speaker factory or a
// pipeline) keeps the last half second of decoded mono float samples, and dominance() tells how
// much of that audio's energy sits at a given frequency.
#pragma once

#include <gst/gst.h>

#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace calling::test {

// The power of 48 kHz `samples` at `frequency` (Goertzel), normalised by the window length: about
// A^2/4 for a sine of amplitude A at that frequency.
double goertzelPower(const std::vector<float>& samples, double frequency);
// The root mean square of `samples` (0 for none).
double rms(const std::vector<float>& samples);

class ToneMeter : public std::enable_shared_from_this<ToneMeter> {
public:
    static constexpr int kRate = 48000;

    static std::shared_ptr<ToneMeter> create();
    // A new appsink (floating) feeding this meter: F32LE mono 48 kHz.
    GstElement* makeSink();
    // Makes an existing appsink (one of a launch line, say) feed this meter, with the same settings.
    void attach(GstElement* appsink);

    // Energy at `frequency` relative to the whole window's energy, 0..1 (about 1 for a pure tone
    // at that frequency). 0 when there is nothing to measure yet.
    double dominance(double frequency) const;
    // RMS of the window, in dBFS (-inf for digital silence or nothing received).
    double rmsDb() const;
    // Samples received so far.
    size_t received() const;
    // Whether every sink made by makeSink() has been destroyed (its pipeline let go of it).
    bool sinksReleased() const;

private:
    ToneMeter() = default;
    static GstFlowReturn onSample(GstElement* sink, gpointer self);

    mutable std::mutex mutex_;
    std::deque<float> window_;
    size_t received_ = 0;
    int liveSinks_ = 0;
};

}  // namespace calling::test
