/**
 * SECTION:provider-calltestdeviceprovider
 * @title: calltestdeviceprovider
 *
 * calltestdeviceprovider gives machines without cameras, microphones or speakers (servers, CI,
 * containers) devices to call with, and gives tests devices whose media they can recognise. Every
 * device is a test element, live and in real time:
 *
 * | display name | class | calling.device-id | element |
 * |---|---|---|---|
 * | Virtual camera 1 | Video/Source | virtual-camera-1 | videotestsrc pattern=smpte, 640x480 at 30/1 |
 * | Virtual camera 2 | Video/Source | virtual-camera-2 | videotestsrc pattern=ball, 640x480 at 30/1 |
 * | Virtual screen | Video/Source | virtual-screen | videotestsrc pattern=colors, scrolling, 1280x720 at 15/1 |
 * | Virtual microphone 440 Hz | Audio/Source | virtual-microphone-440 | audiotestsrc sine 440 Hz, S16LE 48 kHz mono |
 * | Virtual microphone 880 Hz | Audio/Source | virtual-microphone-880 | audiotestsrc sine 880 Hz, S16LE 48 kHz mono |
 * | Virtual speaker | Audio/Sink | virtual-speaker | fakesink sync=true: discards audio in real time |
 *
 * Each device's properties structure says it is virtual (`calling.virtual=true`) and carries its
 * stable id (`calling.device-id`), which applications store and pick the device by; display names
 * are for people. `calling.kind` is camera, screen, microphone or speaker, `calling.screen` tells a
 * screen from a camera among the Video/Source devices, and `calling.gst-launch` is the same media
 * as a gst-launch-1.0 fragment.
 *
 * gst_device_create_element() makes a new element each time: a source is a bin with one `src` pad
 * that produces exactly the device's caps; the speaker is a fakesink. gst_device_reconfigure_element()
 * switches an element between devices of the same shape (one camera to the other, one microphone
 * to the other) while it plays, from the next buffer on.
 *
 * The provider has rank marginal, the lowest above none: GstDeviceMonitor leaves out providers
 * of rank none, so a plain monitor lists these devices next to the real ones. To hide them from
 * the monitors a process makes, set the feature's rank to none with gst_plugin_feature_set_rank()
 * (in 1.22 the GST_PLUGIN_FEATURE_RANK variable only reaches element factories).
 *
 * ## Example
 * |[
 * gst-device-monitor-1.0 Video/Source Audio/Source Audio/Sink
 * gst-launch-1.0 videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1 \
 *     ! videoconvert ! autovideosink
 * ]| The monitor lists the virtual devices with their properties; the launch line plays Virtual
 * camera 2, as its `calling.gst-launch` property says.
 */
#include "call_test_device_provider.h"

#include <vector>

#include "call_test_device.h"

GST_DEBUG_CATEGORY_STATIC(call_test_device_provider_debug);
#define GST_CAT_DEFAULT call_test_device_provider_debug

using calling::detail::TestDeviceSpec;

namespace {

constexpr const char* kCameraCaps = "video/x-raw,width=640,height=480,framerate=30/1";
constexpr const char* kScreenCaps = "video/x-raw,width=1280,height=720,framerate=15/1";
// 10 ms buffers, as a sound card's; -12 dBFS peaks, a voice's level.
constexpr const char* kMicrophoneCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1";
constexpr const char* kMicrophoneBuffer = "480";
constexpr const char* kMicrophoneVolume = "0.25";

TestDeviceSpec camera(const char* id, const char* displayName, const char* pattern)
{
    return {.id = id,
            .displayName = displayName,
            .deviceClass = "Video/Source",
            .kind = "camera",
            .factory = "videotestsrc",
            .properties = {{"is-live", "true"}, {"pattern", pattern}},
            .switchable = "pattern",
            .caps = kCameraCaps};
}

TestDeviceSpec microphone(const char* id, const char* displayName, const char* frequency)
{
    return {.id = id,
            .displayName = displayName,
            .deviceClass = "Audio/Source",
            .kind = "microphone",
            .factory = "audiotestsrc",
            .properties = {{"is-live", "true"},
                           {"wave", "sine"},
                           {"freq", frequency},
                           {"volume", kMicrophoneVolume},
                           {"samplesperbuffer", kMicrophoneBuffer}},
            .switchable = "freq",
            .caps = kMicrophoneCaps};
}

// The devices, in the order the provider lists them. Ids and display names are part of the
// interface: tests and applications pick devices by them.
const std::vector<TestDeviceSpec>& testDevices()
{
    static const std::vector<TestDeviceSpec> devices = {
        camera("virtual-camera-1", "Virtual camera 1", "smpte"),
        camera("virtual-camera-2", "Virtual camera 2", "ball"),
        {.id = "virtual-screen",
         .displayName = "Virtual screen",
         .deviceClass = "Video/Source",
         .kind = "screen",
         .factory = "videotestsrc",
         // Scrolls, so that a screen share has changing content as a desktop has.
         .properties = {{"is-live", "true"}, {"pattern", "colors"}, {"horizontal-speed", "4"}},
         .switchable = "pattern",
         .caps = kScreenCaps},
        microphone("virtual-microphone-440", "Virtual microphone 440 Hz", "440"),
        microphone("virtual-microphone-880", "Virtual microphone 880 Hz", "880"),
        {.id = "virtual-speaker",
         .displayName = "Virtual speaker",
         .deviceClass = "Audio/Sink",
         .kind = "speaker",
         .factory = "fakesink",
         .properties = {{"sync", "true"}},
         .caps = "audio/x-raw"},
    };
    return devices;
}

}  // namespace

struct _CallTestDeviceProvider {
    GstDeviceProvider parent;
};

G_DEFINE_TYPE_WITH_CODE(CallTestDeviceProvider, call_test_device_provider, GST_TYPE_DEVICE_PROVIDER,
                        GST_DEBUG_CATEGORY_INIT(call_test_device_provider_debug, "calltestdeviceprovider", 0,
                                                "Virtual test device provider"))

// Marginal, not none: GstDeviceMonitor leaves out providers of rank none.
GST_DEVICE_PROVIDER_REGISTER_DEFINE(calltestdeviceprovider, "calltestdeviceprovider", GST_RANK_MARGINAL,
                                    CALL_TYPE_TEST_DEVICE_PROVIDER)

static void call_test_device_provider_init(CallTestDeviceProvider*) {}

// The devices never come and go, so probing is all there is: GstDeviceProvider adds the probed
// devices when a monitor starts it, and probes afresh for gst_device_provider_get_devices() when
// nobody has started it.
static GList* call_test_device_provider_probe(GstDeviceProvider* provider)
{
    GList* devices = nullptr;
    for (const TestDeviceSpec& spec : testDevices())
        devices = g_list_append(devices, call_test_device_new(spec));
    GST_DEBUG_OBJECT(provider, "%u virtual devices", g_list_length(devices));
    return devices;
}

static void call_test_device_provider_class_init(CallTestDeviceProviderClass* klass)
{
    GstDeviceProviderClass* providerClass = GST_DEVICE_PROVIDER_CLASS(klass);
    providerClass->probe = call_test_device_provider_probe;
    gst_device_provider_class_set_static_metadata(
        providerClass, "Calling test devices", "Source/Sink/Audio/Video",
        "Virtual cameras, a screen, microphones and a speaker made of test elements, for machines without "
        "devices and for tests",
        "gst-calling");
}
