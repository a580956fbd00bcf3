// tests/error_of.h — the message of the base::Error a piece of code throws, for the tests of error lines.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "base/error.h"

// The message of the base::Error that run() throws; "" and a test failure when it throws nothing.
inline std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const base::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected base::Error, nothing was thrown";
  return "";
}

// run() must throw an base::Error whose message contains `text` (a flag, a file, a spec token...).
inline void expect_error_naming(const std::function<void()>& run, const std::string& text) {
  const std::string message = error_of(run);
  EXPECT_NE(message.find(text), std::string::npos) << "message does not name '" << text << "': " << message;
}
