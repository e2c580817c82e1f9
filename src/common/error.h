// wc::Error and wc::Result: the one error value of the whole library.
//
// Every fallible function returns Result<T> (tl::expected<T, Error>) or Status (Result<void>);
// no exception crosses a module boundary. Error::message is the text a client sees; texts that
// clients match on come from the original host and live in one place per concern (for example
// src/wascap/errors.h, src/lattice/topics.h). Thread-safety: plain values, copy freely.
//
// Error policy (see docs/ARCHITECTURE.md "Errors"): untrusted input (network payloads, modules,
// tokens, registry answers) fails with an Error and is counted; states that cannot happen abort.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace wc {

/// Small, stable set of error kinds. Pick by what the caller can do about it.
enum class Code {
  kInvalidArgument,    ///< malformed input: bad JSON, msgpack, wasm, base64, reference, flag
  kNotFound,           ///< missing thing: section, tag, actor, host, file
  kAlreadyExists,      ///< duplicate start, second OCI reference for a running actor key
  kPermissionDenied,   ///< claims, signature, policy, insecure registry, :latest refused
  kUnavailable,        ///< a peer is down or not answering: NATS, registry, provider
  kDeadlineExceeded,   ///< a timeout or an invocation deadline
  kDataLoss,           ///< digest or hash mismatch, truncated transfer
  kTrap,               ///< guest fault: trap, out-of-bounds, stack overflow, proc_exit
  kActorError,         ///< the actor itself reported failure (`__guest_error`, return code != 1)
  kResourceExhausted,  ///< memory cap, too many instances, payload too large
  kUnsupported,        ///< valid but not supported here (component model, bindle, ...)
  kInternal,           ///< a dependency failed unexpectedly (libsodium, libcurl init, ...)
};

/// Short lower-case name of a code ("invalid_argument"), for logs and JSON.
std::string_view code_name(Code code);

/// An error: a kind and the message a user or client sees.
struct Error {
  Code code = Code::kInternal;
  std::string message;

  /// Returns "code_name: message" for logs.
  [[nodiscard]] std::string to_string() const;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

/// Builds the unexpected value to return from a Result-returning function:
/// `return wc::fail(wc::Code::kNotFound, "No claims found in source module");`
inline tl::unexpected<Error> fail(Code code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

/// Passes an Error on unchanged (for `if (!r) return wc::fail(r.error());`).
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

/// The success value of a Status function.
inline Status ok() { return {}; }

}  // namespace wc
