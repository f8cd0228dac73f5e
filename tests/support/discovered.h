// What gst-discoverer-1.0 says of a media file: its duration, whether it seeks, its tracks.
#pragma once

#include <string>

namespace calling::test {

struct Discovered {
    std::string text;  // the tool's whole output, for failure messages
    double seconds = 0;
    bool seekable = false;
    int opusTracks = 0;
    int vp8Tracks = 0;
    int h264Tracks = 0;
    int audioTracks = 0;
    int videoTracks = 0;
};

Discovered discover(const std::string& path);

}  // namespace calling::test
