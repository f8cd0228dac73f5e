// The MediaStats feature's collector: a timer on the library thread asks the call's callbin for
// webrtcbin's statistics; webrtcbin answers on its own thread, which only hands the reply back to
// the library thread; the sample is computed there and fired on the callback thread.
#include <calling/media_stats.h>

#include "media/media_stats.h"
#include "model/model.h"

#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC(media_stats_debug);
#define GST_CAT_DEFAULT media_stats_debug

namespace calling {

struct MediaStatsCollector::Impl : std::enable_shared_from_this<MediaStatsCollector::Impl> {
    Impl(detail::Shared shared, std::weak_ptr<Call::Impl> call, std::chrono::milliseconds interval)
        : shared(std::move(shared)), call(std::move(call)), interval(interval)
    {
    }

    detail::Shared shared;  // a child of the call's: nothing fires once the call closed
    const std::weak_ptr<Call::Impl> call;
    const std::chrono::milliseconds interval;

    // Core (library thread).
    protocol::SourcePtr timer;
    bool requesting = false;  // a get-stats reply is awaited: no second request meanwhile
    bool stopped = false;
    detail::MediaStatsComputer computer;

    // View.
    Event<const MediaStatsSample&> sampleReported;

    void start();
    void stop();
    void request();
    void onReply(std::shared_ptr<GstStructure> stats);
};

namespace {

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(media_stats_debug, "callmediastats", 0, "gst-calling: media statistics of calls");
        g_once_init_leave(&once, 1);
    }
}

// What a promise's change function needs: the collector (weakly: a reply may come after it went)
// and the library thread to hand the reply to.
struct RequestContext {
    std::weak_ptr<MediaStatsCollector::Impl> collector;
    std::shared_ptr<detail::Dispatcher> library;
};

}  // namespace

void MediaStatsCollector::Impl::start()
{
    if (stopped)
        return;
    timer.reset(g_timeout_source_new(guint(std::max<int64_t>(interval.count(), 1))));
    auto* weak = new std::weak_ptr<Impl>(weak_from_this());
    g_source_set_callback(
        timer.get(),
        [](gpointer data) -> gboolean {
            if (auto self = static_cast<std::weak_ptr<Impl>*>(data)->lock())
                self->request();
            return G_SOURCE_CONTINUE;
        },
        weak, [](gpointer data) { delete static_cast<std::weak_ptr<Impl>*>(data); });
    g_source_attach(timer.get(), shared.library()->context());
}

void MediaStatsCollector::Impl::stop()
{
    stopped = true;
    timer.reset();
}

void MediaStatsCollector::Impl::request()
{
    auto callImpl = call.lock();
    if (!callImpl || callImpl->ended) {
        stop();  // a call's media never comes back
        return;
    }
    GstElement* callbin = callImpl->pipeline ? callImpl->pipeline->callbin() : nullptr;
    if (!callbin || requesting)
        return;
    requesting = true;
    auto* context = new RequestContext{weak_from_this(), shared.library()};
    GstPromise* promise = gst_promise_new_with_change_func(
        [](GstPromise* promise, gpointer data) {
            // webrtcbin's thread (or this one, without a call): copy the reply and hand it over.
            auto* context = static_cast<RequestContext*>(data);
            std::shared_ptr<GstStructure> stats;
            // webrtcbin replies with an "error" field when it is closing: no reading then.
            const GstStructure* reply =
                gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED ? gst_promise_get_reply(promise) : nullptr;
            if (reply && !gst_structure_has_field(reply, "error"))
                stats.reset(gst_structure_copy(reply), gst_structure_free);
            context->library->post([collector = context->collector, stats] {
                if (auto self = collector.lock())
                    self->onReply(stats);
            });
        },
        context, [](gpointer data) { delete static_cast<RequestContext*>(data); });
    g_signal_emit_by_name(callbin, "get-stats", promise);
    gst_promise_unref(promise);
}

void MediaStatsCollector::Impl::onReply(std::shared_ptr<GstStructure> stats)
{
    requesting = false;
    if (stopped || !stats)
        return;
    if (gst_debug_category_get_threshold(media_stats_debug) >= GST_LEVEL_TRACE) {
        g_autofree gchar* raw = gst_structure_to_string(stats.get());
        GST_TRACE("webrtcbin's statistics: %s", raw);
    }
    MediaStatsSample sample = computer.next(stats.get());
    GST_LOG("sample with %zu streams", sample.streams.size());
    auto self = shared_from_this();
    shared.fire([self, sample = std::move(sample)] { self->sampleReported.emit(sample); });
}

MediaStatsCollector::MediaStatsCollector(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MediaStatsCollector::~MediaStatsCollector()
{
    dispose();
}

Subscription MediaStatsCollector::onSampleReported(std::function<void(const MediaStatsSample&)> handler)
{
    return impl_->sampleReported.subscribe(std::move(handler));
}

void MediaStatsCollector::dispose()
{
    impl_->sampleReported.clear();
    impl_->shared.work([impl = impl_] { impl->stop(); });
}

std::shared_ptr<MediaStatsCollector> createMediaStatsCollector(const std::shared_ptr<Call>& call,
                                                               MediaStatsCollectorOptions options)
{
    initDebug();
    auto callImpl = Call::Impl::of(*call);
    auto impl = std::make_shared<MediaStatsCollector::Impl>(callImpl->shared.child(), callImpl, options.sampleInterval);
    impl->shared.work([impl] { impl->start(); });
    return std::shared_ptr<MediaStatsCollector>(new MediaStatsCollector(impl));
}

}  // namespace calling
