#include "loopback_signaller.h"

#include <functional>
#include <memory>
#include <mutex>

using calling::detail::RefPtr;

struct _CallLoopbackSignaller {
    GObject parent;
    // Plain C++ state, new-ed in init and deleted in finalize.
    struct State {
        std::mutex mutex;
        std::string selfId;
        GWeakRef peer;  // the other side; weak, so the pair has no cycle
        std::unique_ptr<GMainContext, decltype(&g_main_context_unref)> context{nullptr, g_main_context_unref};
        calling::test::LoopbackCounts counts;
    }* state;
};

static void call_loopback_signaller_iface_init(CallSignallerInterface* iface);

G_DEFINE_TYPE_WITH_CODE(CallLoopbackSignaller, call_loopback_signaller, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(CALL_TYPE_SIGNALLER, call_loopback_signaller_iface_init))

namespace {

using Delivery = std::function<void(CallSignaller* to, const std::string& from)>;

struct Pending {
    RefPtr<GObject> from;
    Delivery deliver;
};

// Runs `deliver` on the context, later: never from inside the sender's call, as a network would.
void relay(CallLoopbackSignaller* from, Delivery deliver)
{
    GMainContext* context = nullptr;
    {
        std::lock_guard lock(from->state->mutex);
        context = from->state->context.get();
    }
    auto* pending = new Pending{RefPtr<GObject>::ref(G_OBJECT(from)), std::move(deliver)};
    GSource* source = g_idle_source_new();
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            auto* pending = static_cast<Pending*>(data);
            auto* sender = CALL_LOOPBACK_SIGNALLER(pending->from.get());
            std::string selfId;
            {
                std::lock_guard lock(sender->state->mutex);
                selfId = sender->state->selfId;
            }
            auto peer = RefPtr<GObject>::adopt(G_OBJECT(g_weak_ref_get(&sender->state->peer)));
            if (peer) {
                auto* receiver = CALL_LOOPBACK_SIGNALLER(peer.get());
                bool started = false;
                {
                    std::lock_guard lock(receiver->state->mutex);
                    started = receiver->state->counts.started;
                }
                if (started)
                    pending->deliver(CALL_SIGNALLER(receiver), selfId);
            }
            return G_SOURCE_REMOVE;
        },
        pending, [](gpointer data) { delete static_cast<Pending*>(data); });
    g_source_attach(source, context);
    g_source_unref(source);
}

void setStarted(CallSignaller* self, bool started)
{
    auto* loopback = CALL_LOOPBACK_SIGNALLER(self);
    std::lock_guard lock(loopback->state->mutex);
    loopback->state->counts.started = started;
}

}  // namespace

static void call_loopback_signaller_iface_init(CallSignallerInterface* iface)
{
    iface->start = [](CallSignaller* self) { setStarted(self, true); };
    iface->stop = [](CallSignaller* self) { setStarted(self, false); };
    iface->send_sdp = [](CallSignaller* self, const gchar*, const gchar* type, const gchar* sdp) {
        auto* loopback = CALL_LOOPBACK_SIGNALLER(self);
        {
            std::lock_guard lock(loopback->state->mutex);
            ++loopback->state->counts.sdpSent;
        }
        relay(loopback, [type = std::string(type), sdp = std::string(sdp)](CallSignaller* to, const std::string& from) {
            call_signaller_emit_session_description(to, from.c_str(), type.c_str(), sdp.c_str());
        });
    };
    iface->send_ice = [](CallSignaller* self, const gchar*, guint mline, const gchar* candidate) {
        auto* loopback = CALL_LOOPBACK_SIGNALLER(self);
        {
            std::lock_guard lock(loopback->state->mutex);
            ++loopback->state->counts.iceSent;
        }
        relay(loopback, [mline, candidate = std::string(candidate)](CallSignaller* to, const std::string& from) {
            call_signaller_emit_handle_ice(to, from.c_str(), mline, candidate.c_str());
        });
    };
}

static void call_loopback_signaller_init(CallLoopbackSignaller* self)
{
    self->state = new _CallLoopbackSignaller::State;
    g_weak_ref_init(&self->state->peer, nullptr);
}

static void call_loopback_signaller_finalize(GObject* object)
{
    auto* self = CALL_LOOPBACK_SIGNALLER(object);
    g_weak_ref_clear(&self->state->peer);
    delete self->state;
    G_OBJECT_CLASS(call_loopback_signaller_parent_class)->finalize(object);
}

static void call_loopback_signaller_class_init(CallLoopbackSignallerClass* klass)
{
    G_OBJECT_CLASS(klass)->finalize = call_loopback_signaller_finalize;
}

namespace calling::test {

LoopbackPair makeLoopbackPair(const std::string& idA, const std::string& idB, GMainContext* context)
{
    auto* a = CALL_LOOPBACK_SIGNALLER(g_object_new(CALL_TYPE_LOOPBACK_SIGNALLER, nullptr));
    auto* b = CALL_LOOPBACK_SIGNALLER(g_object_new(CALL_TYPE_LOOPBACK_SIGNALLER, nullptr));
    a->state->selfId = idA;
    b->state->selfId = idB;
    a->state->context.reset(g_main_context_ref(context));
    b->state->context.reset(g_main_context_ref(context));
    g_weak_ref_set(&a->state->peer, b);
    g_weak_ref_set(&b->state->peer, a);
    return {RefPtr<CallSignaller>::adopt(CALL_SIGNALLER(a)), RefPtr<CallSignaller>::adopt(CALL_SIGNALLER(b))};
}

LoopbackCounts loopbackCounts(CallSignaller* signaller)
{
    auto* loopback = CALL_LOOPBACK_SIGNALLER(signaller);
    std::lock_guard lock(loopback->state->mutex);
    return loopback->state->counts;
}

}  // namespace calling::test
