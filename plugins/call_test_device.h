// CallTestDevice: one virtual device of calltestdeviceprovider (a camera, a screen, a microphone or
// a speaker made of a test element). See the provider's documentation in
// call_test_device_provider.cpp and docs/elements.md.
#pragma once

#include <gst/gst.h>

#include <string>
#include <utility>
#include <vector>

G_BEGIN_DECLS

#define CALL_TYPE_TEST_DEVICE (call_test_device_get_type())
G_DECLARE_FINAL_TYPE(CallTestDevice, call_test_device, CALL, TEST_DEVICE, GstDevice)

G_END_DECLS

namespace calling::detail {

// What one virtual device is and which element plays it.
struct TestDeviceSpec {
    std::string id;           // calling.device-id: stable, for applications to pick the device by
    std::string displayName;  // the GstDevice's display-name
    std::string deviceClass;  // "Video/Source", "Audio/Source" or "Audio/Sink"
    std::string kind;         // calling.kind: camera, screen, microphone or speaker
    std::string factory;      // the element that makes (or plays) the media
    std::vector<std::pair<std::string, std::string>> properties;  // set on it, in this order
    // The property in which devices of the same shape (same class, kind, factory, caps and other
    // properties) differ, such as a camera's "pattern": reconfiguring an element from one such
    // device to another only changes it. Empty: an element plays only its own device.
    std::string switchable;
    // What the device produces or takes. A source's element is followed by a capsfilter with
    // these caps; a sink's element is used alone and takes anything.
    std::string caps;

    bool isSource() const { return deviceClass.ends_with("/Source"); }
    // The value of one of `properties`, empty when not set.
    std::string property(const std::string& name) const;
    // The same media as a gst-launch-1.0 fragment, e.g. "videotestsrc is-live=true ! video/x-raw,…".
    std::string launchLine() const;
    // The two devices' elements differ only in `switchable`.
    bool sameShape(const TestDeviceSpec& other) const;
};

}  // namespace calling::detail

// A new device (floating) for `spec`, which must outlive it.
GstDevice* call_test_device_new(const calling::detail::TestDeviceSpec& spec);
