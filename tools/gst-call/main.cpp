// gst-call: a command-line agent on libcalling. One table of commands, each with its own
// GOptionContext (so `gst-call COMMAND --help` describes it), sharing the global options that say
// where and who (an endpoint and a token, or a connection string to mint a token with).
//
//   gst-call [GLOBAL OPTION...] COMMAND [OPTION...] [ARGUMENT...]
//
// Global options may come before or after the command. Output: one line per event on stdout
// (docs/gst-call.md); errors on stderr; the exit code says how the call ended (exit_codes.h).
#include "bridge.h"
#include "exit_codes.h"
#include "session.h"

#include "protocol/connection_string.h"

#include <calling/identifiers.h>

#include <glib.h>
#include <gst/gst.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace gstcall;

// What one parse of the global options found; later parses override earlier ones.
struct GlobalValues {
    gchar* connectionString = nullptr;
    gchar* identity = nullptr;
    gchar* token = nullptr;
    gchar* endpoint = nullptr;
    gchar* displayName = nullptr;
    gchar* caFile = nullptr;

    GlobalValues() = default;
    GlobalValues(const GlobalValues&) = delete;
    GlobalValues& operator=(const GlobalValues&) = delete;
    ~GlobalValues()
    {
        for (gchar* value : {connectionString, identity, token, endpoint, displayName, caFile})
            g_free(value);
    }
};

// The options of the commands that run a call; each command shows those it uses.
struct CommandValues {
    gint duration = 0;
    gint timeout = 0;
    gdouble statsInterval = 1;
    gboolean muted = FALSE;
    gboolean decline = FALSE;
    gboolean h264 = FALSE;
    gchar* microphone = nullptr;
    gchar* speaker = nullptr;
    gchar* camera = nullptr;
    gchar* output = nullptr;
    gchar** arguments = nullptr;

    CommandValues() = default;
    CommandValues(const CommandValues&) = delete;
    CommandValues& operator=(const CommandValues&) = delete;
    ~CommandValues()
    {
        g_free(microphone);
        g_free(speaker);
        g_free(camera);
        g_free(output);
        g_strfreev(arguments);
    }
};

