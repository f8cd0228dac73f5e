#include "console.h"

#include <algorithm>
#include <cstdio>

namespace gstcall {

void say(const std::string& line)
{
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void complain(const std::string& line)
{
    std::fprintf(stderr, "gst-call: %s\n", line.c_str());
}

std::string describe(const calling::Error& error)
{
    return error.message + " (" + std::to_string(error.code) + "/" + std::to_string(error.subCode) + ")";
}

calling::protocol::SourcePtr after(std::chrono::milliseconds delay, std::function<void()> fire)
{
    GSource* source = g_timeout_source_new(guint(std::max<int64_t>(delay.count(), 0)));
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()>*>(data))();
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(fire)), [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, nullptr);
    return calling::protocol::SourcePtr(source);
}

}  // namespace gstcall
