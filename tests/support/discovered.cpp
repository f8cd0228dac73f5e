#include "discovered.h"

#include "server_process.h"

#include <iterator>
#include <regex>

namespace calling::test {

Discovered discover(const std::string& path)
{
    Discovered found;
    CommandOutput run = runCommand({"gst-discoverer-1.0", path});
    found.text = run.text;
    std::smatch match;
    if (std::regex_search(run.text, match, std::regex(R"(Duration: (\d+):(\d+):(\d+\.\d+))")))
        found.seconds = std::stod(match[1]) * 3600 + std::stod(match[2]) * 60 + std::stod(match[3]);
    found.seekable = run.text.find("Seekable: yes") != std::string::npos;
    auto count = [&](const char* pattern) {
        std::regex regex(pattern);
        return int(std::distance(std::sregex_iterator(run.text.begin(), run.text.end(), regex), std::sregex_iterator()));
    };
    found.opusTracks = count(R"(audio #\d+: Opus)");
    found.vp8Tracks = count(R"(video #\d+: VP8)");
    found.h264Tracks = count(R"(video #\d+: H\.264)");
    found.audioTracks = count(R"(audio #\d+:)");
    found.videoTracks = count(R"(video #\d+:)");
    return found;
}

}  // namespace calling::test
