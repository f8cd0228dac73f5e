// calling-server: identities, access tokens, signalling and call control.
//
// Prints one line on stdout when it is ready, the connection string clients and scripts read:
//   endpoint=http://127.0.0.1:PORT/;accesskey=KEY
// Logs go to stderr and never contain a key or a token.
#include "http_server.h"
#include "identity_api.h"
#include "identity_store.h"
#include "main_loop_clock.h"
#include "secrets.h"
#include "signalling_server.h"
#include "token_verifier.h"

#include "protocol/connection_string.h"

#include <glib-unix.h>
#include <glib.h>

#include <cstdio>
#include <optional>
#include <string>

namespace {

// An option's value: the command line wins, then the environment variable, then the default.
std::string pick(const char* fromCommandLine, const char* environmentVariable, const std::string& fallback)
{
    if (fromCommandLine)
        return fromCommandLine;
    if (const char* value = g_getenv(environmentVariable); value && *value)
        return value;
    return fallback;
}

// A duration option in seconds, fractions allowed; nullopt when it is not a number in [min, max].
std::optional<double> seconds(const std::string& text, double min, double max)
{
    char* end = nullptr;
    double value = g_ascii_strtod(text.c_str(), &end);
    if (text.empty() || !end || *end || !(value >= min && value <= max))
        return std::nullopt;
    return value;
}

int fail(const std::string& message)
{
    g_printerr("calling-server: %s\n", message.c_str());
    return 2;
}

gboolean quit(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv)
{
    g_autofree char* listen = nullptr;
    g_autofree char* accessKey = nullptr;
    g_autofree char* stateDir = nullptr;
    g_autofree char* tlsCert = nullptr;
    g_autofree char* tlsKey = nullptr;
    g_autofree char* ringTimeout = nullptr;
    g_autofree char* gracePeriod = nullptr;
    g_autofree char* authTimeout = nullptr;
    g_autofree char* webRoot = nullptr;
    gboolean demoTokens = FALSE;
    gboolean verbose = FALSE;
    GOptionEntry entries[] = {
        {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
         "Address to listen on; port 0 picks a free port [env CALLING_SERVER_LISTEN, default 127.0.0.1:0]",
         "HOST:PORT"},
        {"access-key", 'k', 0, G_OPTION_ARG_STRING, &accessKey,
         "Base64 access key that signs identity API requests; without one, the key stored in the state dir is "
         "used, or a new one generated [env CALLING_SERVER_ACCESS_KEY, preferred: the command line is visible to "
         "other users]",
         "KEY"},
        {"state-dir", 's', 0, G_OPTION_ARG_FILENAME, &stateDir,
         "Directory for the identity database and keys [env CALLING_SERVER_STATE_DIR, default "
         "$XDG_STATE_HOME/calling-server]",
         "DIR"},
        {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tlsCert,
         "PEM certificate (chain) to serve https [env CALLING_SERVER_TLS_CERT]", "FILE"},
        {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tlsKey, "PEM private key of --tls-cert [env CALLING_SERVER_TLS_KEY]",
         "FILE"},
        {"ring-timeout", 0, 0, G_OPTION_ARG_STRING, &ringTimeout,
         "Seconds a call rings before it ends with 487/10004 [env CALLING_SERVER_RING_TIMEOUT, default 30]",
         "SECONDS"},
        {"grace-period", 0, 0, G_OPTION_ARG_STRING, &gracePeriod,
         "Seconds a lost agent connection may come back before its calls end with 410/301005 [env "
         "CALLING_SERVER_GRACE_PERIOD, default 10]",
         "SECONDS"},
        {"auth-timeout", 0, 0, G_OPTION_ARG_STRING, &authTimeout,
         "Seconds an agent connected without an Authorization header has to send auth [env "
         "CALLING_SERVER_AUTH_TIMEOUT, default 10]",
         "SECONDS"},
        {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &webRoot,
         "Directory of the web client served at / [env CALLING_SERVER_WEB_ROOT, default: the installed client, "
         "else the source tree's web/]",
         "DIR"},
        {"demo-tokens", 0, 0, G_OPTION_ARG_NONE, &demoTokens,
         "Let anyone create an identity with a voip token, without the access key (POST /demo/identities), for "
         "trying the web client; only with a loopback --listen address [env CALLING_SERVER_DEMO_TOKENS=1]",
         nullptr},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every request (method, path, status) to stderr",
         nullptr},
        {}};
    g_autoptr(GOptionContext) context = g_option_context_new("- identities, access tokens and calls");
    g_option_context_set_description(
        context, "On start, prints the connection string endpoint=URL;accesskey=KEY as one line on stdout.\n"
                 "Stops cleanly on SIGINT or SIGTERM. See docs/identity.md for the identity API and\n"
                 "docs/protocol.md for the signalling at /signalling/v1.");
    g_option_context_add_main_entries(context, entries, nullptr);
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(context, &argc, &argv, &error))
        return fail(std::string(error->message) + " (see --help)");
    if (argc > 1)
        return fail(std::string("unexpected argument '") + argv[1] + "' (see --help)");
    // stdout carries only the connection string; every log line goes to stderr.
    g_log_writer_default_set_use_stderr(TRUE);
    if (verbose)
        g_setenv("G_MESSAGES_DEBUG", G_LOG_DOMAIN, TRUE);

    calling::server::SignallingOptions signallingOptions;
    struct Duration {
        const char* option;
        const char* fromCommandLine;
        const char* environmentVariable;
        double min;
        double* value;
    } durations[] = {
        {"--ring-timeout", ringTimeout, "CALLING_SERVER_RING_TIMEOUT", 0.001, &signallingOptions.ringTimeoutSeconds},
        {"--grace-period", gracePeriod, "CALLING_SERVER_GRACE_PERIOD", 0, &signallingOptions.gracePeriodSeconds},
        {"--auth-timeout", authTimeout, "CALLING_SERVER_AUTH_TIMEOUT", 0.001, &signallingOptions.authTimeoutSeconds},
    };
    for (const auto& duration : durations) {
        std::string text = pick(duration.fromCommandLine, duration.environmentVariable, "");
        if (text.empty())
            continue;
        auto value = seconds(text, duration.min, 24 * 3600);
        if (!value)
            return fail(std::string(duration.option) + " must be a number of seconds up to a day, not '" + text + "'");
        *duration.value = *value;
    }

    g_autofree char* defaultStateDir = g_build_filename(g_get_user_state_dir(), "calling-server", nullptr);
    std::string dir = pick(stateDir, "CALLING_SERVER_STATE_DIR", defaultStateDir);
    std::string keyText = pick(accessKey, "CALLING_SERVER_ACCESS_KEY", "");
    auto secrets = calling::server::loadSecrets(dir, keyText.empty() ? std::nullopt : std::optional(keyText));
    if (!secrets)
        return fail(secrets.error().message);

    g_autofree char* databasePath = g_build_filename(dir.c_str(), "identities.db", nullptr);
    auto store = calling::server::IdentityStore::open(databasePath);
    if (!store)
        return fail(store.error().message);

    calling::server::IdentityApi identities(*store.value(), secrets->signingKey);
    calling::server::MainLoopClock clock;
    calling::server::AccessTokenVerifier verifier(*store.value(), secrets->signingKey);
    calling::server::SignallingServer signalling(verifier, clock, signallingOptions);
    calling::server::HttpServer server(identities, secrets.value(), &signalling);

    // The web client: the directory given, else the installed one, else the source tree's.
    std::string webDir = pick(webRoot, "CALLING_SERVER_WEB_ROOT", "");
    if (webDir.empty()) {
        for (const char* candidate : {CALLING_SERVER_WEB_ROOT, CALLING_SERVER_SOURCE_WEB_ROOT}) {
            g_autofree char* index = g_build_filename(candidate, "index.html", nullptr);
            if (g_file_test(index, G_FILE_TEST_IS_REGULAR)) {
                webDir = candidate;
                break;
            }
        }
    }
    std::optional<calling::server::StaticFiles> web;
    if (!webDir.empty()) {
        web.emplace(webDir);
        if (!web->valid())
            return fail("--web-root " + webDir + " is not a directory");
        server.serveWebClient(&*web);
    }
    if (demoTokens || pick(nullptr, "CALLING_SERVER_DEMO_TOKENS", "") == "1")
        server.enableDemoTokens();
    calling::server::ListenOptions options{pick(listen, "CALLING_SERVER_LISTEN", "127.0.0.1:0"),
                                           pick(tlsCert, "CALLING_SERVER_TLS_CERT", ""),
                                           pick(tlsKey, "CALLING_SERVER_TLS_KEY", "")};
    auto endpoint = server.listen(options);
    if (!endpoint)
        return fail(endpoint.error().message);

    calling::protocol::ConnectionString connection{endpoint.value(), secrets->accessKeyBase64};
    std::printf("%s\n", connection.toString().c_str());
    std::fflush(stdout);
    g_printerr("calling-server: listening on %s\n", endpoint->c_str());
    if (web)
        g_printerr("calling-server: serving the web client from %s at %s\n", web->root().c_str(), endpoint->c_str());
    else
        g_printerr("calling-server: no web client found (see --web-root)\n");

    g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);
    g_unix_signal_add(SIGINT, quit, loop);
    g_unix_signal_add(SIGTERM, quit, loop);
    g_main_loop_run(loop);
    g_printerr("calling-server: stopped\n");
    return 0;
}
