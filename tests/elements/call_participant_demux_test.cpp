// callparticipantdemux with GstHarness: streams tagged with "call-stream-info" come out of pads
// named after their participants; EOS becomes a gap; unlinked pads stall nothing.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gstreamer/ref_ptr.h"

using calling::detail::RefPtr;

namespace {

constexpr const char* kOpusCaps = "audio/x-opus, channel-mapping-family=(int)0, channels=(int)1, rate=(int)48000";

struct HarnessFree {
    void operator()(GstHarness* harness) const { gst_harness_teardown(harness); }
};
using Harness = std::unique_ptr<GstHarness, HarnessFree>;

// The event as the element documents it, built by hand as an application would.
GstEvent* streamInfo(const char* participantId, const char* kind, const char* streamId, const char* displayName)
{
    return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
                                gst_structure_new("call-stream-info", "participant-id", G_TYPE_STRING, participantId,
                                                  "kind", G_TYPE_STRING, kind, "stream-id", G_TYPE_STRING, streamId,
                                                  "display-name", G_TYPE_STRING, displayName, nullptr));
}

GstBuffer* payload(guint8 marker)
{
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, 16, nullptr);
    gst_buffer_memset(buffer, 0, marker, 16);
    return buffer;
}

guint8 firstByte(GstBuffer* buffer)
{
    guint8 byte = 0;
    gst_buffer_extract(buffer, 0, &byte, 1);
    return byte;
}

std::string stringProperty(gpointer object, const char* name)
{
    g_autofree gchar* value = nullptr;
    g_object_get(object, name, &value, nullptr);
    return value ? value : "";
}

struct Ended {
    std::string participantId;
    std::string padName;
};

class DemuxTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        demux = RefPtr<GstElement>::adopt(gst_element_factory_make("callparticipantdemux", nullptr));
        ASSERT_TRUE(demux);
        g_signal_connect(demux.get(), "participant-stream-ended",
                         G_CALLBACK(+[](GstElement*, const gchar* participant, const gchar* pad, gpointer data) {
                             static_cast<std::vector<Ended>*>(data)->push_back({participant, pad});
                         }),
                         &ended);
    }

    void TearDown() override
    {
        // Outputs first: they only watch; the inputs' teardown releases the sink pads.
        outputs.clear();
        inputs.clear();
        if (demux)
            gst_element_set_state(demux.get(), GST_STATE_NULL);
    }

    // A new request sink pad fed by a harness, with caps set (stream-start, caps, segment sent).
    GstHarness* addInput()
    {
        inputs.emplace_back(gst_harness_new_with_element(demux.get(), "sink_%u", nullptr));
        gst_harness_set_src_caps_str(inputs.back().get(), kOpusCaps);
        return inputs.back().get();
    }

    RefPtr<GstPad> srcPad(const char* name)
    {
        return RefPtr<GstPad>::adopt(gst_element_get_static_pad(demux.get(), name));
    }

    // A harness that receives from the demuxer's src pad `name`.
    GstHarness* addOutput(const char* name)
    {
        RefPtr<GstPad> pad = srcPad(name);
        if (!pad)
            return nullptr;
        outputs.emplace_back(gst_harness_new_with_element(demux.get(), nullptr, nullptr));
        gst_harness_add_element_src_pad(outputs.back().get(), pad.get());
        return outputs.back().get();
    }

    static bool receivedEos(GstHarness* output)
    {
        bool eos = false;
        while (GstEvent* event = gst_harness_try_pull_event(output)) {
            eos = eos || GST_EVENT_TYPE(event) == GST_EVENT_EOS;
            gst_event_unref(event);
        }
        return eos;
    }

    RefPtr<GstElement> demux;
    std::vector<Ended> ended;
    std::vector<Harness> inputs;
    std::vector<Harness> outputs;
};

