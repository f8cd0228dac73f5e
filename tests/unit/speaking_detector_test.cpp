#include "media/speaking_detector.h"

#include <gtest/gtest.h>

#include <cmath>

using calling::detail::SpeakingDetector;

TEST(SpeakingDetector, StartsSpeakingAfterTwoLoudIntervals)
{
    SpeakingDetector detector;
    EXPECT_FALSE(detector.addLevel(-10));
    EXPECT_FALSE(detector.isSpeaking());
    EXPECT_TRUE(detector.addLevel(-10));
    EXPECT_TRUE(detector.isSpeaking());
}

TEST(SpeakingDetector, OneLoudBlipBetweenQuietOnesIsNotSpeech)
{
    SpeakingDetector detector;
    for (double level : {-80.0, -10.0, -80.0, -10.0, -80.0})
        EXPECT_FALSE(detector.addLevel(level));
    EXPECT_FALSE(detector.isSpeaking());
}

TEST(SpeakingDetector, ShortPausesDoNotStopSpeakingButLongSilenceDoes)
{
    SpeakingDetector detector;
    detector.addLevel(-10);
    detector.addLevel(-10);
    for (int i = 0; i < 11; i++)
        EXPECT_FALSE(detector.addLevel(-INFINITY)) << i;
    EXPECT_TRUE(detector.isSpeaking());
    detector.addLevel(-10);  // speech again: the pause count restarts
    for (int i = 0; i < 11; i++)
        detector.addLevel(-70);
    EXPECT_TRUE(detector.isSpeaking());
    EXPECT_TRUE(detector.addLevel(-70));
    EXPECT_FALSE(detector.isSpeaking());
}

TEST(SpeakingDetector, LevelsBetweenTheThresholdsKeepTheState)
{
    SpeakingDetector detector;
    for (int i = 0; i < 20; i++)
        EXPECT_FALSE(detector.addLevel(-50));
    EXPECT_FALSE(detector.isSpeaking());
    detector.addLevel(-10);
    detector.addLevel(-10);
    for (int i = 0; i < 20; i++)
        EXPECT_FALSE(detector.addLevel(-50));
    EXPECT_TRUE(detector.isSpeaking());
}

TEST(SpeakingDetector, NanCountsAsQuiet)
{
    SpeakingDetector detector;
    detector.addLevel(-10);
    detector.addLevel(-10);
    for (int i = 0; i < 12; i++)
        detector.addLevel(NAN);
    EXPECT_FALSE(detector.isSpeaking());
}
