#include "launch.h"

#include <algorithm>
#include <csignal>

namespace calling::test {

// ---------------------------------------------------------------------------------------------
// Launched

Launched::Launched(const std::string& description)
{
    g_autoptr(GError) error = nullptr;
    pipeline_ = gst_parse_launch(description.c_str(), &error);
    parseError = error ? error->message : "";
    if (!pipeline_)
        return;
    gst_object_ref_sink(pipeline_);
    if (g_autoptr(GstElement) out = element("out"))
        meter->attach(out);
}

Launched::~Launched()
{
    stop();
    if (pipeline_)
        gst_object_unref(pipeline_);
}

bool Launched::play()
{
    return pipeline_ && gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

void Launched::stop()
{
    if (pipeline_)
        gst_element_set_state(pipeline_, GST_STATE_NULL);
}

GstElement* Launched::element(const char* name) const
{
    return GST_IS_BIN(pipeline_) ? gst_bin_get_by_name(GST_BIN(pipeline_), name) : nullptr;
}

void Launched::pump()
{
    if (!pipeline_)
        return;
    g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
    while (GstMessage* message = gst_bus_pop(bus)) {
        handle(message);
        gst_message_unref(message);
    }
}

bool Launched::reached(const std::string& state) const
{
    return std::find(states.begin(), states.end(), state) != states.end();
}

std::string Launched::describe() const
{
    std::string text = "states:";
    for (const auto& state : states)
        text += " " + state;
    if (ended)
        text += "; ended " + std::to_string(ended->code) + "/" + std::to_string(ended->subCode);
    if (eos)
        text += "; EOS";
    if (!warningMessage.empty())
        text += "; warning: " + warningMessage;
    if (!errorMessage.empty())
        text += "; error: " + errorMessage + " (" + errorDebug + ")";
    return text;
}

void Launched::handle(GstMessage* message)
{
    switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_LATENCY:
        gst_bin_recalculate_latency(GST_BIN(pipeline_));
        break;
    case GST_MESSAGE_ELEMENT: {
        const GstStructure* structure = gst_message_get_structure(message);
        if (gst_structure_has_name(structure, "call-state")) {
            states.push_back(gst_structure_get_string(structure, "state"));
            peerIds.push_back(gst_structure_get_string(structure, "peer-id"));
        } else if (gst_structure_has_name(structure, "call-ended")) {
            CallEnd end;
            gst_structure_get_int(structure, "code", &end.code);
            gst_structure_get_int(structure, "sub-code", &end.subCode);
            end.message = gst_structure_get_string(structure, "message");
            ended = end;
        }
        break;
    }
    case GST_MESSAGE_EOS:
        eos = true;
        endedBeforeEos = ended.has_value();
        break;
    case GST_MESSAGE_WARNING:
        if (warningMessage.empty()) {
            g_autoptr(GError) warning = nullptr;
            gst_message_parse_warning(message, &warning, nullptr);
            warningMessage = warning->message;
        }
        break;
    case GST_MESSAGE_ERROR:
        if (errorMessage.empty()) {
            g_autoptr(GError) error = nullptr;
            g_autofree gchar* debug = nullptr;
            gst_message_parse_error(message, &error, &debug);
            errorMessage = error->message;
            errorDebug = debug ? debug : "";
            errorDomain = error->domain;
            errorCode = error->code;
        }
        break;
    default:
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// Process

// Shared with the pending callbacks, which may outlive the object.
struct Process::State {
    GCancellable* cancellable = g_cancellable_new();
    GDataInputStream* out = nullptr;
    std::string output;
    bool exited = false;
    bool outputDone = false;

    ~State()
    {
        g_object_unref(cancellable);
        if (out)
            g_object_unref(out);
    }
};

Process::Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env)
    : state_(std::make_shared<State>())
{
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE));
    // The build's plugin, through the tests' own registry (GST_REGISTRY_1_0, inherited).
    if (const char* plugins = g_getenv("GST_PLUGIN_PATH_1_0"))
        g_subprocess_launcher_setenv(launcher, "GST_PLUGIN_PATH", plugins, TRUE);
    for (const auto& [name, value] : env)
        g_subprocess_launcher_setenv(launcher, name.c_str(), value.c_str(), TRUE);
    std::vector<const char*> args;
    for (const auto& arg : argv)
        args.push_back(arg.c_str());
    args.push_back(nullptr);
    g_autoptr(GError) error = nullptr;
    process_ = g_subprocess_launcher_spawnv(launcher, args.data(), &error);
    if (!process_) {
        startError = error->message;
        return;
    }
    state_->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(process_));
    readLine(state_);
    g_subprocess_wait_async(process_, state_->cancellable, onExited, new std::shared_ptr<State>(state_));
}

Process::~Process()
{
    g_cancellable_cancel(state_->cancellable);
    if (process_) {
        if (!state_->exited)
            g_subprocess_force_exit(process_);
        g_object_unref(process_);
    }
}

bool Process::said(const std::string& text) const
{
    return state_->output.find(text) != std::string::npos;
}

const std::string& Process::output() const
{
    return state_->output;
}

bool Process::exited() const
{
    return state_->exited && state_->outputDone;
}

int Process::exitStatus() const
{
    return process_ && state_->exited && g_subprocess_get_if_exited(process_) ? g_subprocess_get_exit_status(process_)
                                                                              : -1;
}

void Process::signal(int number)
{
    if (process_ && !state_->exited)
        g_subprocess_send_signal(process_, number);
}

void Process::readLine(const std::shared_ptr<State>& state)
{
    g_data_input_stream_read_line_async(state->out, G_PRIORITY_DEFAULT, state->cancellable, onLine,
                                        new std::shared_ptr<State>(state));
}

void Process::onLine(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(data));
    gsize length = 0;
    g_autofree char* line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &length, nullptr);
    if (!line) {
        (*state)->outputDone = true;
        return;
    }
    (*state)->output += std::string(line, length) + "\n";
    readLine(*state);
}

void Process::onExited(GObject*, GAsyncResult*, gpointer data)
{
    std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(data));
    (*state)->exited = true;
}

}  // namespace calling::test
