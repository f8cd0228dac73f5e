// calltestdeviceprovider: a plain GstDeviceMonitor lists exactly the documented virtual devices;
// each device's element plays (NULL→PLAYING→NULL) and produces what the device says: the cameras'
// and the screen's frames in their size and rate and unlike each other, each microphone's tone at
// its frequency, the speaker in real time. Reconfiguring switches cameras and microphones while
// they play. Monitors, devices and elements are all freed.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include "tone_meter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <numbers>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gstreamer/ref_ptr.h"

using calling::detail::RefPtr;
using namespace std::chrono_literals;

namespace {

constexpr int kRate = 48000;
constexpr int kThumbWidth = 64;
constexpr int kThumbHeight = 48;
constexpr std::chrono::seconds kDeadline = 10s;

// What docs/elements.md promises for each device.
struct Expected {
    const char* id;
    const char* name;
    const char* deviceClass;
    const char* kind;
    const char* caps;
    const char* pattern = nullptr;  // video sources
    bool screen = false;            // video sources
    int frequency = 0;              // microphones
};

const std::vector<Expected>& expectedDevices()
{
    static const std::vector<Expected> devices = {
        {"virtual-camera-1", "Virtual camera 1", "Video/Source", "camera",
         "video/x-raw, width=(int)640, height=(int)480, framerate=(fraction)30/1", "smpte"},
        {"virtual-camera-2", "Virtual camera 2", "Video/Source", "camera",
         "video/x-raw, width=(int)640, height=(int)480, framerate=(fraction)30/1", "ball"},
        {"virtual-screen", "Virtual screen", "Video/Source", "screen",
         "video/x-raw, width=(int)1280, height=(int)720, framerate=(fraction)15/1", "colors", true},
        {"virtual-microphone-440", "Virtual microphone 440 Hz", "Audio/Source", "microphone",
         "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)48000, channels=(int)1", nullptr,
         false, 440},
        {"virtual-microphone-880", "Virtual microphone 880 Hz", "Audio/Source", "microphone",
         "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)48000, channels=(int)1", nullptr,
         false, 880},
        {"virtual-speaker", "Virtual speaker", "Audio/Sink", "speaker", "audio/x-raw"},
    };
    return devices;
}

const Expected& expected(const std::string& id)
{
    for (const Expected& device : expectedDevices()) {
        if (device.id == id)
            return device;
    }
    ADD_FAILURE() << "no such device " << id;
    return expectedDevices().front();
}

std::string stringField(const GstStructure* structure, const char* field)
{
    const gchar* value = structure ? gst_structure_get_string(structure, field) : nullptr;
    return value ? value : "";
}

// The virtual device's calling.device-id, or nothing for a real device.
std::optional<std::string> virtualId(GstDevice* device)
{
    g_autoptr(GstStructure) properties = gst_device_get_properties(device);
    gboolean isVirtual = FALSE;
    if (!properties || !gst_structure_get_boolean(properties, "calling.virtual", &isVirtual) || !isVirtual)
        return std::nullopt;
    return stringField(properties, "calling.device-id");
}

struct DeviceListFree {
    void operator()(GList* devices) const { g_list_free_full(devices, gst_object_unref); }
};
using DeviceList = std::unique_ptr<GList, DeviceListFree>;

// The virtual devices among `devices`, by id.
std::map<std::string, GstDevice*> virtualDevices(GList* devices)
{
    std::map<std::string, GstDevice*> found;
    for (GList* item = devices; item; item = item->next) {
        if (std::optional<std::string> id = virtualId(GST_DEVICE(item->data))) {
            EXPECT_FALSE(found.contains(*id)) << *id << " listed twice";
            found[*id] = GST_DEVICE(item->data);
        }
    }
    return found;
}

std::set<std::string> keys(const std::map<std::string, GstDevice*>& devices)
{
    std::set<std::string> ids;
    for (const auto& [id, device] : devices)
        ids.insert(id);
    return ids;
}

std::set<std::string> idsOfClass(const char* deviceClass)
{
    std::set<std::string> ids;
    for (const Expected& device : expectedDevices()) {
        if (std::string(device.deviceClass) == deviceClass)
            ids.insert(device.id);
    }
    return ids;
}

// A monitor as an application makes one, and the weak pointer that tells it was freed.
RefPtr<GstDeviceMonitor> plainMonitor(std::initializer_list<const char*> classes)
{
    RefPtr<GstDeviceMonitor> monitor = RefPtr<GstDeviceMonitor>::adopt(gst_device_monitor_new());
    for (const char* deviceClass : classes)
        EXPECT_GT(gst_device_monitor_add_filter(monitor.get(), deviceClass, nullptr), 0u) << deviceClass;
    return monitor;
}

// Checks one device against the documentation.
void expectDocumented(GstDevice* device)
{
    std::optional<std::string> id = virtualId(device);
    ASSERT_TRUE(id);
    const Expected& want = expected(*id);
    g_autofree gchar* name = gst_device_get_display_name(device);
    g_autofree gchar* deviceClass = gst_device_get_device_class(device);
    EXPECT_STREQ(name, want.name) << *id;
    EXPECT_STREQ(deviceClass, want.deviceClass) << *id;

    g_autoptr(GstCaps) caps = gst_device_get_caps(device);
    g_autoptr(GstCaps) wantCaps = gst_caps_from_string(want.caps);
    ASSERT_NE(caps, nullptr) << *id;
    g_autofree gchar* capsText = gst_caps_to_string(caps);
    EXPECT_TRUE(gst_caps_is_equal(caps, wantCaps)) << *id << ": " << capsText;

    g_autoptr(GstStructure) properties = gst_device_get_properties(device);
    ASSERT_NE(properties, nullptr);
    EXPECT_EQ(stringField(properties, "device.class"), want.deviceClass) << *id;
    EXPECT_EQ(stringField(properties, "calling.kind"), want.kind) << *id;
    EXPECT_EQ(stringField(properties, "calling.gst-launch").empty(), false) << *id;
    gboolean screen = !want.screen;
    if (std::string(want.deviceClass) == "Video/Source") {
        EXPECT_TRUE(gst_structure_get_boolean(properties, "calling.screen", &screen)) << *id;
        EXPECT_EQ(bool(screen), want.screen) << *id;
        EXPECT_EQ(stringField(properties, "calling.pattern"), want.pattern) << *id;
    } else {
        EXPECT_FALSE(gst_structure_has_field(properties, "calling.screen")) << *id;
    }
    gint frequency = 0;
    if (want.frequency) {
        EXPECT_TRUE(gst_structure_get_int(properties, "calling.frequency", &frequency)) << *id;
        EXPECT_EQ(frequency, want.frequency) << *id;
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring what elements produce


// The tone at `frequency` dominates frequencies around it and the other microphone's.
::testing::AssertionResult dominates(const std::vector<float>& samples, double frequency)
{
    double target = calling::test::goertzelPower(samples, frequency);
    for (double probe : {440.0, 880.0, frequency * 0.5, frequency * 0.8, frequency * 1.25, frequency * 2.5}) {
        if (probe != frequency && target < 20 * calling::test::goertzelPower(samples, probe)) {
            return ::testing::AssertionFailure() << "power at " << frequency << " Hz " << target << ", at " << probe
                                                 << " Hz " << calling::test::goertzelPower(samples, probe);
        }
    }
    return ::testing::AssertionSuccess() << "power at " << frequency << " Hz " << target;
}

using Thumbnail = std::vector<guint8>;

// Thumbnails of one picture differ by less than this (camera 1's bars have a patch of noise);
// thumbnails of different pictures by more than kDifferent.
constexpr double kSame = 8;
constexpr double kDifferent = 20;

// Mean absolute difference of two grey thumbnails, 0..255.
double difference(const Thumbnail& a, const Thumbnail& b)
{
    if (a.size() != b.size() || a.empty())
        return 255;
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
        sum += std::abs(int(a[i]) - int(b[i]));
    return sum / a.size();
}

// A device's element in a pipeline: the element, then `tail` ending in an appsink named "sink"
// (for a source), or `head` then the element (for a sink).
class Playback {
public:
    Playback(GstDevice* device, const char* description, bool deviceIsSource = true)
    {
        element_ = RefPtr<GstElement>::adopt(gst_device_create_element(device, "device"));
        EXPECT_TRUE(element_);
        if (!element_)
            return;
        g_object_add_weak_pointer(G_OBJECT(element_.get()), reinterpret_cast<gpointer*>(&alive_));
        alive_ = element_.get();
        pipeline_ = RefPtr<GstElement>::adopt(gst_pipeline_new(nullptr));
        g_autoptr(GError) error = nullptr;
        RefPtr<GstElement> rest =
            RefPtr<GstElement>::adopt(gst_parse_bin_from_description(description, TRUE, &error));
        EXPECT_TRUE(rest) << (error ? error->message : "");
        if (!rest)
            return;
        gst_bin_add_many(GST_BIN(pipeline_.get()), element_.get(), rest.get(), nullptr);
        bool linked = deviceIsSource ? gst_element_link(element_.get(), rest.get())
                                     : gst_element_link(rest.get(), element_.get());
        EXPECT_TRUE(linked);
        sink_ = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(rest.get()), "sink"));
    }

    ~Playback()
    {
        if (pipeline_) {
            EXPECT_EQ(gst_element_set_state(pipeline_.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
        }
        if (alive_)
            g_object_remove_weak_pointer(G_OBJECT(alive_), reinterpret_cast<gpointer*>(&alive_));
    }

    GstElement* element() const { return element_.get(); }
    GstElement* pipeline() const { return pipeline_.get(); }

    // Tears the pipeline down and drops every reference; the element must be gone then.
    ::testing::AssertionResult stopAndFree()
    {
        if (gst_element_set_state(pipeline_.get(), GST_STATE_NULL) != GST_STATE_CHANGE_SUCCESS)
            return ::testing::AssertionFailure() << "did not go to NULL";
        sink_.reset();
        element_.reset();
        pipeline_.reset();
        if (alive_)
            return ::testing::AssertionFailure() << "the device's element is still alive";
        return ::testing::AssertionSuccess();
    }

    // The first error on the bus, as text.
    std::string error() const
    {
        g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_.get());
        g_autoptr(GstMessage) message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        if (!message)
            return {};
        g_autoptr(GError) error = nullptr;
        g_autofree gchar* debug = nullptr;
        gst_message_parse_error(message, &error, &debug);
        return std::string(error->message) + " (" + (debug ? debug : "") + ")";
    }

    // The next sample, or null once the deadline has passed.
    RefPtr<GstSample> pull(std::chrono::steady_clock::time_point deadline) const
    {
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return nullptr;
        return RefPtr<GstSample>::adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(sink_.get()), left.count()));
    }

