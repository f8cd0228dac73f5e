#include "media/media_stats.h"

#include <algorithm>
#include <string>
#include <vector>

namespace calling {

const char* toString(MediaStreamDirection direction)
{
    return direction == MediaStreamDirection::Send ? "send" : "receive";
}

const char* toString(MediaStreamKind kind)
{
    return kind == MediaStreamKind::Audio ? "audio" : "video";
}

const MediaStreamStats* MediaStatsSample::find(MediaStreamDirection direction, MediaStreamKind kind) const
{
    for (const auto& stream : streams)
        if (stream.direction == direction && stream.kind == kind)
            return &stream;
    return nullptr;
}

}  // namespace calling

namespace calling::detail {

namespace {

// webrtcbin's counters are of several integer types (guint64, uint, gint64); read any of them.
std::optional<int64_t> integer(const GstStructure* entry, const char* field)
{
    const GValue* value = gst_structure_get_value(entry, field);
    if (!value)
        return std::nullopt;
    if (G_VALUE_HOLDS_UINT64(value))
        return int64_t(g_value_get_uint64(value));
    if (G_VALUE_HOLDS_INT64(value))
        return g_value_get_int64(value);
    if (G_VALUE_HOLDS_UINT(value))
        return int64_t(g_value_get_uint(value));
    if (G_VALUE_HOLDS_INT(value))
        return int64_t(g_value_get_int(value));
    return std::nullopt;
}

std::optional<double> real(const GstStructure* entry, const char* field)
{
    double number = 0;
    if (gst_structure_get_double(entry, field, &number))
        return number;
    return std::nullopt;
}

std::string text(const GstStructure* entry, const char* field)
{
    const char* value = gst_structure_get_string(entry, field);
    return value ? value : "";
}

struct Codec {
    std::string id;
    std::string mimeType;  // "audio/OPUS"
    std::optional<int64_t> ssrc;
};

std::optional<MediaStreamKind> kindOf(const std::string& kind)
{
    if (kind == "audio")
        return MediaStreamKind::Audio;
    if (kind == "video")
        return MediaStreamKind::Video;
    return std::nullopt;
}

std::optional<MediaStreamKind> kindOfMime(const std::string& mimeType)
{
    return kindOf(mimeType.substr(0, mimeType.find('/')));
}

std::string subtypeOf(const std::string& mimeType)
{
    auto slash = mimeType.find('/');
    return slash == std::string::npos ? std::string() : mimeType.substr(slash + 1);
}

struct Entries {
    std::vector<Codec> codecs;
    std::vector<const GstStructure*> outbound;
    std::vector<const GstStructure*> inbound;
    std::vector<const GstStructure*> remoteInbound;
};

Entries collect(const GstStructure* stats)
{
    Entries entries;
    for (int i = 0; i < gst_structure_n_fields(stats); ++i) {
        const GValue* value = gst_structure_get_value(stats, gst_structure_nth_field_name(stats, i));
        if (!value || !GST_VALUE_HOLDS_STRUCTURE(value))
            continue;
        const GstStructure* entry = gst_value_get_structure(value);
        if (gst_structure_has_name(entry, "codec"))
            entries.codecs.push_back({text(entry, "id"), text(entry, "mime-type"), integer(entry, "ssrc")});
        else if (gst_structure_has_name(entry, "outbound-rtp"))
            entries.outbound.push_back(entry);
        else if (gst_structure_has_name(entry, "inbound-rtp"))
            entries.inbound.push_back(entry);
        else if (gst_structure_has_name(entry, "remote-inbound-rtp"))
            entries.remoteInbound.push_back(entry);
    }
    return entries;
}

// An entry's kind. webrtcbin 1.22 bundles every stream on one transport and writes the kind and
// codec-id of one transceiver on all of them (a VP8 stream reads "audio"), so the SSRC decides:
// the codec entry that names it, else the clock rate of its RTP source (90 kHz for video; Opus is
// 48 kHz); the entry's own fields only when neither is there.
std::optional<MediaStreamKind> kindOfEntry(const GstStructure* entry, const std::vector<Codec>& codecs)
{
    auto ssrc = integer(entry, "ssrc");
    if (ssrc) {
        for (const auto& codec : codecs)
            if (codec.ssrc && uint32_t(*codec.ssrc) == uint32_t(*ssrc) && !codec.mimeType.empty())
                return kindOfMime(codec.mimeType);
        const GValue* sourceValue = gst_structure_get_value(entry, "gst-rtpsource-stats");
        const GstStructure* source =
            sourceValue && GST_VALUE_HOLDS_STRUCTURE(sourceValue) ? gst_value_get_structure(sourceValue) : nullptr;
        auto sourceSsrc = source ? integer(source, "ssrc") : std::nullopt;
        auto clockRate = source ? integer(source, "clock-rate") : std::nullopt;
        if (sourceSsrc && uint32_t(*sourceSsrc) == uint32_t(*ssrc) && clockRate && *clockRate > 0)
            return *clockRate == 90000 ? MediaStreamKind::Video : MediaStreamKind::Audio;
    }
    if (auto kind = kindOf(text(entry, "kind")))
        return kind;
    std::string codecId = text(entry, "codec-id");
    for (const auto& codec : codecs)
        if (codec.id == codecId)
            return kindOfMime(codec.mimeType);
    return std::nullopt;
}

// The codec's name for a stream: the codec of its SSRC, else of its codec-id, else any codec of
// its kind (a 1:1 call negotiates one codec per kind, and webrtcbin 1.22 leaves the receive side's
// codec entries without a MIME type).
std::string codecNameOf(uint32_t ssrc, const std::string& codecId, MediaStreamKind kind,
                        const std::vector<Codec>& codecs)
{
    for (const auto& codec : codecs)
        if (codec.ssrc && uint32_t(*codec.ssrc) == ssrc && !codec.mimeType.empty())
            return subtypeOf(codec.mimeType);
    for (const auto& codec : codecs)
        if (codec.id == codecId && !codec.mimeType.empty())
            return subtypeOf(codec.mimeType);
    for (const auto& codec : codecs)
        if (kindOfMime(codec.mimeType) == kind)
            return subtypeOf(codec.mimeType);
    return {};
}

double toMs(double seconds)
{
    return seconds * 1000.0;
}

}  // namespace

MediaStatsSample MediaStatsComputer::next(const GstStructure* stats)
{
    MediaStatsSample sample;
    if (!stats)
        return sample;
    Entries entries = collect(stats);
    std::map<std::pair<MediaStreamDirection, uint32_t>, Previous> seen;

    // Round-trip time per kind, from any receiver report the far end sent on what this side sends.
    std::map<MediaStreamKind, double> rttByKind;
    std::optional<double> anyRtt;
    for (const GstStructure* report : entries.remoteInbound) {
        auto rtt = real(report, "round-trip-time");
        if (!rtt || *rtt < 0)
            continue;
        anyRtt = toMs(*rtt);
        if (auto kind = kindOfEntry(report, entries.codecs))
            rttByKind[*kind] = toMs(*rtt);
    }
    auto rttFor = [&](MediaStreamKind kind) -> std::optional<double> {
        if (auto found = rttByKind.find(kind); found != rttByKind.end())
            return found->second;
        return anyRtt;
    };

    auto rate = [&](MediaStreamStats& stream, double timestamp, uint64_t bytes, uint64_t packets, int64_t lost) {
        auto key = std::make_pair(stream.direction, stream.ssrc);
        seen[key] = Previous{timestamp, bytes, packets, lost};
        auto found = previous_.find(key);
        if (found == previous_.end()) {
            if (stream.direction == MediaStreamDirection::Receive && packets + std::max<int64_t>(lost, 0) > 0)
                stream.packetsLostFraction = double(std::max<int64_t>(lost, 0)) / double(packets + std::max<int64_t>(lost, 0));
            return;
        }
        const Previous& before = found->second;
        double elapsedMs = timestamp - before.timestampInMs;
        if (elapsedMs > 0 && bytes >= before.bytes)
            stream.bitrate = double(bytes - before.bytes) * 8.0 * 1000.0 / elapsedMs;
        if (stream.direction == MediaStreamDirection::Receive) {
            int64_t lostNow = std::max<int64_t>(lost - before.lost, 0);
            int64_t received = packets >= before.packets ? int64_t(packets - before.packets) : 0;
            stream.packetsLostFraction =
                lostNow + received > 0 ? double(lostNow) / double(lostNow + received) : 0.0;
        }
    };

    // The entry of `kind` with the highest `counter`: webrtcbin lists the SSRC a sender
    // retransmits on (RTX) as a stream of its own, with fewer packets.
    auto busiestOf = [&](const std::vector<const GstStructure*>& list, MediaStreamKind kind, const char* counter) {
        const GstStructure* busiest = nullptr;
        for (const GstStructure* entry : list)
            if (kindOfEntry(entry, entries.codecs) == kind &&
                (!busiest || integer(entry, counter).value_or(0) > integer(busiest, counter).value_or(0)))
                busiest = entry;
        return busiest;
    };
    // A stream's identity: its direction, kind, SSRC and codec; nothing for an entry of no kind.
    auto streamOf = [&](const GstStructure* entry, MediaStreamDirection direction) -> std::optional<MediaStreamStats> {
        auto kind = kindOfEntry(entry, entries.codecs);
        if (!kind)
            return std::nullopt;
        MediaStreamStats stream;
        stream.direction = direction;
        stream.kind = *kind;
        stream.ssrc = uint32_t(integer(entry, "ssrc").value_or(0));
        stream.codecName = codecNameOf(stream.ssrc, text(entry, "codec-id"), *kind, entries.codecs);
        return stream;
    };

    // Sent streams: the SSRCs callbin's encoders send (a codec entry names them); webrtcbin lists
    // RTX SSRCs as outbound-rtp too. Should no codec entry name one, the busiest SSRC of each kind.
    std::vector<const GstStructure*> sent;
    for (const GstStructure* entry : entries.outbound) {
        auto ssrc = integer(entry, "ssrc");
        bool named = ssrc && std::any_of(entries.codecs.begin(), entries.codecs.end(), [&](const Codec& codec) {
                         return codec.ssrc && uint32_t(*codec.ssrc) == uint32_t(*ssrc);
                     });
        if (named)
            sent.push_back(entry);
    }
    for (MediaStreamKind kind : {MediaStreamKind::Audio, MediaStreamKind::Video}) {
        bool have = std::any_of(sent.begin(), sent.end(),
                                [&](const GstStructure* entry) { return kindOfEntry(entry, entries.codecs) == kind; });
        if (have)
            continue;
        if (const GstStructure* entry = busiestOf(entries.outbound, kind, "packets-sent"))
            sent.push_back(entry);
    }

    for (const GstStructure* entry : sent) {
        auto started = streamOf(entry, MediaStreamDirection::Send);
        if (!started)
            continue;
        MediaStreamStats& stream = *started;
        uint64_t bytes = uint64_t(std::max<int64_t>(integer(entry, "bytes-sent").value_or(0), 0));
        stream.packets = uint64_t(std::max<int64_t>(integer(entry, "packets-sent").value_or(0), 0));
        // The far end's report on exactly this SSRC, if webrtcbin kept it.
        std::string id = text(entry, "id");
        for (const GstStructure* report : entries.remoteInbound) {
            if (text(report, "local-id") != id)
                continue;
            if (auto lost = integer(report, "packets-lost"))
                stream.packetsLost = std::max<int64_t>(*lost, 0);  // duplicates (RTX) make it negative
            stream.packetsLostFraction = real(report, "fraction-lost");
            if (auto jitter = real(report, "jitter"))
                stream.jitterInMs = toMs(*jitter);
        }
        stream.rttInMs = rttFor(stream.kind);
        rate(stream, real(entry, "timestamp").value_or(0), bytes, stream.packets, 0);
        sample.timestampInMs = std::max(sample.timestampInMs, real(entry, "timestamp").value_or(0));
        sample.streams.push_back(std::move(stream));
    }

    // Received streams: a 1:1 call receives one stream per kind, and webrtcbin lists the SSRC the
    // far end retransmits on (RTX) as inbound-rtp too: the busiest SSRC of each kind is the stream.
    std::vector<const GstStructure*> received;
    for (MediaStreamKind kind : {MediaStreamKind::Audio, MediaStreamKind::Video}) {
        if (const GstStructure* entry = busiestOf(entries.inbound, kind, "packets-received"))
            received.push_back(entry);
    }

    for (const GstStructure* entry : received) {
        auto started = streamOf(entry, MediaStreamDirection::Receive);
        if (!started)
            continue;
        MediaStreamStats& stream = *started;
        uint64_t bytes = uint64_t(std::max<int64_t>(integer(entry, "bytes-received").value_or(0), 0));
        stream.packets = uint64_t(std::max<int64_t>(integer(entry, "packets-received").value_or(0), 0));
        int64_t lost = std::max<int64_t>(integer(entry, "packets-lost").value_or(0), 0);
        stream.packetsLost = lost;
        if (auto jitter = real(entry, "jitter"))
            stream.jitterInMs = toMs(*jitter);
        stream.rttInMs = rttFor(stream.kind);
        rate(stream, real(entry, "timestamp").value_or(0), bytes, stream.packets, lost);
        sample.timestampInMs = std::max(sample.timestampInMs, real(entry, "timestamp").value_or(0));
        sample.streams.push_back(std::move(stream));
    }

    std::stable_sort(sample.streams.begin(), sample.streams.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.direction, a.kind) < std::make_pair(b.direction, b.kind);
    });
    // Streams that went away are forgotten, so that one coming back starts afresh.
    previous_ = std::move(seen);
    return sample;
}

}  // namespace calling::detail
