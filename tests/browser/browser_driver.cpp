#include "browser_driver.h"

#include "main_loop.h"

#include <vector>

namespace calling::test {

namespace {

// Parses one JSON text; null when it is not JSON.
JsonNode* parse(const std::string& text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text.c_str(), gssize(text.size()), nullptr))
        return nullptr;
    JsonNode* root = json_parser_get_root(parser);
    return root ? json_node_copy(root) : nullptr;
}

std::string toJson(JsonNode* node)
{
    g_autofree char* text = json_to_string(node, FALSE);
    return text;
}

}  // namespace

// Shared with the pending read, which may outlive the driver.
struct BrowserDriver::State {
    GCancellable* cancellable = g_cancellable_new();
    GDataInputStream* out = nullptr;
    std::map<int, Answer> answers;
    bool ready = false;
    bool closed = false;
    std::string log;

    ~State()
    {
        g_object_unref(cancellable);
        if (out)
            g_object_unref(out);
    }
};

double BrowserDriver::Answer::number() const
{
    g_autoptr(JsonNode) node = parse(json);
    return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) != G_TYPE_STRING
               ? json_node_get_double(node)
               : 0;
}

std::string BrowserDriver::Answer::string() const
{
    g_autoptr(JsonNode) node = parse(json);
    return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING
               ? json_node_get_string(node)
               : "";
}

bool BrowserDriver::Answer::boolean() const
{
    g_autoptr(JsonNode) node = parse(json);
    return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_BOOLEAN &&
           json_node_get_boolean(node);
}

double BrowserDriver::Answer::number(const char* dottedPath) const
{
    g_autoptr(JsonNode) root = parse(json);
    JsonNode* node = root;
    g_auto(GStrv) names = g_strsplit(dottedPath, ".", -1);
    for (char** name = names; node && *name; ++name) {
        if (!JSON_NODE_HOLDS_OBJECT(node))
            return -1;
        node = json_object_get_member(json_node_get_object(node), *name);
    }
    return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) != G_TYPE_STRING
               ? json_node_get_double(node)
               : -1;
}

BrowserDriver::BrowserDriver(GMainContext* context, std::function<void()> pump)
    : context_(context), pump_(std::move(pump)), state_(std::make_shared<State>())
{
}

BrowserDriver::~BrowserDriver()
{
    g_cancellable_cancel(state_->cancellable);
    if (!process_)
        return;
    // Asked to quit (Chromium closes with it); killed if it does not within a few seconds.
    GOutputStream* in = g_subprocess_get_stdin_pipe(process_);
    g_output_stream_write_all(in, "{\"op\":\"quit\"}\n", 14, nullptr, nullptr, nullptr);
    g_output_stream_close(in, nullptr, nullptr);
    bool exited = false;
    g_subprocess_wait_async(
        process_, nullptr, [](GObject*, GAsyncResult*, gpointer done) { *static_cast<bool*>(done) = true; }, &exited);
    if (!iterateUntil(context_, [&] { return exited; }, std::chrono::seconds(10))) {
        g_subprocess_force_exit(process_);
        iterateUntil(context_, [&] { return exited; }, std::chrono::seconds(5));
    }
    g_object_unref(process_);
}

bool BrowserDriver::start(std::string* why)
{
    std::string script = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/tests/browser/driver.mjs";
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE));
    g_autoptr(GError) error = nullptr;
    process_ = g_subprocess_launcher_spawn(launcher, &error, "node", script.c_str(), nullptr);
    if (!process_) {
        *why = std::string("cannot start node: ") + error->message;
        return false;
    }
    state_->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(process_));
    readLine(state_);
    // Chromium's first start on a cold machine takes a few seconds.
    if (!iterateUntil(context_, [&] { return state_->ready || state_->closed; }, std::chrono::seconds(60)) ||
        !state_->ready) {
        *why = "the browser did not start:\n" + state_->log;
        return false;
    }
    return true;
}