    // The caps the element's src pad negotiated.
    RefPtr<GstCaps> sourceCaps() const
    {
        RefPtr<GstPad> pad = RefPtr<GstPad>::adopt(gst_element_get_static_pad(element_.get(), "src"));
        return pad ? RefPtr<GstCaps>::adopt(gst_pad_get_current_caps(pad.get())) : nullptr;
    }

private:
    RefPtr<GstElement> element_;
    RefPtr<GstElement> pipeline_;
    RefPtr<GstElement> sink_;
    GstElement* alive_ = nullptr;  // weak
};

constexpr const char* kVideoTail = "videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=64,height=48 ! "
                                   "appsink name=sink sync=false";
constexpr const char* kAudioTail = "audioconvert ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! "
                                   "appsink name=sink sync=false";

Thumbnail thumbnail(GstSample* sample)
{
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
        return {};
    Thumbnail pixels(map.data, map.data + std::min<size_t>(map.size, kThumbWidth * kThumbHeight));
    gst_buffer_unmap(buffer, &map);
    return pixels;
}

std::vector<float> floats(GstSample* sample)
{
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
        return {};
    const auto* data = reinterpret_cast<const float*>(map.data);
    std::vector<float> samples(data, data + map.size / sizeof(float));
    gst_buffer_unmap(buffer, &map);
    return samples;
}

