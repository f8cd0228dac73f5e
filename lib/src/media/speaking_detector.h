// Turns a stream of audio levels (RMS, dBFS, one per level interval) into isSpeaking, with
// hysteresis so that pauses between words and short noises do not make it flicker:
// speaking after `onIntervals` consecutive levels above `onDb`, silent after `offIntervals`
// consecutive levels below `offDb`; levels in between keep the current state.
#pragma once

namespace calling::detail {

class SpeakingDetector {
public:
    struct Thresholds {
        double onDb = -45.0;
        double offDb = -55.0;
        int onIntervals = 2;    // 2 x 50 ms
        int offIntervals = 12;  // 12 x 50 ms
    };

    SpeakingDetector() = default;
    explicit SpeakingDetector(Thresholds thresholds) : thresholds_(thresholds) {}

    // Returns true when isSpeaking changed with this level.
    bool addLevel(double rmsDb);
    bool isSpeaking() const { return speaking_; }
    void reset();

private:
    Thresholds thresholds_;
    bool speaking_ = false;
    int loud_ = 0;
    int quiet_ = 0;
};

}  // namespace calling::detail