void BrowserDriver::readLine(const std::shared_ptr<State>& state)
{
    g_data_input_stream_read_line_async(state->out, G_PRIORITY_DEFAULT, state->cancellable, onLine,
                                        new std::shared_ptr<State>(state));
}

void BrowserDriver::onLine(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(data));
    gsize length = 0;
    g_autofree char* line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &length, nullptr);
    if (!line) {
        (*state)->closed = true;
        return;
    }
    std::string text(line, length);
    g_autoptr(JsonNode) node = parse(text);
    JsonObject* object = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
    if (object && json_object_has_member(object, "id")) {
        Answer answer;
        answer.ok = json_object_get_boolean_member_with_default(object, "ok", FALSE);
        answer.error = json_object_get_string_member_with_default(object, "error", "");
        JsonNode* value = json_object_get_member(object, "value");
        answer.json = value ? toJson(value) : "null";
        (*state)->answers[int(json_object_get_int_member(object, "id"))] = answer;
    } else {
        if (object && g_strcmp0(json_object_get_string_member_with_default(object, "event", ""), "ready") == 0)
            (*state)->ready = true;
        (*state)->log += text + "\n";
    }
    readLine(*state);
}

BrowserDriver::Answer BrowserDriver::send(const std::string& op, const std::map<std::string, std::string>& fields,
                                          std::chrono::milliseconds timeout)
{
    int id = nextId_++;
    g_autoptr(JsonBuilder) builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "id");
    json_builder_add_int_value(builder, id);
    json_builder_set_member_name(builder, "op");
    json_builder_add_string_value(builder, op.c_str());
    for (const auto& [name, value] : fields) {
        json_builder_set_member_name(builder, name.c_str());
        if (name == "timeout")
            json_builder_add_int_value(builder, g_ascii_strtoll(value.c_str(), nullptr, 10));
        else
            json_builder_add_string_value(builder, value.c_str());
    }
    json_builder_end_object(builder);
    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    std::string line = toJson(root) + "\n";
    if (!process_ || state_->closed ||
        !g_output_stream_write_all(g_subprocess_get_stdin_pipe(process_), line.data(), line.size(), nullptr, nullptr,
                                   nullptr))
        return {false, "the browser driver is not running", "null"};
    // The driver's own deadline comes first; this one only guards against a hung driver.
    if (!iterateUntil(context_, [&] {
            if (pump_)
                pump_();
            return state_->answers.count(id) > 0 || state_->closed;
        }, timeout + std::chrono::seconds(10)))
        return {false, op + ": no answer from the browser driver", "null"};
    if (!state_->answers.count(id))
        return {false, op + ": the browser driver exited:\n" + state_->log, "null"};
    Answer answer = state_->answers[id];
    state_->answers.erase(id);
    return answer;
}

BrowserDriver::Answer BrowserDriver::open(const std::string& url)
{
    return send("open", {{"url", url}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::fill(const std::string& selector, const std::string& value)
{
    return send("fill", {{"selector", selector}, {"value", value}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::click(const std::string& selector)
{
    return send("click", {{"selector", selector}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::text(const std::string& selector)
{
    return send("text", {{"selector", selector}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::visible(const std::string& selector)
{
    return send("visible", {{"selector", selector}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::evaluate(const std::string& expression)
{
    return send("evaluate", {{"expression", expression}}, std::chrono::seconds(30));
}

BrowserDriver::Answer BrowserDriver::waitFor(const std::string& expression, std::chrono::milliseconds timeout)
{
    return send("waitFor", {{"expression", expression}, {"timeout", std::to_string(timeout.count())}}, timeout);
}

BrowserDriver::Answer BrowserDriver::screenshot(const std::string& path)
{
    return send("screenshot", {{"path", path}}, std::chrono::seconds(30));
}

const std::string& BrowserDriver::log() const
{
    return state_->log;
}

}  // namespace calling::test
