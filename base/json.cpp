#include "base/json.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"

namespace base {

namespace {

void check_finite(const Json& value, const std::string& file, const std::string& pointer) {
  if (value.is_number_float() && !std::isfinite(value.get<double>()))
    throw Error(file + ": " + (pointer.empty() ? "/" : pointer) + " is " + std::to_string(value.get<double>()) +
                      ", expected a finite number");
  if (value.is_object())
    for (auto it = value.begin(); it != value.end(); ++it) check_finite(it.value(), file, pointer + "/" + pointer_token(it.key()));
  if (value.is_array())
    for (size_t i = 0; i < value.size(); ++i) check_finite(value[i], file, pointer + "/" + std::to_string(i));
}

// Deepest nesting of [ and { outside strings; stops counting once past `limit`.
int nesting_depth(const std::string& text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string describe(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  return (v.is_string() ? "the string " : v.is_boolean() ? "" : "the number ") + json_text_capped(v, 40);
}

}  // namespace

std::string json_text(const Json& document, int indent) {
  return document.dump(indent, ' ', false, Json::error_handler_t::replace);
}

std::string json_text_capped(const Json& value, size_t max_bytes) {
  const std::string text = json_text(value, -1);
  return text.size() > max_bytes ? utf8_prefix(text, max_bytes - 3) + "..." : text;
}

void require_finite(const Json& document, const std::string& file) { check_finite(document, file, ""); }

namespace {

// The JSON pointer of the value being read when parsing `text` stops with an exception that names
// no position (nlohmann's "number overflow" for 1e999): the text is parsed again with a callback
// that follows the keys and array indices.  Only called on that failure path.
std::string failing_pointer(const std::string& text) {
  struct Frame {
    bool array;
    size_t index;
    std::string key;
  };
  std::vector<Frame> stack;
  const Json::parser_callback_t follow = [&](int, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    if (event == E::object_start || event == E::array_start) {
      stack.push_back({event == E::array_start, 0, ""});
    } else if (event == E::key) {
      stack.back().key = parsed.get<std::string>();
    } else {  // a value or a container ended: the enclosing array moves on to its next element
      if (event == E::object_end || event == E::array_end) stack.pop_back();
      if (!stack.empty() && stack.back().array) ++stack.back().index;
    }
    return true;
  };
  try {
    const Json ignored = Json::parse(text, follow);
  } catch (const nlohmann::json::exception&) {
  }
  std::string pointer;
  for (const Frame& f : stack) pointer += "/" + (f.array ? std::to_string(f.index) : pointer_token(f.key));
  return pointer.empty() ? "/" : pointer;
}

// nlohmann's message without its "[json.exception.…] " prefix, on one line.
std::string plain_message(const nlohmann::json::exception& e) {
  std::string what = e.what();
  const size_t bracket = what.find("] ");
  if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) what = what.substr(bracket + 2);
  for (char& c : what)
    if (c == '\n') c = ' ';
  return what;
}

}  // namespace

Json parse_json(const std::string& text, const std::string& where) {
  if (text.size() > kMaxJsonBytes)
    throw Error(where + ": " + std::to_string(text.size()) + " bytes, expected a JSON document of at most " +
                std::to_string(kMaxJsonBytes));
  if (nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth)
    throw Error(where + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels, expected an nnfmri JSON file");
  // A key twice in one object (nlohmann would keep the last silently): refused, naming its pointer.
  struct Frame {
    bool array;
    size_t index = 0;
    std::string key;
    std::unordered_set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::string duplicate;  // the JSON pointer of the first repeated key
  const Json::parser_callback_t check_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    if (event == E::object_start || event == E::array_start) {
      stack.push_back({event == E::array_start, 0, "", {}});
    } else if (event == E::key) {
      Frame& f = stack.back();
      f.key = parsed.get<std::string>();
      if (!f.keys.insert(f.key).second && duplicate.empty())
        for (const Frame& g : stack) duplicate += "/" + (g.array ? std::to_string(g.index) : pointer_token(g.key));
      if (f.keys.size() > kMaxJsonObjectKeys) {  // before the parser's quadratic insert goes further
        std::string object;
        for (size_t i = 0; i + 1 < stack.size(); ++i)
          object += "/" + (stack[i].array ? std::to_string(stack[i].index) : pointer_token(stack[i].key));
        throw Error(where + ": " + (object.empty() ? "/" : object) + ": more than " + std::to_string(kMaxJsonObjectKeys) +
                    " keys in one object, expected an nnfmri JSON file");
      }
    } else {
      if (event == E::object_end || event == E::array_end) stack.pop_back();
      if (!stack.empty() && stack.back().array) ++stack.back().index;
    }
    return true;
  };
  Json document;
  try {
    document = Json::parse(text, check_keys);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(where + ": not valid JSON: " + plain_message(e));
  } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond a double (1e999)
    throw Error(where + ": " + failing_pointer(text) + ": " + plain_message(e) + ", expected a finite number");
  }
  if (!duplicate.empty()) throw Error(where + ": " + duplicate + ": the key appears twice in its object, expected each key once");
  require_finite(document, where);
  return document;
}

Json read_json(const std::string& path) { return parse_json(read_file(path, kMaxJsonBytes), path); }

std::optional<Json> read_optional_json(const std::string& path) {
  struct stat st;
  // Only a file that is not there is nothing: one nnfmri may not look at (EACCES) is an error naming why.
  if (::stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return std::nullopt;
  return read_json(path);
}

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

void Node::fail(const std::string& expected) const {
  throw Error(file_ + ": " + (pointer_.empty() ? "/" : pointer_) + ": expected " + expected + ", found " +
                    describe(*value_));
}

void Node::reject(const std::string& problem) const {
  throw Error(file_ + ": " + (pointer_.empty() ? "/" : pointer_) + ": " + problem);
}

void Node::fail_missing(const std::string& key) const {
  throw Error(file_ + ": " + pointer_ + "/" + pointer_token(key) + ": missing (expected in " +
                    (pointer_.empty() ? "the top-level object" : "the object at " + pointer_) + ")");
}

Node Node::operator[](const std::string& key) const {
  if (!value_->is_object()) fail("an object");
  auto it = value_->find(key);
  if (it == value_->end()) fail_missing(key);
  return Node(*it, file_, pointer_ + "/" + pointer_token(key));
}

Node Node::operator[](size_t i) const {
  if (!value_->is_array()) fail("an array");
  if (i >= value_->size()) fail("an array of at least " + std::to_string(i + 1));
  return Node((*value_)[i], file_, pointer_ + "/" + std::to_string(i));
}

std::optional<Node> Node::find(const std::string& key) const {
  if (!value_->is_object()) fail("an object");  // an optional key of a value that is no object: not "absent"
  if (!value_->contains(key)) return std::nullopt;
  return (*this)[key];
}

size_t Node::array_size() const {
  if (!value_->is_array()) fail("an array");
  return value_->size();
}

std::vector<std::pair<std::string, Node>> Node::members() const {
  if (!value_->is_object()) fail("an object");
  std::vector<std::pair<std::string, Node>> out;
  for (auto it = value_->begin(); it != value_->end(); ++it)
    out.emplace_back(it.key(), Node(it.value(), file_, pointer_ + "/" + pointer_token(it.key())));
  return out;
}

double Node::number() const {
  if (!value_->is_number()) fail("a number");
  const double v = value_->get<double>();
  if (!std::isfinite(v)) fail("a finite number");
  return v;
}

double Node::number(double low, double high) const {
  const double v = number();
  if (v < low || v > high)
    fail(high == kUnbounded ? "a number ≥ " + shortest(low, false)
                            : "a number from " + shortest(low, false) + " to " + shortest(high, false));
  return v;
}

long long Node::integer(long long low, long long high) const {
  if (!value_->is_number_integer() || value_->get<long long>() < low || value_->get<long long>() > high)
    fail("an integer from " + std::to_string(low) + " to " + std::to_string(high));
  return value_->get<long long>();
}

std::string Node::text() const {
  if (!value_->is_string()) fail("a string");
  return value_->get<std::string>();
}

bool Node::boolean() const {
  if (!value_->is_boolean()) fail("true or false");
  return value_->get<bool>();
}

std::array<double, 2> Node::interval() const {
  if (array_size() != 2) fail("an interval [low, high]");
  const double low = (*this)[0].number(), high = (*this)[1].number();
  if (low > high) fail("an interval [low, high] with low \u2264 high");
  return {low, high};
}

std::array<int, 3> Node::triple(int high) const {
  if (array_size() != 3) fail("three integers");
  return {int((*this)[0].integer(1, high)), int((*this)[1].integer(1, high)), int((*this)[2].integer(1, high))};
}

std::optional<double> Node::optional_number(const std::string& key, double low, double high) const {
  if (auto n = find(key)) return n->number(low, high);
  return std::nullopt;
}

}  // namespace base
