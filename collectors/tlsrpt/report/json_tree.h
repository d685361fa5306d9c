#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "collectors/tlsrpt/report/report_parser.h"

namespace mtasts::tlsrpt {

/// Builds a JSON tree from nlohmann's SAX events, refusing, while it reads, what would make the
/// tree dangerous: nesting past the limit (a 1 MB "[[[[..." would otherwise cost a deep tree),
/// more values than the limit (a flat "[{},{},...]" costs far more memory than its text), and
/// duplicate keys (two readers could disagree on which one counts). A report's whole document
/// (ParseReport), or one entry of the state file at a time (the agent's state reader).
class BoundedTreeBuilder {
 public:
  using Json = nlohmann::json;
  explicit BoundedTreeBuilder(const ParseLimits& limits) : limits_(limits) {}

  // NOLINTBEGIN(readability-identifier-naming): the names nlohmann's SAX interface calls.
  bool null() { return Add(Json(nullptr)) != nullptr; }
  bool boolean(bool value) { return Add(Json(value)) != nullptr; }
  bool number_integer(Json::number_integer_t value) { return Add(Json(value)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t value) { return Add(Json(value)) != nullptr; }
  bool number_float(Json::number_float_t value, const Json::string_t& /*text*/) {
    return Add(Json(value)) != nullptr;
  }
  bool string(Json::string_t& value) { return Add(Json(std::move(value))) != nullptr; }
  bool binary(Json::binary_t& /*value*/) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t /*elements*/) { return Open(Json::object()); }
  bool key(Json::string_t& name);
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) { return Open(Json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex);
  // NOLINTEND(readability-identifier-naming)

  Json& Root() { return root_; }
  const std::string& Failure() const { return failure_; }

 private:
  bool Fail(std::string message) {
    if (failure_.empty()) failure_ = std::move(message);
    return false;
  }

  Json* Add(Json value) {
    if (++values_ > limits_.max_values) {
      Fail("more than " + std::to_string(limits_.max_values) + " JSON values");
      return nullptr;
    }
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    *pending_ = std::move(value);
    return pending_;
  }

  bool Open(Json container) {
    if (stack_.size() >= limits_.max_depth) {
      return Fail("JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Json* added = Add(std::move(container));
    if (added == nullptr) return false;
    stack_.push_back(added);  // ancestors never move while a descendant is open
    return true;
  }

  const ParseLimits& limits_;
  Json root_;
  std::vector<Json*> stack_;
  Json* pending_ = nullptr;
  std::size_t values_ = 0;
  std::string failure_;
};

}  // namespace mtasts::tlsrpt
