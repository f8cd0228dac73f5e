#include "call_stream_info.h"

#include <array>

namespace calling::detail {
namespace {

struct FieldSpec {
    const char* name;
    const char* nick;
    const char* blurb;
    std::string StreamInfo::*member;
};

constexpr std::array<FieldSpec, 4> kFields = {{
    {"participant-id", "Participant Id", "Raw id of the participant whose stream this pad carries.",
     &StreamInfo::participantId},
    {"kind", "Kind", "Kind of media this pad carries: audio or video.", &StreamInfo::kind},
    {"stream-id", "Stream Id", "Identifies the stream among the participant's streams of one kind.",
     &StreamInfo::streamId},
    {"display-name", "Display Name", "The participant's display name, empty when not known.",
     &StreamInfo::displayName},
}};

}  // namespace

RefPtr<GstEvent> newStreamInfoEvent(const StreamInfo& info)
{
    GstStructure* structure = gst_structure_new_empty(kStreamInfoEventName);
    for (const FieldSpec& field : kFields)
        gst_structure_set(structure, field.name, G_TYPE_STRING, (info.*field.member).c_str(), nullptr);
    return RefPtr<GstEvent>::adopt(gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, structure));
}

std::optional<StreamInfo> parseStreamInfoEvent(GstEvent* event)
{
    if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY)
        return std::nullopt;
    const GstStructure* structure = gst_event_get_structure(event);
    if (!structure || !gst_structure_has_name(structure, kStreamInfoEventName))
        return std::nullopt;
    StreamInfo info;
    for (const FieldSpec& field : kFields) {
        if (const char* value = gst_structure_get_string(structure, field.name))
            info.*field.member = value;
    }
    // Without a kind there is no pad template to expose the stream with.
    if (info.kind != "audio" && info.kind != "video")
        return std::nullopt;
    return info;
}

std::string sanitizeForPadName(std::string_view text)
{
    if (text.empty())
        return "unknown";
    std::string out(text);
    for (char& c : out) {
        if (!g_ascii_isalnum(c) && c != '_' && c != '-')
            c = '_';
    }
    return out;
}

void installStreamInfoProperties(GObjectClass* klass, guint first)
{
    for (guint i = 0; i < kFields.size(); ++i) {
        const FieldSpec& field = kFields[i];
        g_object_class_install_property(
            klass, first + i,
            g_param_spec_string(field.name, field.nick, field.blurb, "",
                                GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
    }
}

bool getStreamInfoProperty(const StreamInfo& info, guint first, guint propertyId, GValue* value)
{
    if (propertyId < first || propertyId >= first + kFields.size())
        return false;
    g_value_set_string(value, (info.*kFields[propertyId - first].member).c_str());
    return true;
}

void notifyStreamInfoChanges(GObject* object, const StreamInfo& before, const StreamInfo& after)
{
    for (const FieldSpec& field : kFields) {
        if (before.*field.member != after.*field.member)
            g_object_notify(object, field.name);
    }
}

}  // namespace calling::detail
