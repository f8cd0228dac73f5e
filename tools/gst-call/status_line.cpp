#include "status_line.h"

#include <cmath>
#include <cstdio>

namespace gstcall {

using calling::MediaStreamDirection;
using calling::MediaStreamStats;

namespace {

std::string printf1(const char* format, double value)
{
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string describe(const MediaStreamStats& stream, bool withRtt)
{
    std::string text = std::string(calling::toString(stream.kind)) +
                       (stream.direction == MediaStreamDirection::Send ? " send " : " recv ");
    text += stream.bitrate ? printf1("%.1f kb/s", *stream.bitrate / 1000.0) : std::string("- kb/s");
    if (stream.packetsLostFraction)
        text += printf1(" loss %.1f%%", *stream.packetsLostFraction * 100.0);
    if (stream.jitterInMs)
        text += printf1(" jitter %.0f ms", std::round(*stream.jitterInMs));
    if (withRtt && stream.rttInMs)
        text += printf1(" rtt %.0f ms", std::round(*stream.rttInMs));
    return text;
}

}  // namespace

std::string formatCallTime(std::chrono::seconds elapsed)
{
    long long total = elapsed.count() < 0 ? 0 : elapsed.count();
    char text[32];
    if (total >= 3600)
        std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
    else
        std::snprintf(text, sizeof text, "%02lld:%02lld", total / 60, total % 60);
    return text;
}

std::string formatStatusLine(std::chrono::seconds elapsed, const calling::MediaStatsSample& sample)
{
    std::string line = formatCallTime(elapsed);
    if (sample.streams.empty())
        return line + " no media yet";
    bool receives = false;
    for (const auto& stream : sample.streams)
        receives = receives || stream.direction == MediaStreamDirection::Receive;
    bool first = true;
    for (const auto& stream : sample.streams) {
        line += first ? " " : " | ";
        first = false;
        line += describe(stream, stream.direction == MediaStreamDirection::Receive || !receives);
    }
    return line;
}

}  // namespace gstcall
