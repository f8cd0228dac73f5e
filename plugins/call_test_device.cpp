// CallTestDevice: one virtual device of calltestdeviceprovider. Its element is the spec's factory
// with the spec's properties; a source's is wrapped in a bin with a capsfilter after it, so that
// the device produces exactly the caps it advertises.
//
// Reconfiguring an element to another device of the same shape (camera 1 to camera 2, one test
// microphone to the other) changes the one property they differ in. videotestsrc reads its pattern
// without a lock while it draws a frame, so the change is made on the source's streaming thread,
// between two buffers, by a probe on its src pad; an element that is not streaming is changed at
// once.
#include "call_test_device.h"

#include <memory>
#include <mutex>

#include "gstreamer/ref_ptr.h"

GST_DEBUG_CATEGORY_STATIC(call_test_device_debug);
#define GST_CAT_DEFAULT call_test_device_debug

using calling::detail::RefPtr;
using calling::detail::TestDeviceSpec;

namespace calling::detail {

std::string TestDeviceSpec::property(const std::string& name) const
{
    for (const auto& [key, value] : properties) {
        if (key == name)
            return value;
    }
    return {};
}

std::string TestDeviceSpec::launchLine() const
{
    std::string line = factory;
    for (const auto& [key, value] : properties)
        line += " " + key + "=" + value;
    if (isSource() && !caps.empty())
        line += " ! " + caps;
    return line;
}

bool TestDeviceSpec::sameShape(const TestDeviceSpec& other) const
{
    if (deviceClass != other.deviceClass || kind != other.kind || factory != other.factory || caps != other.caps ||
        switchable != other.switchable || properties.size() != other.properties.size())
        return false;
    for (size_t i = 0; i < properties.size(); ++i) {
        if (properties[i].first != other.properties[i].first)
            return false;
        if (properties[i].first != switchable && properties[i].second != other.properties[i].second)
            return false;
    }
    return true;
}

}  // namespace calling::detail

namespace {

// Which device an element made by a test device plays. Shared by the element (as qdata) and the
// probe on its source's src pad, either of which may go first.
struct ElementControl {
    // Protects the members, and is held while the switchable property is set so that changes are
    // made in the order they were asked for. Lock order: this mutex, then the source's own locks;
    // a notify handler on the source must not reconfigure the element.
    std::mutex mutex;
    const TestDeviceSpec* playing = nullptr;  // the device the element plays, or is about to
    bool pending = false;                     // `playing` is not yet set on the source
};

using SharedControl = std::shared_ptr<ElementControl>;

GQuark controlQuark()
{
    static GQuark quark = g_quark_from_static_string("call-test-device-control");
    return quark;
}

void freeSharedControl(gpointer data)
{
    delete static_cast<SharedControl*>(data);
}

// Sets the device asked for last on `source`, if it is not set yet.
void applyPending(ElementControl& control, GstElement* source)
{
    std::lock_guard lock(control.mutex);
    if (!control.pending)
        return;
    control.pending = false;
    const TestDeviceSpec& spec = *control.playing;
    GST_DEBUG_OBJECT(source, "now playing %s: %s=%s", spec.id.c_str(), spec.switchable.c_str(),
                     spec.property(spec.switchable).c_str());
    gst_util_set_object_arg(G_OBJECT(source), spec.switchable.c_str(), spec.property(spec.switchable).c_str());
}

// On the source's streaming thread (or a thread holding its stream lock): between two buffers,
// and before the first one (stream-start, caps and segment go out first).
GstPadProbeReturn applyOnStreamingThread(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        GstEventType type = GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info));
        if (type != GST_EVENT_STREAM_START && type != GST_EVENT_CAPS && type != GST_EVENT_SEGMENT)
            return GST_PAD_PROBE_OK;
    }
    RefPtr<GstElement> source = RefPtr<GstElement>::adopt(gst_pad_get_parent_element(pad));
    if (source)
        applyPending(**static_cast<SharedControl*>(data), source.get());
    return GST_PAD_PROBE_OK;
}

}  // namespace

struct _CallTestDevice {
    GstDevice parent;
    const TestDeviceSpec* spec;  // owned by the provider's table, which lives as long as the plugin
};

G_DEFINE_TYPE_WITH_CODE(CallTestDevice, call_test_device, GST_TYPE_DEVICE,
                        GST_DEBUG_CATEGORY_INIT(call_test_device_debug, "calltestdevice", 0,
                                                "Virtual test devices"))

static void call_test_device_init(CallTestDevice*) {}

