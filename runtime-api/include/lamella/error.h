// Error values used inside lamella: an error enum with its own category, and result<T>.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace lamella {

/// The kinds of failure lamella reports as values. Function errors (a handler threw or returned a
/// failure) are not listed here: they are outcomes, posted to the platform, and never stop a loop.
enum class errc {
  runtime_api_unreachable = 1,  ///< connect, send or receive failed on the Runtime API connection
  bad_runtime_response,         ///< the platform answered something the protocol does not allow
  runtime_api_rejected,         ///< the platform answered with a non-success status
  payload_too_large,            ///< a body exceeded a documented platform limit
  invalid_configuration,        ///< a required setting is missing or malformed
  handler_not_found,            ///< the configured handler could not be located or loaded
  malformed_handler,            ///< the handler string has the wrong form
  not_supported,                ///< the transport cannot do this (e.g. curl: streamed requests)
  stream_closed,                ///< a response stream was already finished, failed or broken
  shutting_down,  ///< the platform is stopping this environment: end the loop (push platforms)
};

/// The category of `lamella::errc`; its name is "lamella". Thread-safe (a static singleton).
const boost::system::error_category& lamella_category() noexcept;

/// Makes an error_code for `e` in the lamella category (found by ADL).
boost::system::error_code make_error_code(errc e) noexcept;

/// A value or an error_code; the return type of every fallible lamella operation.
template <class T>
using result = boost::system::result<T>;

}  // namespace lamella

template <>
struct boost::system::is_error_code_enum<lamella::errc> : std::true_type {};
