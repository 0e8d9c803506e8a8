// What a handler gives back for one invocation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lamella {

/// The result of one invocation: a success with a payload, or a function error.
/// A function error carries an AWS-style error type ("ValueError", "Runtime.HandlerNotFound")
/// and a JSON body in the shape the platform expects; the loop posts it and keeps serving.
/// Plain value type: safe to copy and move; not synchronised.
class outcome {
 public:
  /// A successful result. `content_type` is forwarded to the caller unchanged.
  static outcome success(std::string payload, std::string content_type = "application/json");

  /// A function error with the standard body
  /// `{"errorMessage": message, "errorType": error_type, "stackTrace": [...]}`.
  static outcome failure(std::string_view error_type, std::string_view error_message,
                         const std::vector<std::string>& stack_trace = {});

  /// A function error whose JSON body the caller built itself (language adapters use this to
  /// send the exact body their official runtime sends, such as Node's `trace`).
  /// REQUIRES: `json_body` is a JSON document.
  static outcome failure_with_body(std::string error_type, std::string json_body);

  /// True for a success, false for a function error.
  [[nodiscard]] bool is_success() const noexcept { return success_; }
  /// The success payload, or the error JSON body of a failure.
  [[nodiscard]] const std::string& payload() const noexcept { return payload_; }
  /// Moves the payload out (the outcome is left with an empty payload).
  [[nodiscard]] std::string take_payload() noexcept { return std::move(payload_); }
  /// The content type of the payload ("application/json" for failures).
  [[nodiscard]] const std::string& content_type() const noexcept { return content_type_; }
  /// The error type of a failure; empty for a success.
  [[nodiscard]] const std::string& error_type() const noexcept { return error_type_; }

 private:
  outcome(bool success, std::string payload, std::string content_type, std::string error_type)
      : success_(success),
        payload_(std::move(payload)),
        content_type_(std::move(content_type)),
        error_type_(std::move(error_type)) {}

  bool success_;
  std::string payload_;
  std::string content_type_;
  std::string error_type_;
};

}  // namespace lamella
