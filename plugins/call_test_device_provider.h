// calltestdeviceprovider: virtual cameras, a screen, microphones and a speaker for machines without
// devices and for tests. See the provider's documentation in call_test_device_provider.cpp.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALL_TYPE_TEST_DEVICE_PROVIDER (call_test_device_provider_get_type())
G_DECLARE_FINAL_TYPE(CallTestDeviceProvider, call_test_device_provider, CALL, TEST_DEVICE_PROVIDER,
                     GstDeviceProvider)

GST_DEVICE_PROVIDER_REGISTER_DECLARE(calltestdeviceprovider);

G_END_DECLS
