// Owning pointers for GLib reference-counted objects held by C++ classes, so that no class member
// owns a raw reference. Each holds exactly one reference: adopt() takes over one the caller got
// (transfer full), retain() takes a new one.
#pragma once

#include <glib-object.h>

#include <memory>

namespace calling::protocol {

struct GObjectUnref {
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

template <typename T>
GObjectPtr<T> adopt(T* object)
{
    return GObjectPtr<T>(object);
}

template <typename T>
GObjectPtr<T> retain(T* object)
{
    return GObjectPtr<T>(object ? static_cast<T*>(g_object_ref(object)) : nullptr);
}

struct MainContextUnref {
    void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using MainContextPtr = std::unique_ptr<GMainContext, MainContextUnref>;

// A source is also detached from its context when its owner lets go of it.
struct SourceDestroy {
    void operator()(GSource* source) const
    {
        g_source_destroy(source);
        g_source_unref(source);
    }
};
using SourcePtr = std::unique_ptr<GSource, SourceDestroy>;

}  // namespace calling::protocol
