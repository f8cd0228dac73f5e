// The plugin is found in the build tree through the tests' own registry, never an installed copy.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>

TEST(Plugin, LoadsFromTheBuildTree)
{
    gst_init(nullptr, nullptr);
    GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "calling");
    ASSERT_NE(plugin, nullptr) << "GST_PLUGIN_PATH_1_0=" << g_getenv("GST_PLUGIN_PATH_1_0");
    std::string file = gst_plugin_get_filename(plugin);
    EXPECT_EQ(file.rfind(g_getenv("GST_PLUGIN_PATH_1_0"), 0), 0u) << file;
    EXPECT_TRUE(std::string(g_getenv("GST_REGISTRY_1_0")).ends_with("gst-registry.bin"));
    gst_object_unref(plugin);
}

TEST(Plugin, WebrtcbinAndItsCompanionsAreInstalled)
{
    gst_init(nullptr, nullptr);
    for (const char* factory : {"webrtcbin", "nicesrc", "dtlssrtpenc", "opusenc", "vp8enc", "rtpopuspay"}) {
        g_autoptr(GstElementFactory) found = gst_element_factory_find(factory);
        EXPECT_NE(found, nullptr) << factory << " is missing: run tools/setup.sh";
    }
}