class TestDeviceProviderTest : public ::testing::Test {
protected:
    void SetUp() override { gst_init(nullptr, nullptr); }

    // The virtual devices, as a plain monitor probes them; the list owns them.
    std::map<std::string, GstDevice*> probe()
    {
        RefPtr<GstDeviceMonitor> monitor = plainMonitor({"Video/Source", "Audio/Source", "Audio/Sink"});
        devices_.reset(gst_device_monitor_get_devices(monitor.get()));
        return virtualDevices(devices_.get());
    }

    GstDevice* device(const std::string& id)
    {
        if (!devices_)
            probe();
        std::map<std::string, GstDevice*> found = virtualDevices(devices_.get());
        EXPECT_TRUE(found.contains(id)) << id;
        return found.contains(id) ? found[id] : nullptr;
    }

    // Plays a video device until `count` frames came out; returns their thumbnails.
    std::vector<Thumbnail> playVideo(const std::string& id, size_t count)
    {
        Playback playback(device(id), kVideoTail);
        const Expected& want = expected(id);
        // A live source does not preroll.
        EXPECT_EQ(gst_element_set_state(playback.pipeline(), GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL) << id;
        EXPECT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << id;

        std::vector<Thumbnail> frames;
        std::vector<GstClockTime> timestamps;
        auto deadline = std::chrono::steady_clock::now() + kDeadline;
        while (frames.size() < count) {
            RefPtr<GstSample> sample = playback.pull(deadline);
            if (!sample)
                break;
            frames.push_back(thumbnail(sample.get()));
            timestamps.push_back(GST_BUFFER_PTS(gst_sample_get_buffer(sample.get())));
        }
        EXPECT_EQ(frames.size(), count) << id << " stalled: " << playback.error();

        RefPtr<GstCaps> caps = playback.sourceCaps();
        EXPECT_TRUE(caps) << id;
        if (caps) {
            g_autoptr(GstCaps) documented = gst_caps_from_string(want.caps);
            g_autofree gchar* text = gst_caps_to_string(caps.get());
            EXPECT_TRUE(gst_caps_is_subset(caps.get(), documented)) << id << " produced " << text;
            EXPECT_TRUE(gst_caps_is_fixed(caps.get())) << text;
        }
        // Frames come at the documented rate.
        gint rateNumerator = 0, rateDenominator = 1;
        g_autoptr(GstCaps) documented = gst_caps_from_string(want.caps);
        gst_structure_get_fraction(gst_caps_get_structure(documented, 0), "framerate", &rateNumerator,
                                   &rateDenominator);
        GstClockTime interval = gst_util_uint64_scale(GST_SECOND, rateDenominator, rateNumerator);
        for (size_t i = 1; i < timestamps.size(); ++i) {
            EXPECT_NEAR(double(timestamps[i] - timestamps[i - 1]), double(interval), double(GST_MSECOND))
                << id << " frame " << i;
        }
        EXPECT_TRUE(playback.stopAndFree()) << id;
        return frames;
    }

    // Plays a microphone until `wanted` samples came out; returns them as mono floats.
    std::vector<float> playAudio(const std::string& id, size_t wanted)
    {
        Playback playback(device(id), kAudioTail);
        EXPECT_EQ(gst_element_set_state(playback.pipeline(), GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL) << id;
        EXPECT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << id;
        std::vector<float> samples;
        auto deadline = std::chrono::steady_clock::now() + kDeadline;
        while (samples.size() < wanted) {
            RefPtr<GstSample> sample = playback.pull(deadline);
            if (!sample)
                break;
            // A microphone delivers 10 ms at a time.
            EXPECT_EQ(GST_BUFFER_DURATION(gst_sample_get_buffer(sample.get())), 10 * GST_MSECOND) << id;
            std::vector<float> more = floats(sample.get());
            samples.insert(samples.end(), more.begin(), more.end());
        }
        EXPECT_GE(samples.size(), wanted) << id << " stalled: " << playback.error();
        RefPtr<GstCaps> caps = playback.sourceCaps();
        EXPECT_TRUE(caps) << id;
        if (caps) {
            g_autoptr(GstCaps) documented = gst_caps_from_string(expected(id).caps);
            g_autofree gchar* text = gst_caps_to_string(caps.get());
            EXPECT_TRUE(gst_caps_is_equal(caps.get(), documented)) << id << " produced " << text;
        }
        EXPECT_TRUE(playback.stopAndFree()) << id;
        return samples;
    }

    DeviceList devices_;
};

// ---------------------------------------------------------------------------------------------
// The provider and its devices

TEST_F(TestDeviceProviderTest, IsRegisteredWithARankTheMonitorUses)
{
    RefPtr<GstDeviceProviderFactory> factory =
        RefPtr<GstDeviceProviderFactory>::adopt(gst_device_provider_factory_find("calltestdeviceprovider"));
    ASSERT_TRUE(factory);
    // GstDeviceMonitor leaves out providers of rank none; marginal is the lowest rank above it.
    EXPECT_EQ(gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(factory.get())), guint(GST_RANK_MARGINAL));
    EXPECT_STREQ(gst_plugin_feature_get_plugin_name(GST_PLUGIN_FEATURE(factory.get())), "calling");
    EXPECT_TRUE(gst_device_provider_factory_has_classes(factory.get(), "Video/Source"));
    EXPECT_TRUE(gst_device_provider_factory_has_classes(factory.get(), "Audio/Source"));
    EXPECT_TRUE(gst_device_provider_factory_has_classes(factory.get(), "Audio/Sink"));
    EXPECT_NE(std::string(gst_device_provider_factory_get_metadata(factory.get(), GST_ELEMENT_METADATA_DESCRIPTION)),
              "");

    GList* monitored = gst_device_provider_factory_list_get_device_providers(GST_RANK_MARGINAL);
    bool listed = false;
    for (GList* item = monitored; item; item = item->next)
        listed |= std::string(GST_OBJECT_NAME(item->data)) == "calltestdeviceprovider";
    gst_plugin_feature_list_free(monitored);
    EXPECT_TRUE(listed);
}

TEST_F(TestDeviceProviderTest, PlainMonitorListsExactlyTheDocumentedDevices)
{
    RefPtr<GstDeviceMonitor> monitor = plainMonitor({"Video/Source", "Audio/Source", "Audio/Sink"});
    GstDeviceMonitor* monitorAlive = monitor.get();
    g_object_add_weak_pointer(G_OBJECT(monitorAlive), reinterpret_cast<gpointer*>(&monitorAlive));
    DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
    std::map<std::string, GstDevice*> found = virtualDevices(devices.get());

    std::set<std::string> all;
    for (const Expected& device : expectedDevices())
        all.insert(device.id);
    EXPECT_EQ(keys(found), all);
    for (const auto& [id, device] : found)
        expectDocumented(device);

    // The devices are freed with the list, the monitor when the last reference goes.
    std::vector<GstDevice*> alive;
    alive.reserve(found.size());
    for (const auto& [id, device] : found) {
        alive.push_back(device);
        g_object_add_weak_pointer(G_OBJECT(device), reinterpret_cast<gpointer*>(&alive.back()));
    }
    devices.reset();
    monitor.reset();
    EXPECT_EQ(monitorAlive, nullptr) << "the monitor leaked";
    for (GstDevice* device : alive)
        EXPECT_EQ(device, nullptr) << "a device leaked";
}

TEST_F(TestDeviceProviderTest, MonitorsLeaveItOutWhenItsRankIsLoweredToNone)
{
    // What docs/elements.md tells applications that want real devices only.
    RefPtr<GstPluginFeature> feature = RefPtr<GstPluginFeature>::adopt(
        gst_registry_find_feature(gst_registry_get(), "calltestdeviceprovider", GST_TYPE_DEVICE_PROVIDER_FACTORY));
    ASSERT_TRUE(feature);
    struct RestoreRank {
        GstPluginFeature* feature;
        ~RestoreRank() { gst_plugin_feature_set_rank(feature, GST_RANK_MARGINAL); }
    } restore{feature.get()};
    gst_plugin_feature_set_rank(feature.get(), GST_RANK_NONE);
    {
        RefPtr<GstDeviceMonitor> monitor = plainMonitor({});
        gst_device_monitor_add_filter(monitor.get(), "Video/Source", nullptr);
        DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
        EXPECT_TRUE(virtualDevices(devices.get()).empty());
    }
    gst_plugin_feature_set_rank(feature.get(), GST_RANK_MARGINAL);
    RefPtr<GstDeviceMonitor> monitor = plainMonitor({"Video/Source"});
    DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
    EXPECT_EQ(keys(virtualDevices(devices.get())), idsOfClass("Video/Source"));
}

TEST_F(TestDeviceProviderTest, EachClassFilterListsItsDevices)
{
    for (const char* deviceClass : {"Video/Source", "Audio/Source", "Audio/Sink"}) {
        RefPtr<GstDeviceMonitor> monitor = plainMonitor({deviceClass});
        DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
        EXPECT_EQ(keys(virtualDevices(devices.get())), idsOfClass(deviceClass)) << deviceClass;
    }
    // Caps filters work as for real devices.
    RefPtr<GstDeviceMonitor> monitor = RefPtr<GstDeviceMonitor>::adopt(gst_device_monitor_new());
    g_autoptr(GstCaps) hd = gst_caps_from_string("video/x-raw,width=1280,height=720");
    gst_device_monitor_add_filter(monitor.get(), "Video/Source", hd);
    DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
    EXPECT_EQ(keys(virtualDevices(devices.get())), std::set<std::string>{"virtual-screen"});
}

TEST_F(TestDeviceProviderTest, StartedMonitorAnnouncesTheDevicesAndFreesThemWhenStopped)
{
    RefPtr<GstDeviceMonitor> monitor = plainMonitor({"Video/Source", "Audio/Source", "Audio/Sink"});
    GstDeviceMonitor* monitorAlive = monitor.get();
    g_object_add_weak_pointer(G_OBJECT(monitorAlive), reinterpret_cast<gpointer*>(&monitorAlive));
    ASSERT_TRUE(gst_device_monitor_start(monitor.get()));

    // Announced on the monitor's bus, as devices that come and go are.
    RefPtr<GstBus> bus = RefPtr<GstBus>::adopt(gst_device_monitor_get_bus(monitor.get()));
    std::set<std::string> announced;
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (announced.size() < expectedDevices().size() && std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
        g_autoptr(GstMessage) message = gst_bus_timed_pop_filtered(bus.get(), left.count(), GST_MESSAGE_DEVICE_ADDED);
        if (!message)
            break;
        g_autoptr(GstDevice) device = nullptr;
        gst_message_parse_device_added(message, &device);
        if (std::optional<std::string> id = virtualId(device))
            announced.insert(*id);
    }
    EXPECT_EQ(announced.size(), expectedDevices().size());

    // While started, the monitor hands out the same devices.
    std::vector<GstDevice*> alive;
    {
        DeviceList devices(gst_device_monitor_get_devices(monitor.get()));
        std::map<std::string, GstDevice*> found = virtualDevices(devices.get());
        EXPECT_EQ(keys(found), announced);
        alive.reserve(found.size());
        for (const auto& [id, device] : found) {
            expectDocumented(device);
            alive.push_back(device);
            g_object_add_weak_pointer(G_OBJECT(device), reinterpret_cast<gpointer*>(&alive.back()));
        }
    }
    gst_device_monitor_stop(monitor.get());
    bus.reset();
    monitor.reset();
    EXPECT_EQ(monitorAlive, nullptr) << "the monitor leaked";
    for (GstDevice* device : alive)
        EXPECT_EQ(device, nullptr) << "a device outlived the stopped monitor";
}

TEST_F(TestDeviceProviderTest, CreatesAFreshFloatingElementEachTime)
{
    for (const Expected& want : expectedDevices()) {
        GstDevice* source = device(want.id);
        ASSERT_NE(source, nullptr);
        GstElement* first = gst_device_create_element(source, "first");
        GstElement* second = gst_device_create_element(source, nullptr);
        ASSERT_NE(first, nullptr) << want.id;
        ASSERT_NE(second, nullptr) << want.id;
        EXPECT_TRUE(g_object_is_floating(first)) << want.id;
        EXPECT_NE(first, second);
        EXPECT_STREQ(GST_OBJECT_NAME(first), "first");
        bool isSource = std::string(want.deviceClass).ends_with("Source");
        RefPtr<GstPad> pad = RefPtr<GstPad>::adopt(gst_element_get_static_pad(first, isSource ? "src" : "sink"));
        EXPECT_TRUE(pad) << want.id;
        gst_object_ref_sink(first);
        gst_object_unref(first);
        gst_object_ref_sink(second);
        gst_object_unref(second);
    }
}

// ---------------------------------------------------------------------------------------------
// What the elements produce

TEST_F(TestDeviceProviderTest, CamerasAndScreenProduceTheirSizeAndDifferentPictures)
{
    constexpr size_t kFrames = 8;
    std::vector<Thumbnail> camera1 = playVideo("virtual-camera-1", kFrames);
    std::vector<Thumbnail> camera2 = playVideo("virtual-camera-2", kFrames);
    std::vector<Thumbnail> screen = playVideo("virtual-screen", kFrames);
    ASSERT_EQ(camera1.size(), kFrames);
    ASSERT_EQ(camera2.size(), kFrames);
    ASSERT_EQ(screen.size(), kFrames);

    // Each device shows its own picture: a viewer tells them apart at a glance.
    EXPECT_GT(difference(camera1.back(), camera2.back()), kDifferent);
    EXPECT_GT(difference(camera1.back(), screen.back()), kDifferent);
    EXPECT_GT(difference(camera2.back(), screen.back()), kDifferent);
    // The ball and the screen move; camera 1's bars stand still.
    EXPECT_GT(difference(camera2.front(), camera2.back()), 0.0);
    EXPECT_GT(difference(screen.front(), screen.back()), 0.0);
    EXPECT_LT(difference(camera1.front(), camera1.back()), kSame);
}

TEST_F(TestDeviceProviderTest, EachMicrophoneSendsItsTone)
{
    for (const char* id : {"virtual-microphone-440", "virtual-microphone-880"}) {
        std::vector<float> samples = playAudio(id, kRate / 10);
        ASSERT_GE(samples.size(), size_t(kRate / 10)) << id;
        EXPECT_TRUE(dominates(samples, expected(id).frequency)) << id;
        // Volume 0.25: a sine peaking at -12 dBFS, as a voice in a microphone.
        EXPECT_NEAR(calling::test::rms(samples), 0.25 / std::numbers::sqrt2, 0.02) << id;
    }
}

TEST_F(TestDeviceProviderTest, SpeakerPlaysInRealTime)
{
    // 300 ms of audio from a source that is not live: only a sink that syncs takes that long.
    constexpr int kBuffers = 30;
    Playback playback(device("virtual-speaker"),
                      "audiotestsrc num-buffers=30 samplesperbuffer=480 ! capsfilter caps=audio/x-raw,rate=48000",
                      false);
    ASSERT_TRUE(playback.pipeline());
    auto started = std::chrono::steady_clock::now();
    ASSERT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    {
        g_autoptr(GstBus) bus = gst_element_get_bus(playback.pipeline());
        g_autoptr(GstMessage) message =
            gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        ASSERT_NE(message, nullptr) << "no EOS";
        EXPECT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_EOS) << playback.error();
    }
    EXPECT_GE(std::chrono::steady_clock::now() - started, kBuffers * 10ms - 50ms);
    EXPECT_TRUE(playback.stopAndFree());
}