TEST_F(DemuxTest, ExposesAPadNamedAfterTheTaggedParticipant)
{
    GstHarness* input = addInput();
    ASSERT_TRUE(gst_harness_push_event(input, streamInfo("8:acs:res_alice-1", "audio", "mic", "Alice")));

    RefPtr<GstPad> pad = srcPad("audio_8_acs_res_alice-1");
    ASSERT_TRUE(pad) << "no pad named after the sanitized participant id";
    EXPECT_EQ(stringProperty(pad.get(), "participant-id"), "8:acs:res_alice-1");
    EXPECT_EQ(stringProperty(pad.get(), "kind"), "audio");
    EXPECT_EQ(stringProperty(pad.get(), "stream-id"), "mic");
    EXPECT_EQ(stringProperty(pad.get(), "display-name"), "Alice");

    // The real id also travels downstream as the sticky event, after the stream's caps.
    g_autoptr(GstEvent) sticky = gst_pad_get_sticky_event(pad.get(), GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
    ASSERT_NE(sticky, nullptr);
    EXPECT_STREQ(gst_structure_get_string(gst_event_get_structure(sticky), "participant-id"), "8:acs:res_alice-1");
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad.get());
    ASSERT_NE(caps, nullptr);
    EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "audio/x-opus"));

    GstHarness* output = addOutput("audio_8_acs_res_alice-1");
    ASSERT_EQ(gst_harness_push(input, payload(7)), GST_FLOW_OK);
    g_autoptr(GstBuffer) out = gst_harness_pull(output);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(firstByte(out), 7);
}

TEST_F(DemuxTest, TwoParticipantsGetTwoPadsAndTheirOwnData)
{
    GstHarness* alice = addInput();
    GstHarness* bob = addInput();
    gst_harness_push_event(alice, streamInfo("8:acs:r_alice", "audio", "a", ""));
    gst_harness_push_event(bob, streamInfo("8:acs:r_bob", "audio", "b", ""));

    GstHarness* toAlice = addOutput("audio_8_acs_r_alice");
    GstHarness* toBob = addOutput("audio_8_acs_r_bob");
    ASSERT_NE(toAlice, nullptr);
    ASSERT_NE(toBob, nullptr);
    EXPECT_EQ(demux->numsrcpads, 2);

    ASSERT_EQ(gst_harness_push(alice, payload(1)), GST_FLOW_OK);
    ASSERT_EQ(gst_harness_push(bob, payload(2)), GST_FLOW_OK);
    ASSERT_EQ(gst_harness_push(alice, payload(3)), GST_FLOW_OK);

    EXPECT_EQ(gst_harness_buffers_received(toAlice), 2u);
    EXPECT_EQ(gst_harness_buffers_received(toBob), 1u);
    g_autoptr(GstBuffer) first = gst_harness_pull(toAlice);
    g_autoptr(GstBuffer) second = gst_harness_pull(toAlice);
    g_autoptr(GstBuffer) bobs = gst_harness_pull(toBob);
    EXPECT_EQ(firstByte(first), 1);
    EXPECT_EQ(firstByte(second), 3);
    EXPECT_EQ(firstByte(bobs), 2);
}

TEST_F(DemuxTest, EosBecomesAGapAndTheSameStreamContinuesOnTheSamePad)
{
    GstHarness* input = addInput();
    gst_harness_push_event(input, streamInfo("8:acs:r_carol", "audio", "mic", ""));
    GstHarness* output = addOutput("audio_8_acs_r_carol");
    ASSERT_NE(output, nullptr);
    ASSERT_EQ(gst_harness_push(input, payload(1)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(output));

    ASSERT_TRUE(gst_harness_push_event(input, gst_event_new_eos()));
    EXPECT_FALSE(receivedEos(output)) << "a stream's end must not end the src pad";
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].participantId, "8:acs:r_carol");
    EXPECT_EQ(ended[0].padName, "audio_8_acs_r_carol");

    // The participant comes back on another sink pad (as after a new SSRC): same pad, marked DISCONT.
    GstHarness* again = addInput();
    gst_harness_push_event(again, streamInfo("8:acs:r_carol", "audio", "mic", "Carol"));
    EXPECT_EQ(demux->numsrcpads, 1);
    ASSERT_EQ(gst_harness_push(again, payload(9)), GST_FLOW_OK);
    g_autoptr(GstBuffer) resumed = gst_harness_pull(output);
    ASSERT_NE(resumed, nullptr);
    EXPECT_EQ(firstByte(resumed), 9);
    EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(resumed, GST_BUFFER_FLAG_DISCONT));
    EXPECT_EQ(stringProperty(srcPad("audio_8_acs_r_carol").get(), "display-name"), "Carol");
    EXPECT_FALSE(receivedEos(output));
}

TEST_F(DemuxTest, AnUnlinkedPadDoesNotStallTheOthers)
{
    GstHarness* linked = addInput();
    GstHarness* unlinked = addInput();
    gst_harness_push_event(linked, streamInfo("8:acs:r_dave", "audio", "a", ""));
    gst_harness_push_event(unlinked, streamInfo("8:acs:r_erin", "audio", "a", ""));
    GstHarness* output = addOutput("audio_8_acs_r_dave");
    ASSERT_NE(output, nullptr);
    ASSERT_TRUE(srcPad("audio_8_acs_r_erin"));

    for (guint8 i = 0; i < 5; ++i) {
        EXPECT_EQ(gst_harness_push(unlinked, payload(i)), GST_FLOW_OK) << "not-linked must not reach upstream";
        EXPECT_EQ(gst_harness_push(linked, payload(i)), GST_FLOW_OK);
    }
    EXPECT_EQ(gst_harness_buffers_received(output), 5u);
}

