// Debian's Chromium for a test, through tests/browser/driver.mjs (playwright-core): one headless
// browser with fake camera and microphone, one page, driven command by command. Each command waits
// for its answer while iterating the test's GMainContext (through `pump`, so that the GStreamer
// side and the library go on meanwhile), with a deadline.
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace calling::test {

class BrowserDriver {
public:
    struct Answer {
        bool ok = false;
        std::string error;  // when !ok
        std::string json;   // the value, as JSON text ("null" for none)

        // The value as a number / string / boolean (0, "", false when it is not one).
        double number() const;
        std::string string() const;
        bool boolean() const;
        // A number member of an object value ("video.framesDecoded"); -1 when absent.
        double number(const char* dottedPath) const;
    };

    // Starts node with driver.mjs; `pump` runs on every iteration while waiting.
    BrowserDriver(GMainContext* context, std::function<void()> pump);
    ~BrowserDriver();
    BrowserDriver(const BrowserDriver&) = delete;
    BrowserDriver& operator=(const BrowserDriver&) = delete;

    // Waits for the browser to be up; false with the reason in `why`.
    bool start(std::string* why);

    Answer open(const std::string& url);
    Answer fill(const std::string& selector, const std::string& value);
    Answer click(const std::string& selector);
    Answer text(const std::string& selector);
    Answer visible(const std::string& selector);
    // `expression` is awaited in the page; its value comes back as JSON.
    Answer evaluate(const std::string& expression);
    // Until `expression` is truthy in the page, polled every 100 ms.
    Answer waitFor(const std::string& expression, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    Answer screenshot(const std::string& path);

    // What the page logged (console, errors) and what the driver said besides its answers.
    const std::string& log() const;

private:
    struct State;
    Answer send(const std::string& op, const std::map<std::string, std::string>& fields,
                std::chrono::milliseconds timeout);
    static void readLine(const std::shared_ptr<State>& state);
    static void onLine(GObject* source, GAsyncResult* result, gpointer data);

    GMainContext* context_;
    std::function<void()> pump_;
    GSubprocess* process_ = nullptr;
    std::shared_ptr<State> state_;
    int nextId_ = 1;
};

}  // namespace calling::test
