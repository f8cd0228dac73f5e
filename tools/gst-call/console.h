// What gst-call prints, and the one-shot timers its commands use. Lines go to standard output as
// they happen (flushed: tests and scripts read them live); complaints to standard error.
#pragma once

#include <calling/result.h>

#include "protocol/glib_ptr.h"

#include <chrono>
#include <functional>
#include <string>

namespace gstcall {

void say(const std::string& line);
void complain(const std::string& line);
// "message (code/subCode)"
std::string describe(const calling::Error& error);
// A one-shot timer on the default main context; destroying the pointer cancels it.
calling::protocol::SourcePtr after(std::chrono::milliseconds delay, std::function<void()> fire);

}  // namespace gstcall
