// A call's media: the GStreamer pipeline the library builds for it, from element factory names and
// the calling plugin's elements only (their properties, signals and pads; nothing else):
//
//   microphone → input-selector → callbin.audio_0
//   callbin.audio_<participant> → tee → opusdec → audioconvert → audioresample → level ┐
//                                                                                  ├→ audiomixer → volume → speaker
//   (one branch per remote participant stream) ───────────────────────────────────┘
//
//   appsrc "camera" → callbin.video_1        appsrc "screen" → callbin.video_2
//   callbin.video_<participant> → tee ─▶ views (ViewBranch: queue → decodebin → callrendersink)
//
// The tees carry the remote streams as they arrive (Opus, VP8 or H.264) to whatever else needs them
// undecoded: a recording (RecordingBranch) hooks its tracks there.
//
// Both video slots exist from the start, whether or not video is sent: webrtcbin 1.22 cannot add
// m-lines to a negotiated call, so every call offers audio, camera and screen sharing, and video
// starts and stops by frames flowing or not. A slot's pad name is its msid on the wire, which is
// how the far end tells the streams apart: a participant's published stream names its msid, or
// is `video_<id>` (docs/protocol.md). The remote video tees exist as soon as a view or the
// stream needs them, so a view may be attached before the stream's first packet.
//
// callbin does the signalling through the CallSignaller it is given and drives webrtcbin. Remote
// branches are built in callbin's pad-added handler (a streaming thread) from stock elements only;
// the application's speaker factory runs once, on the library thread, when the pipeline is built.
//
// Threads: create() and every method run on the library thread; `events` fire there too (from a bus
// watch on the library context).
#pragma once

#include <calling/audio_devices.h>
#include <calling/result.h>

#include "gstreamer/ref_ptr.h"
#include "protocol/glib_ptr.h"

#include <gst/gst.h>

#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>

typedef struct _CallSignaller CallSignaller;

namespace calling::detail {

class CallPipeline {
public:
    struct Events {
        // The level of one remote participant's decoded audio (participant raw id), every 50 ms
        // (RMS dBFS, loudest channel).
        std::function<void(const std::string& participantId, double rmsDb)> level;
        // webrtcbin's peer connection reached connected (true), or failed / closed after it (false).
        std::function<void(bool connected)> connection;
        // A fatal pipeline error, for people.
        std::function<void(const std::string& message)> failed;
    };

    static Result<std::unique_ptr<CallPipeline>> create(const std::string& callId, const AudioDevices& devices,
                                                        CallSignaller* signaller, bool muted, Events events,
                                                        GMainContext* libraryContext,
                                                        const char* videoCodecs = "vp8,h264");
    ~CallPipeline();  // stops the pipeline (to NULL) and releases it

    // Sends silence instead of the microphone.
    void setMuted(bool muted);
    // Replaces the microphone while the call goes on (the reference is taken over, floating or
    // full). False, keeping the old one, when the new one cannot start.
    bool setMicrophone(GstElement* source);
    // Replaces the speaker while the call goes on (relinked when the audio is between buffers).
    bool setSpeaker(GstElement* sink);
    // On hold nothing is sent (silence) and nothing is played.
    void setHeld(bool held);
    // The call's callbin, for its action signals (get-stats); the pipeline owns it.
    GstElement* callbin() const { return callbin_; }

    enum class VideoSlot { Camera, Screen };
    // The appsrc a LocalVideoStream's frames go into for the slot. Safe from any thread.
    GstElement* videoInput(VideoSlot slot) const { return slot == VideoSlot::Camera ? camera_ : screen_; }
    static int streamIdOf(VideoSlot slot) { return slot == VideoSlot::Camera ? 1 : 2; }
    // The tee carrying a remote participant's video stream (VP8 or H.264) of the given msid, made when
    // first asked for.
    GstElement* remoteVideo(const std::string& participantId, const std::string& msid);
    // The tee carrying a remote participant's audio (Opus, before decoding), made when first
    // asked for: a recording may hook to it before the participant's first packet.
    GstElement* remoteAudio(const std::string& participantId);
    GstBin* bin() const { return GST_BIN(pipeline_.get()); }

private:
    CallPipeline() = default;
    static void onPadAdded(GstElement* callbin, GstPad* pad, gpointer self);
    static gboolean onBusMessage(GstBus*, GstMessage* message, gpointer self);
    static void onConnectionState(GObject* callbin, GParamSpec*, gpointer self);
    void updateSending();

    RefPtr<GstElement> pipeline_;
    GstElement* microphone_ = nullptr;  // owned by pipeline_
    GstElement* selector_ = nullptr;    // owned by pipeline_
    GstElement* speaker_ = nullptr;     // owned by pipeline_
    GstElement* callbin_ = nullptr;   // owned by pipeline_
    GstElement* mixer_ = nullptr;     // owned by pipeline_
    GstElement* playback_ = nullptr;  // owned by pipeline_: the volume in front of the speaker
    GstElement* camera_ = nullptr;    // owned by pipeline_
    GstElement* screen_ = nullptr;    // owned by pipeline_
    // participant raw id + "/" + msid → its tee; written on the library and streaming threads.
    std::mutex videoMutex_;
    std::map<std::string, GstElement*> remoteVideos_;  // owned by pipeline_
    std::map<std::string, GstElement*> remoteAudios_;  // participant raw id → its tee; owned by pipeline_
    protocol::SourcePtr busWatch_;
    Events events_;
    bool muted_ = false;
    bool held_ = false;
    bool connected_ = false;
    // level element name → participant raw id; written on streaming threads, read on the library thread.
    std::mutex levelsMutex_;
    std::map<std::string, std::string> levelParticipants_;
};

}  // namespace calling::detail