void addGlobalEntries(GOptionContext* context, GlobalValues& values)
{
    const GOptionEntry entries[] = {
        {"connection-string", 'c', 0, G_OPTION_ARG_STRING, &values.connectionString,
         "calling-server's connection string (endpoint=...;accesskey=...): a voip token is minted through the "
         "identity API, for a new identity or --identity [env: CALLING_CONNECTION_STRING]",
         "STRING"},
        {"identity", 0, 0, G_OPTION_ARG_STRING, &values.identity,
         "With --connection-string: the identity (raw id, 8:acs:...) to mint the token for, instead of a new one",
         "RAW_ID"},
        {"token", 't', 0, G_OPTION_ARG_STRING, &values.token,
         "A voip access token to sign in with, instead of minting one; needs --endpoint [env: CALLING_TOKEN]",
         "TOKEN"},
        {"endpoint", 'e', 0, G_OPTION_ARG_STRING, &values.endpoint,
         "calling-server's endpoint, http(s)://host:port/ (default: the connection string's) [env: CALLING_ENDPOINT]",
         "URL"},
        // The same, by the name the element's property has.
        {"server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &values.endpoint, nullptr, nullptr},
        {"display-name", 'n', 0, G_OPTION_ARG_STRING, &values.displayName,
         "The name the other side sees (default: gst-call)", "NAME"},
        {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &values.caFile,
         "A PEM file of CA certificates to trust for an https endpoint, besides the system's", "FILE"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_option_context_add_main_entries(context, entries, nullptr);
}

enum class CommandKind { Call, Answer, Record };

void addCallEntries(GOptionContext* context, CommandValues& values, CommandKind kind)
{
    bool answering = kind != CommandKind::Call;
    const GOptionEntry common[] = {
        {"duration", 'd', 0, G_OPTION_ARG_INT, &values.duration,
         "Hang up SECONDS after the call connected (default: when the other side does, or on Ctrl-C)", "SECONDS"},
        {"timeout", 0, 0, G_OPTION_ARG_INT, &values.timeout,
         answering ? "Give up when no call has connected SECONDS after the start (exit code 5)"
                   : "Give up (hang up) when the call has not connected SECONDS after it was placed (exit code 5)",
         "SECONDS"},
        {"muted", 'm', 0, G_OPTION_ARG_NONE, &values.muted, "Start with the microphone muted", nullptr},
        {"microphone", 0, 0, G_OPTION_ARG_STRING, &values.microphone,
         "The microphone to use, by its id in `gst-call devices` (default: the system's, else a 440 Hz tone)", "ID"},
        {"speaker", 0, 0, G_OPTION_ARG_STRING, &values.speaker,
         "The speaker to use, by its id in `gst-call devices` (default: the system's, else none)", "ID"},
        {"camera", 0, 0, G_OPTION_ARG_STRING, &values.camera,
         "Send video from this camera, by its id in `gst-call devices` (e.g. calling-virtual:virtual-camera-1); "
         "default: no video",
         "ID"},
        {"h264", 0, 0, G_OPTION_ARG_NONE, &values.h264,
         answering ? "Prefer H.264 video to VP8 (the caller's preference decides)"
                   : "Prefer H.264 video to VP8: the callee sends and receives H.264 if it can (default: VP8)",
         nullptr},
        {"stats-interval", 's', 0, G_OPTION_ARG_DOUBLE, &values.statsInterval,
         "Print a status line every SECONDS while connected; 0: none (default: 1)", "SECONDS"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_option_context_add_main_entries(context, common, nullptr);
    if (kind == CommandKind::Record) {
        const GOptionEntry record[] = {
            {"output", 'o', 0, G_OPTION_ARG_FILENAME, &values.output,
             "The Matroska file to record into (created or truncated); required", "FILE"},
            {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
        };
        g_option_context_add_main_entries(context, record, nullptr);
    }
    if (kind == CommandKind::Answer) {
        const GOptionEntry answer[] = {
            {"decline", 0, 0, G_OPTION_ARG_NONE, &values.decline,
             "Decline the incoming call instead of answering it (the caller sees 603/0)", nullptr},
            {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
        };
        g_option_context_add_main_entries(context, answer, nullptr);
    }
}

void addArguments(GOptionContext* context, CommandValues& values, const char* name)
{
    const GOptionEntry entries[] = {
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &values.arguments, nullptr, name},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_option_context_add_main_entries(context, entries, nullptr);
}

int usageError(const std::string& message, const std::string& command)
{
    std::fprintf(stderr, "gst-call: %s\nTry 'gst-call %s--help'.\n", message.c_str(),
                 command.empty() ? "" : (command + " ").c_str());
    return kExitUsage;
}

// The global options after both parses and the environment, checked.
std::variant<SessionOptions, std::string> sessionOptions(const GlobalValues& first, const GlobalValues& second)
{
    auto pick = [](gchar* later, gchar* earlier, const char* variable) -> std::string {
        if (later)
            return later;
        if (earlier)
            return earlier;
        const char* fromEnvironment = variable ? g_getenv(variable) : nullptr;
        return fromEnvironment ? fromEnvironment : "";
    };
    SessionOptions options;
    std::string connection = pick(second.connectionString, first.connectionString, "CALLING_CONNECTION_STRING");
    options.token = pick(second.token, first.token, "CALLING_TOKEN");
    options.endpoint = pick(second.endpoint, first.endpoint, "CALLING_ENDPOINT");
    options.identity = pick(second.identity, first.identity, nullptr);
    options.displayName = pick(second.displayName, first.displayName, nullptr);
    options.caFile = pick(second.caFile, first.caFile, nullptr);
    if (options.displayName.empty())
        options.displayName = "gst-call";

    if (options.token.empty() && connection.empty())
        return std::string("who is calling? Give --connection-string or --token (or set CALLING_CONNECTION_STRING "
                           "or CALLING_TOKEN)");
    if (!connection.empty()) {
        auto parsed = calling::protocol::parseConnectionString(connection);
        if (!parsed)
            return "bad connection string: " + parsed.error().message;
        if (options.endpoint.empty())
            options.endpoint = parsed->endpoint;
        options.connection = parsed.value();
    }
    if (!options.identity.empty()) {
        if (options.connection && !options.token.empty())
            return std::string("--identity mints a token with --connection-string; it does not go with --token");
        if (!std::holds_alternative<calling::CommunicationUserIdentifier>(calling::identifierFromRawId(options.identity)))
            return "--identity: '" + options.identity + "' is not a user's raw id (8:acs:...)";
    }
    if (options.endpoint.empty())
        return std::string("--token needs --endpoint (calling-server's http(s)://host:port/)");
    if (!g_str_has_prefix(options.endpoint.c_str(), "http://") && !g_str_has_prefix(options.endpoint.c_str(), "https://"))
        return "--endpoint: '" + options.endpoint + "' is not an http(s):// URL";
    if (!options.endpoint.ends_with("/"))
        options.endpoint += '/';
    return options;
}

struct Command {
    const char* name;
    const char* arguments;  // shown after "gst-call NAME [OPTION...]"
    const char* summary;
    const char* description;
    int (*run)(const GlobalValues& first, int argc, char** argv);
};

int runCallCommand(const GlobalValues& first, int argc, char** argv, CommandKind kind);

int runCall(const GlobalValues& first, int argc, char** argv)
{
    return runCallCommand(first, argc, argv, CommandKind::Call);
}

int runAnswer(const GlobalValues& first, int argc, char** argv)
{
    return runCallCommand(first, argc, argv, CommandKind::Answer);
}

int runRecord(const GlobalValues& first, int argc, char** argv)
{
    return runCallCommand(first, argc, argv, CommandKind::Record);
}

int runDevices(const GlobalValues&, int argc, char** argv);
int runBridgeCommand(const GlobalValues& first, int argc, char** argv);

const Command kCommands[] = {
    {"call", "TARGET", "Call a user by raw id (8:acs:...) and stay in the call until it ends",
     "Places a call to TARGET, prints the call's state changes and, once a second while connected, a status\n"
     "line: call time, then per stream bitrate, packet loss, jitter and round-trip time. Ctrl-C (SIGINT) or\n"
     "SIGTERM hangs up. The exit code says how the call ended: 0 hung up by either side, 3 token refused or\n"
     "expired, 4 declined, 5 not answered (or --timeout), 6 callee not connected, 7 connection lost,\n"
     "1 anything else, 2 bad usage.",
     runCall},
    {"answer", "", "Wait for a call to this identity, answer it, and stay in the call until it ends",
     "Signs in, prints `identity: RAW_ID` (the id to call) and waits for an incoming call; answers the first\n"
     "one (or declines it, with --decline) and then behaves as `gst-call call`. Calls that ring while one is\n"
     "in progress are declined. The exit code says how the call ended, as for `call`; 8 when the call\n"
     "stopped ringing before it could be answered.",
     runAnswer},
    {"record", "", "Wait for a call to this identity, answer it and record what it receives to a file",
     "Answers the first incoming call as `gst-call answer` does and records the caller's audio (Opus) and video\n"
     "(VP8), as they arrive, without transcoding, as the tracks of the Matroska file given with -o. The file\n"
     "is finalised (seekable, with its duration) however the call ends: hung up by either side, the caller\n"
     "gone, Ctrl-C (SIGINT) or SIGTERM, which hang up first. Prints `recording: FILE` when the call is\n"
     "answered and `recorded: FILE | ...` (each track: codec, frames or packets, seconds) once the file is\n"
     "complete. Exit codes as for `answer`; 1 when the recording failed.",
     runRecord},
    {"bridge", "", "Answer one call to each of two identities and let each caller hear and see the other",
     "Signs in twice, as two identities (new ones minted with the connection string, --identity-a and\n"
     "--identity-b, or --token-a and --token-b), prints `identity a: RAW_ID` and `identity b: RAW_ID`, and\n"
     "answers the first call to each. Each caller gets the other's audio and video (decoded and encoded again,\n"
     "through GStreamer's inter elements); silence and black until the other's media comes. When one call\n"
     "ends, the other is hung up; Ctrl-C (SIGINT) or SIGTERM hangs up both. Exit code as for `answer`, from\n"
     "the call that ended first.",
     runBridgeCommand},
    {"devices", "", "List the microphones, speakers, cameras and screens calls can use",
     "Prints one device a line: its kind, its id (for --microphone and --speaker) and its name. The calling\n"
     "plugin's virtual test devices (ids calling-virtual:...) are always there.",
     runDevices},
};

std::string commandList()
{
    std::string text = "Commands:\n";
    for (const Command& command : kCommands) {
        char line[256];
        std::snprintf(line, sizeof line, "  %-10s%s\n", command.name, command.summary);
        text += line;
    }
    text += "\n`gst-call COMMAND --help` describes a command and its options.";
    return text;
}

// A command's own context: its options, the global ones and GStreamer's.
GOptionContext* commandContext(const Command& command)
{
    // The arguments' names come from the G_OPTION_REMAINING entry (addArguments).
    std::string parameters = std::string("- ") + command.summary;
    GOptionContext* context = g_option_context_new(parameters.c_str());
    g_option_context_set_description(context, command.description);
    g_option_context_add_group(context, gst_init_get_option_group());
    return context;
}

// GOption's program name in usage lines is g_get_prgname(): "gst-call COMMAND" while a command parses.
void setCommandName(const Command& command)
{
    g_set_prgname((std::string("gst-call ") + command.name).c_str());
}

int runCallCommand(const GlobalValues& first, int argc, char** argv, CommandKind kind)
{
    bool answering = kind != CommandKind::Call;
    const Command& command = kCommands[kind == CommandKind::Call ? 0 : kind == CommandKind::Answer ? 1 : 2];
    setCommandName(command);
    GlobalValues second;
    CommandValues values;
    GOptionContext* context = commandContext(command);
    addCallEntries(context, values, kind);
    addGlobalEntries(context, second);
    if (!answering)
        addArguments(context, values, command.arguments);
    g_autoptr(GError) error = nullptr;
    bool parsed = g_option_context_parse(context, &argc, &argv, &error);
    g_option_context_free(context);
    if (!parsed)
        return usageError(error->message, command.name);

    // What no option took: in `arguments` for call, left in argv for answer.
    std::vector<std::string> arguments;
    for (gchar** argument = values.arguments; argument && *argument; ++argument)
        arguments.emplace_back(*argument);
    for (int i = 1; i < argc; ++i)
        arguments.emplace_back(argv[i]);
    if (answering && !arguments.empty())
        return usageError(std::string(command.name) + " takes no arguments, got '" + arguments[0] + "'", command.name);
    if (kind == CommandKind::Record && (!values.output || !*values.output))
        return usageError("record needs the file to write: -o FILE", command.name);
    if (!answering && arguments.size() != 1)
        return usageError(arguments.empty() ? "call needs the raw id of the user to call"
                                            : "call takes one raw id, got " + std::to_string(arguments.size()),
                          command.name);
    if (values.duration < 0 || values.timeout < 0 || values.statsInterval < 0)
        return usageError("--duration, --timeout and --stats-interval cannot be negative", command.name);

    if (!answering &&
        !std::holds_alternative<calling::CommunicationUserIdentifier>(calling::identifierFromRawId(arguments[0])))
        return usageError("'" + arguments[0] + "' is not a user's raw id (8:acs:...)", command.name);

    auto checked = sessionOptions(first, second);
    if (auto* problem = std::get_if<std::string>(&checked))
        return usageError(*problem, command.name);
    SessionOptions options = std::get<SessionOptions>(std::move(checked));
    options.mode = kind == CommandKind::Call     ? SessionOptions::Mode::Call
                   : kind == CommandKind::Answer ? SessionOptions::Mode::Answer
                                                 : SessionOptions::Mode::Record;
    options.camera = values.camera ? values.camera : "";
    options.preferH264 = values.h264;
    options.output = values.output ? values.output : "";
    if (!answering)
        options.target = arguments[0];
    options.decline = values.decline;
    options.muted = values.muted;
    options.microphone = values.microphone ? values.microphone : "";
    options.speaker = values.speaker ? values.speaker : "";
    options.durationSeconds = values.duration;
    options.timeoutSeconds = values.timeout;
    options.statsIntervalSeconds = values.statsInterval;
    return runSession(options);
}

int runDevices(const GlobalValues&, int argc, char** argv)
{
    const Command& command = kCommands[4];
    setCommandName(command);
    GOptionContext* context = commandContext(command);
    g_autoptr(GError) error = nullptr;
    bool parsed = g_option_context_parse(context, &argc, &argv, &error);
    g_option_context_free(context);
    if (!parsed)
        return usageError(error->message, command.name);
    if (argc > 1)
        return usageError(std::string("devices takes no arguments, got '") + argv[1] + "'", command.name);
    return listDevices();
}

int runBridgeCommand(const GlobalValues& first, int argc, char** argv)
{
    const Command& command = kCommands[3];
    setCommandName(command);
    GlobalValues second;
    gchar* tokenA = nullptr;
    gchar* tokenB = nullptr;
    gchar* identityA = nullptr;
    gchar* identityB = nullptr;
    GOptionContext* context = commandContext(command);
    const GOptionEntry entries[] = {
        {"token-a", 0, 0, G_OPTION_ARG_STRING, &tokenA, "A voip token for the first identity (with --token-b; needs --endpoint)",
         "TOKEN"},
        {"token-b", 0, 0, G_OPTION_ARG_STRING, &tokenB, "A voip token for the second identity", "TOKEN"},
        {"identity-a", 0, 0, G_OPTION_ARG_STRING, &identityA,
         "With --connection-string: the first identity (raw id) to mint a token for, instead of a new one", "RAW_ID"},
        {"identity-b", 0, 0, G_OPTION_ARG_STRING, &identityB, "The same for the second identity", "RAW_ID"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_option_context_add_main_entries(context, entries, nullptr);
    addGlobalEntries(context, second);
    g_autoptr(GError) error = nullptr;
    bool parsed = g_option_context_parse(context, &argc, &argv, &error);
    g_option_context_free(context);
    auto take = [](gchar* value) {
        std::string text = value ? value : "";
        g_free(value);
        return text;
    };
    BridgeOptions bridge;
    bridge.tokenA = take(tokenA);
    bridge.tokenB = take(tokenB);
    bridge.identityA = take(identityA);
    bridge.identityB = take(identityB);
    if (!parsed)
        return usageError(error->message, command.name);
    if (argc > 1)
        return usageError(std::string("bridge takes no arguments, got '") + argv[1] + "'", command.name);
    if (bridge.tokenA.empty() != bridge.tokenB.empty())
        return usageError("--token-a and --token-b go together", command.name);
    for (const std::string* id : {&bridge.identityA, &bridge.identityB})
        if (!id->empty() &&
            !std::holds_alternative<calling::CommunicationUserIdentifier>(calling::identifierFromRawId(*id)))
            return usageError("'" + *id + "' is not a user's raw id (8:acs:...)", command.name);
    // The global options' checks, with a token standing in when the tokens are given.
    GlobalValues checked;
    if (!bridge.tokenA.empty())
        checked.token = g_strdup(bridge.tokenA.c_str());
    for (GlobalValues* values : {const_cast<GlobalValues*>(&first), &second}) {
        for (auto [from, to] : {std::pair{&values->connectionString, &checked.connectionString},
                                std::pair{&values->endpoint, &checked.endpoint},
                                std::pair{&values->displayName, &checked.displayName},
                                std::pair{&values->caFile, &checked.caFile}})
            if (*from) {
                g_free(*to);
                *to = g_strdup(*from);
            }
    }
    auto session = sessionOptions(GlobalValues{}, checked);
    if (auto* problem = std::get_if<std::string>(&session))
        return usageError(*problem, command.name);
    const SessionOptions& options = std::get<SessionOptions>(session);
    if (bridge.tokenA.empty() && !options.connection)
        return usageError("bridge needs --connection-string, or --token-a and --token-b", command.name);
    bridge.endpoint = options.endpoint;
    bridge.connection = options.connection;
    bridge.caFile = options.caFile;
    bridge.displayName = options.displayName == "gst-call" ? "gst-call bridge" : options.displayName;
    return runBridge(bridge);
}

int runGstCall(int argc, char** argv)
{
    g_set_prgname("gst-call");

    // The global options before the command; parsing stops at the command (the first argument
    // that is not an option), which the command's own context parses with the rest.
    GlobalValues first;
    GOptionContext* context = g_option_context_new("COMMAND [OPTION...] [ARGUMENT...] - a calling agent on libcalling");
    g_option_context_set_strict_posix(context, TRUE);
    std::string commands = commandList();
    g_option_context_set_description(context, commands.c_str());
    addGlobalEntries(context, first);
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        g_option_context_free(context);
        return usageError(error->message, "");
    }
    if (argc < 2) {
        g_autofree gchar* help = g_option_context_get_help(context, TRUE, nullptr);
        g_option_context_free(context);
        std::fprintf(stderr, "gst-call: which command?\n\n%s", help);
        return kExitUsage;
    }
    g_option_context_free(context);

    std::string name = argv[1];
    // `gst-call help [COMMAND]` is `gst-call [COMMAND] --help`.
    if (name == "help") {
        std::vector<char*> helpArgv = {argv[0]};
        if (argc > 2)
            helpArgv.push_back(argv[2]);
        helpArgv.push_back(const_cast<char*>("--help"));
        helpArgv.push_back(nullptr);
        return runGstCall(int(helpArgv.size() - 1), helpArgv.data());
    }
    for (const Command& command : kCommands) {
        if (name == command.name)
            return command.run(first, argc - 1, argv + 1);
    }
    return usageError("unknown command '" + name + "'", "");
}

}  // namespace

int main(int argc, char** argv)
{
    // Output is read line by line (by people, scripts and tests) even through a pipe.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // GOption's help is translated and converted to the locale's charset.
    std::setlocale(LC_ALL, "");
    return runGstCall(argc, argv);
}