// ---------------------------------------------------------------------------------------------
// Reconfiguring

TEST_F(TestDeviceProviderTest, ReconfiguresOnlyBetweenDevicesOfTheSameShape)
{
    struct Case {
        const char* from;
        const char* to;
        bool works;
    };
    for (Case test : {Case{"virtual-camera-1", "virtual-camera-2", true},
                      Case{"virtual-camera-1", "virtual-camera-1", true},
                      Case{"virtual-camera-1", "virtual-screen", false},
                      Case{"virtual-screen", "virtual-camera-2", false},
                      Case{"virtual-microphone-880", "virtual-microphone-440", true},
                      Case{"virtual-microphone-440", "virtual-camera-1", false},
                      Case{"virtual-speaker", "virtual-speaker", true},
                      Case{"virtual-speaker", "virtual-microphone-440", false}}) {
        RefPtr<GstElement> element = RefPtr<GstElement>::adopt(gst_device_create_element(device(test.from), nullptr));
        ASSERT_TRUE(element);
        EXPECT_EQ(bool(gst_device_reconfigure_element(device(test.to), element.get())), test.works)
            << test.from << " to " << test.to;
    }
    // Not an element of this provider.
    RefPtr<GstElement> other = RefPtr<GstElement>::adopt(gst_element_factory_make("videotestsrc", nullptr));
    EXPECT_FALSE(gst_device_reconfigure_element(device("virtual-camera-1"), other.get()));
}

