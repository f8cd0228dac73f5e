// The "call-stream-info" event: whose stream a pad carries.
//
// A sticky custom downstream event (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY). callbin stores one on each
// depayloader's src pad, so it reaches callparticipantdemux in order after stream-start, caps and
// segment; the demux routes the stream by it, re-sends it on the src pad it exposes, and publishes
// the same fields as that pad's properties. Anyone may send it to callparticipantdemux by hand:
//
//   call-stream-info, participant-id=(string)"8:acs:…", kind=(string)audio,
//                     stream-id=(string)"…", display-name=(string)"…"
//
//   participant-id  the participant's raw id (ACS form, e.g. "8:acs:<resource>_<uuid>")
//   kind            "audio" or "video"
//   stream-id       tells apart the participant's streams of one kind (the sender's msid, or the
//                   m-line's mid); a later stream with the same three keys continues the same pad
//   display-name    optional, may be empty
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>
#include <string_view>

#include "gstreamer/ref_ptr.h"

namespace calling::detail {

inline constexpr const char* kStreamInfoEventName = "call-stream-info";

struct StreamInfo {
    std::string participantId;
    std::string kind;
    std::string streamId;
    std::string displayName;

    bool operator==(const StreamInfo&) const = default;
    // Two events describe the same stream when these match; the display name may change.
    bool sameStream(const StreamInfo& other) const
    {
        return participantId == other.participantId && kind == other.kind && streamId == other.streamId;
    }
};

RefPtr<GstEvent> newStreamInfoEvent(const StreamInfo&);
std::optional<StreamInfo> parseStreamInfoEvent(GstEvent*);

// Participant ids hold ':' and other characters pad names should not; everything outside
// [A-Za-z0-9_-] becomes '_' ("8:acs:r_u" gives "8_acs_r_u"); an empty id gives "unknown".
std::string sanitizeForPadName(std::string_view);

// The read-only pad properties participant-id, kind, stream-id and display-name, shared by the
// src pads of callparticipantdemux and callbin. Installed from property id `first` on.
void installStreamInfoProperties(GObjectClass*, guint first);
// Fills `value` if `propertyId` is one of them; false otherwise.
bool getStreamInfoProperty(const StreamInfo&, guint first, guint propertyId, GValue* value);
// Notifies the properties that differ between `before` and `after`.
void notifyStreamInfoChanges(GObject*, const StreamInfo& before, const StreamInfo& after);

}  // namespace calling::detail