static GstElement* call_test_device_create_element(GstDevice* device, const gchar* name)
{
    const TestDeviceSpec& spec = *CALL_TEST_DEVICE(device)->spec;
    bool wrapped = spec.isSource() && !spec.caps.empty();
    RefPtr<GstElement> media =
        RefPtr<GstElement>::adopt(gst_element_factory_make(spec.factory.c_str(), wrapped ? "source" : name));
    if (!media) {
        GST_WARNING_OBJECT(device, "%s: no element %s (is its plugin installed?)", spec.id.c_str(),
                           spec.factory.c_str());
        return nullptr;
    }
    for (const auto& [property, value] : spec.properties)
        gst_util_set_object_arg(G_OBJECT(media.get()), property.c_str(), value.c_str());

    RefPtr<GstElement> element = media;
    if (wrapped) {
        // A bin without a factory: gst-device-monitor-1.0 would print a useless "gst-launch-1.0 bin"
        // for one made by gst_bin_new(); without a factory it prints the calling.gst-launch property
        // only, which is the real launch line.
        element = RefPtr<GstElement>::adopt(GST_ELEMENT(g_object_new(GST_TYPE_BIN, "name", name, nullptr)));
        RefPtr<GstElement> filter = RefPtr<GstElement>::adopt(gst_element_factory_make("capsfilter", "caps"));
        RefPtr<GstCaps> caps = RefPtr<GstCaps>::adopt(gst_caps_from_string(spec.caps.c_str()));
        if (!filter || !caps) {
            GST_WARNING_OBJECT(device, "%s: cannot filter to %s", spec.id.c_str(), spec.caps.c_str());
            return nullptr;
        }
        g_object_set(filter.get(), "caps", caps.get(), nullptr);
        gst_bin_add_many(GST_BIN(element.get()), media.get(), filter.get(), nullptr);
        if (!gst_element_link(media.get(), filter.get())) {
            GST_WARNING_OBJECT(device, "%s: %s cannot produce %s", spec.id.c_str(), spec.factory.c_str(),
                               spec.caps.c_str());
            return nullptr;
        }
        RefPtr<GstPad> filtered = RefPtr<GstPad>::adopt(gst_element_get_static_pad(filter.get(), "src"));
        gst_element_add_pad(element.get(), gst_ghost_pad_new("src", filtered.get()));
    }

    auto* control = new SharedControl(std::make_shared<ElementControl>());
    (*control)->playing = &spec;
    if (!spec.switchable.empty()) {
        RefPtr<GstPad> pad = RefPtr<GstPad>::adopt(gst_element_get_static_pad(media.get(), "src"));
        if (pad) {
            gst_pad_add_probe(pad.get(),
                              GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                              GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                              applyOnStreamingThread, new SharedControl(*control), freeSharedControl);
        }
    }
    g_object_set_qdata_full(G_OBJECT(element.get()), controlQuark(), control, freeSharedControl);
    GST_DEBUG_OBJECT(device, "created %s for %s: %s", GST_OBJECT_NAME(element.get()), spec.id.c_str(),
                     spec.launchLine().c_str());

    // gst_device_create_element() hands out a floating reference, as gst_element_factory_make() does.
    GstElement* created = element.release();
    g_object_force_floating(G_OBJECT(created));
    return created;
}

static gboolean call_test_device_reconfigure_element(GstDevice* device, GstElement* element)
{
    const TestDeviceSpec& target = *CALL_TEST_DEVICE(device)->spec;
    auto* shared = static_cast<SharedControl*>(g_object_get_qdata(G_OBJECT(element), controlQuark()));
    if (!shared)
        return FALSE;
    ElementControl& control = **shared;
    {
        std::lock_guard lock(control.mutex);
        if (control.playing == &target)
            return TRUE;
        if (!control.playing->sameShape(target) || target.switchable.empty()) {
            GST_DEBUG_OBJECT(device, "%s cannot become %s", control.playing->id.c_str(), target.id.c_str());
            return FALSE;
        }
        control.playing = &target;
        control.pending = true;
    }

    // Not streaming: nothing reads the property now, set it at once (streaming, the probe does).
    RefPtr<GstElement> source = GST_IS_BIN(element)
                                    ? RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(element), "source"))
                                    : RefPtr<GstElement>::ref(element);
    RefPtr<GstPad> pad = source ? RefPtr<GstPad>::adopt(gst_element_get_static_pad(source.get(), "src")) : nullptr;
    if (pad && !gst_pad_is_active(pad.get()))
        applyPending(control, source.get());
    GST_DEBUG_OBJECT(device, "%s now plays %s", GST_OBJECT_NAME(element), target.id.c_str());
    return TRUE;
}

static void call_test_device_class_init(CallTestDeviceClass* klass)
{
    GstDeviceClass* deviceClass = GST_DEVICE_CLASS(klass);
    deviceClass->create_element = call_test_device_create_element;
    deviceClass->reconfigure_element = call_test_device_reconfigure_element;
}

GstDevice* call_test_device_new(const TestDeviceSpec& spec)
{
    RefPtr<GstCaps> caps = RefPtr<GstCaps>::adopt(gst_caps_from_string(spec.caps.c_str()));
    g_autoptr(GstStructure) properties = gst_structure_new(
        "calling-test-device", "device.class", G_TYPE_STRING, spec.deviceClass.c_str(), "calling.virtual",
        G_TYPE_BOOLEAN, TRUE, "calling.device-id", G_TYPE_STRING, spec.id.c_str(), "calling.kind", G_TYPE_STRING,
        spec.kind.c_str(), nullptr);
    if (spec.deviceClass == "Video/Source") {
        gst_structure_set(properties, "calling.screen", G_TYPE_BOOLEAN, spec.kind == "screen", "calling.pattern",
                          G_TYPE_STRING, spec.property("pattern").c_str(), nullptr);
    }
    if (std::string frequency = spec.property("freq"); !frequency.empty()) {
        gint hertz = gint(g_ascii_strtoll(frequency.c_str(), nullptr, 10));
        gst_structure_set(properties, "calling.frequency", G_TYPE_INT, hertz, nullptr);
    }
    gst_structure_set(properties, "calling.gst-launch", G_TYPE_STRING, spec.launchLine().c_str(), nullptr);

    auto* device = CALL_TEST_DEVICE(g_object_new(CALL_TYPE_TEST_DEVICE, "display-name", spec.displayName.c_str(),
                                                 "device-class", spec.deviceClass.c_str(), "caps", caps.get(),
                                                 "properties", properties, nullptr));
    device->spec = &spec;
    return GST_DEVICE(device);
}