TEST_F(DemuxTest, WithoutAllowNotLinkedFlowsAreCombined)
{
    g_object_set(demux.get(), "allow-not-linked", FALSE, nullptr);
    GstHarness* linked = addInput();
    GstHarness* unlinked = addInput();
    gst_harness_push_event(unlinked, streamInfo("8:acs:r_erin", "audio", "a", ""));
    // Alone and unlinked: upstream hears not-linked.
    EXPECT_EQ(gst_harness_push(unlinked, payload(0)), GST_FLOW_NOT_LINKED);

    gst_harness_push_event(linked, streamInfo("8:acs:r_dave", "audio", "a", ""));
    GstHarness* output = addOutput("audio_8_acs_r_dave");
    ASSERT_NE(output, nullptr);
    EXPECT_EQ(gst_harness_push(linked, payload(1)), GST_FLOW_OK);
    // One linked pad flows, so the unlinked one's stream goes on.
    EXPECT_EQ(gst_harness_push(unlinked, payload(2)), GST_FLOW_OK);
    EXPECT_EQ(gst_harness_buffers_received(output), 1u);
}

TEST_F(DemuxTest, AnUntaggedStreamIsExposedByKind)
{
    GstHarness* input = addInput();
    ASSERT_EQ(gst_harness_push(input, payload(5)), GST_FLOW_OK);
    RefPtr<GstPad> pad = srcPad("audio_unknown");
    ASSERT_TRUE(pad);
    EXPECT_EQ(stringProperty(pad.get(), "participant-id"), "");
    EXPECT_EQ(stringProperty(pad.get(), "kind"), "audio");
}

TEST_F(DemuxTest, EndingTheElementEndsEveryPad)
{
    GstHarness* input = addInput();
    gst_harness_push_event(input, streamInfo("8:acs:r_frank", "audio", "a", ""));
    GstHarness* output = addOutput("audio_8_acs_r_frank");
    ASSERT_NE(output, nullptr);
    ASSERT_TRUE(gst_element_send_event(demux.get(), gst_event_new_eos()));
    EXPECT_TRUE(receivedEos(output));
    EXPECT_EQ(gst_harness_push(input, payload(1)), GST_FLOW_EOS);
}

TEST_F(DemuxTest, ReleasingTheLastSinkPadEndsThePads)
{
    GstHarness* input = addInput();
    gst_harness_push_event(input, streamInfo("8:acs:r_gina", "audio", "a", ""));
    GstHarness* output = addOutput("audio_8_acs_r_gina");
    ASSERT_NE(output, nullptr);
    g_autoptr(GstPad) sink = gst_element_get_static_pad(demux.get(), "sink_0");
    ASSERT_NE(sink, nullptr);
    gst_element_release_request_pad(demux.get(), sink);
    EXPECT_TRUE(receivedEos(output));
    ASSERT_EQ(ended.size(), 1u) << "releasing a live stream's pad ends the stream";
    EXPECT_EQ(ended[0].padName, "audio_8_acs_r_gina");
}

TEST_F(DemuxTest, NullPlayingNullRemovesThePads)
{
    for (int round = 0; round < 3; ++round) {
        ASSERT_EQ(gst_element_set_state(demux.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
        g_autoptr(GstPad) sink = gst_element_request_pad_simple(demux.get(), "sink_%u");
        ASSERT_NE(sink, nullptr);
        g_autoptr(GstPad) peer = gst_pad_new("peer", GST_PAD_SRC);
        ASSERT_EQ(gst_pad_link(peer, sink), GST_PAD_LINK_OK);
        gst_pad_set_active(peer, TRUE);
        gst_pad_push_event(peer, gst_event_new_stream_start("s"));
        gst_pad_push_event(peer, streamInfo("8:acs:r_hal", "audio", "a", ""));
        EXPECT_EQ(demux->numsrcpads, 1);
        ASSERT_EQ(gst_element_set_state(demux.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        EXPECT_EQ(demux->numsrcpads, 0);
        gst_pad_unlink(peer, sink);
        gst_element_release_request_pad(demux.get(), sink);
    }
}

}  // namespace
