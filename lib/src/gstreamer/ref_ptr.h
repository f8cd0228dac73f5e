// RefPtr<T>: one owned reference to a GObject (GstObject included) or a GStreamer mini object, so
// that C++ code never holds an owning raw pointer.
//
//   RefPtr<GstElement>::adopt(gst_element_factory_make(...))  takes the reference it is given,
//                                                              sinking a floating one;
//   RefPtr<GstPad>::ref(pad)                                   adds a reference of its own.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <utility>

namespace calling::detail {

template <typename T>
struct RefTraits {
    static void ref(T* object) { g_object_ref(object); }
    static void unref(T* object) { g_object_unref(object); }
    // A floating reference (a new GstObject) becomes the one reference the holder owns.
    static void sink(T* object)
    {
        if (g_object_is_floating(object))
            g_object_ref_sink(object);
    }
};

#define CALLING_MINI_OBJECT_REF_TRAITS(Type)                                       \
    template <>                                                                    \
    struct RefTraits<Type> {                                                       \
        static void ref(Type* object) { gst_mini_object_ref(GST_MINI_OBJECT_CAST(object)); } \
        static void unref(Type* object) { gst_mini_object_unref(GST_MINI_OBJECT_CAST(object)); } \
        static void sink(Type*) {}                                                 \
    };

CALLING_MINI_OBJECT_REF_TRAITS(GstBuffer)
CALLING_MINI_OBJECT_REF_TRAITS(GstCaps)
CALLING_MINI_OBJECT_REF_TRAITS(GstEvent)
CALLING_MINI_OBJECT_REF_TRAITS(GstMessage)
CALLING_MINI_OBJECT_REF_TRAITS(GstPromise)
CALLING_MINI_OBJECT_REF_TRAITS(GstQuery)
CALLING_MINI_OBJECT_REF_TRAITS(GstSample)

#undef CALLING_MINI_OBJECT_REF_TRAITS

template <typename T>
class RefPtr {
public:
    RefPtr() = default;
    RefPtr(std::nullptr_t) {}

    static RefPtr adopt(T* object)
    {
        RefPtr holder;
        holder.object_ = object;
        if (object)
            RefTraits<T>::sink(object);
        return holder;
    }

    static RefPtr ref(T* object)
    {
        RefPtr holder;
        holder.object_ = object;
        if (object)
            RefTraits<T>::ref(object);
        return holder;
    }

    RefPtr(const RefPtr& other) : object_(other.object_)
    {
        if (object_)
            RefTraits<T>::ref(object_);
    }
    RefPtr(RefPtr&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    RefPtr& operator=(RefPtr other) noexcept
    {
        std::swap(object_, other.object_);
        return *this;
    }
    ~RefPtr() { reset(); }

    void reset()
    {
        if (T* object = std::exchange(object_, nullptr))
            RefTraits<T>::unref(object);
    }

    // Hands the reference to a C API that takes ownership ("transfer full").
    [[nodiscard]] T* release() { return std::exchange(object_, nullptr); }

    T* get() const { return object_; }
    T* operator->() const { return object_; }
    explicit operator bool() const { return object_ != nullptr; }
    bool operator==(const RefPtr& other) const { return object_ == other.object_; }
    bool operator==(const T* other) const { return object_ == other; }

private:
    T* object_ = nullptr;
};

}  // namespace calling::detail
