#include "model/connection_signaller.h"

#include <mutex>

struct _CallConnectionSignaller {
    GObject parent;
    std::mutex* mutex;
    std::shared_ptr<calling::detail::SignallerOutbox>* outbox;  // null once detached
};

static void call_connection_signaller_iface_init(CallSignallerInterface* iface);

G_DEFINE_TYPE_WITH_CODE(CallConnectionSignaller, call_connection_signaller, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(CALL_TYPE_SIGNALLER, call_connection_signaller_iface_init))

static std::shared_ptr<calling::detail::SignallerOutbox> outboxOf(CallSignaller* signaller)
{
    auto* self = CALL_CONNECTION_SIGNALLER(signaller);
    std::lock_guard lock(*self->mutex);
    return self->outbox ? *self->outbox : nullptr;
}

static void sendSdp(CallSignaller* signaller, const gchar* peerId, const gchar* type, const gchar* sdp)
{
    if (auto outbox = outboxOf(signaller); outbox && outbox->sdp)
        outbox->sdp(peerId, type, sdp);
}

static void sendIce(CallSignaller* signaller, const gchar* peerId, guint mlineIndex, const gchar* candidate)
{
    if (auto outbox = outboxOf(signaller); outbox && outbox->ice)
        outbox->ice(peerId, mlineIndex, candidate);
}

// The shared connection outlives every call: nothing to open or close per callbin.
static void startOrStop(CallSignaller*) {}

static void call_connection_signaller_iface_init(CallSignallerInterface* iface)
{
    iface->start = startOrStop;
    iface->stop = startOrStop;
    iface->send_sdp = sendSdp;
    iface->send_ice = sendIce;
}

static void call_connection_signaller_init(CallConnectionSignaller* self)
{
    self->mutex = new std::mutex;
    self->outbox = nullptr;
}

static void call_connection_signaller_finalize(GObject* object)
{
    auto* self = CALL_CONNECTION_SIGNALLER(object);
    delete self->outbox;
    delete self->mutex;
    G_OBJECT_CLASS(call_connection_signaller_parent_class)->finalize(object);
}

static void call_connection_signaller_class_init(CallConnectionSignallerClass* klass)
{
    G_OBJECT_CLASS(klass)->finalize = call_connection_signaller_finalize;
}

namespace calling::detail {

CallConnectionSignaller* newConnectionSignaller(std::shared_ptr<SignallerOutbox> outbox)
{
    auto* self = CALL_CONNECTION_SIGNALLER(g_object_new(CALL_TYPE_CONNECTION_SIGNALLER, nullptr));
    self->outbox = new std::shared_ptr<SignallerOutbox>(std::move(outbox));
    return self;
}

void detachConnectionSignaller(CallConnectionSignaller* self)
{
    std::lock_guard lock(*self->mutex);
    delete self->outbox;
    self->outbox = nullptr;
}

}  // namespace calling::detail
