// A reference-holding smart pointer for GObjects (and so GstObjects): one owned reference, released
// on destruction. adopt() takes a full reference and sinks a floating one, so that
// `GObjectRef<GstElement>::adopt(gst_element_factory_make(...))` owns the element either way.
#pragma once

#include <glib-object.h>

#include <utility>

namespace calling::detail {

template <typename T>
class GObjectRef {
public:
    GObjectRef() = default;
    GObjectRef(std::nullptr_t) {}
    // Takes over a reference (a floating one is sunk).
    static GObjectRef adopt(T* object)
    {
        GObjectRef ref;
        if (object && g_object_is_floating(object))
            g_object_ref_sink(object);
        ref.object_ = object;
        return ref;
    }
    // Adds a reference of its own.
    static GObjectRef share(T* object)
    {
        GObjectRef ref;
        ref.object_ = object ? static_cast<T*>(g_object_ref(object)) : nullptr;
        return ref;
    }

    GObjectRef(const GObjectRef& other) : object_(other.object_ ? static_cast<T*>(g_object_ref(other.object_)) : nullptr) {}
    GObjectRef(GObjectRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    GObjectRef& operator=(GObjectRef other) noexcept
    {
        std::swap(object_, other.object_);
        return *this;
    }
    ~GObjectRef()
    {
        if (object_)
            g_object_unref(object_);
    }

    T* get() const { return object_; }
    T* operator->() const { return object_; }
    explicit operator bool() const { return object_ != nullptr; }
    void reset() { GObjectRef().swap(*this); }
    void swap(GObjectRef& other) noexcept { std::swap(object_, other.object_); }

private:
    T* object_ = nullptr;
};

}  // namespace calling::detail