TEST_F(TestDeviceProviderTest, SwitchesCameraWhilePlayingAndBeforePlaying)
{
    constexpr size_t kFrames = 4;
    Thumbnail bars = playVideo("virtual-camera-1", 1).at(0);

    // Reconfigured while it is not playing: camera 2's picture from the first frame.
    {
        Playback playback(device("virtual-camera-1"), kVideoTail);
        ASSERT_TRUE(gst_device_reconfigure_element(device("virtual-camera-2"), playback.element()));
        ASSERT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        RefPtr<GstSample> first = playback.pull(std::chrono::steady_clock::now() + kDeadline);
        ASSERT_TRUE(first) << playback.error();
        EXPECT_GT(difference(thumbnail(first.get()), bars), kDifferent) << "still the bars of camera 1";
        EXPECT_TRUE(playback.stopAndFree());
    }

    // Reconfigured while playing: the pictures change without a new element.
    Playback playback(device("virtual-camera-1"), kVideoTail);
    ASSERT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    for (size_t i = 0; i < kFrames; ++i) {
        RefPtr<GstSample> sample = playback.pull(deadline);
        ASSERT_TRUE(sample) << playback.error();
        EXPECT_LT(difference(thumbnail(sample.get()), bars), kSame);
    }
    ASSERT_TRUE(gst_device_reconfigure_element(device("virtual-camera-2"), playback.element()));
    bool switched = false;
    while (!switched) {
        RefPtr<GstSample> sample = playback.pull(deadline);
        ASSERT_TRUE(sample) << "no frame of camera 2 before the deadline; " << playback.error();
        switched = difference(thumbnail(sample.get()), bars) > kDifferent;
    }
    // And back.
    ASSERT_TRUE(gst_device_reconfigure_element(device("virtual-camera-1"), playback.element()));
    bool back = false;
    while (!back) {
        RefPtr<GstSample> sample = playback.pull(deadline);
        ASSERT_TRUE(sample) << "no frame of camera 1 again before the deadline; " << playback.error();
        back = difference(thumbnail(sample.get()), bars) < kSame;
    }
    EXPECT_TRUE(playback.stopAndFree());
}

TEST_F(TestDeviceProviderTest, SwitchesMicrophoneWhilePlaying)
{
    Playback playback(device("virtual-microphone-440"), kAudioTail);
    ASSERT_NE(gst_element_set_state(playback.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    // The last 100 ms, until the tone wanted dominates it.
    auto hear = [&](double frequency) {
        std::vector<float> window;
        while (true) {
            RefPtr<GstSample> sample = playback.pull(deadline);
            if (!sample)
                return ::testing::AssertionFailure() << "no " << frequency << " Hz before the deadline; "
                                                     << playback.error();
            std::vector<float> more = floats(sample.get());
            window.insert(window.end(), more.begin(), more.end());
            if (window.size() > size_t(kRate / 10))
                window.erase(window.begin(), window.end() - kRate / 10);
            if (window.size() == size_t(kRate / 10) && dominates(window, frequency))
                return ::testing::AssertionSuccess();
        }
    };
    EXPECT_TRUE(hear(440));
    ASSERT_TRUE(gst_device_reconfigure_element(device("virtual-microphone-880"), playback.element()));
    EXPECT_TRUE(hear(880));
    EXPECT_TRUE(playback.stopAndFree());
}

}  // namespace
