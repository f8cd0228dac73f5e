#include "media/speaking_detector.h"

namespace calling::detail {

bool SpeakingDetector::addLevel(double rmsDb)
{
    // -inf (digital silence) and NaN compare false with everything: both count as quiet.
    bool loud = rmsDb > thresholds_.onDb;
    bool quiet = !(rmsDb >= thresholds_.offDb);
    loud_ = loud ? loud_ + 1 : 0;
    quiet_ = quiet ? quiet_ + 1 : 0;
    if (!speaking_ && loud_ >= thresholds_.onIntervals) {
        speaking_ = true;
        return true;
    }
    if (speaking_ && quiet_ >= thresholds_.offIntervals) {
        speaking_ = false;
        return true;
    }
    return false;
}

void SpeakingDetector::reset()
{
    speaking_ = false;
    loud_ = 0;
    quiet_ = 0;
}

}  // namespace calling::detail
