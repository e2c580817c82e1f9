#include "common/error.h"

namespace wc {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kDeadlineExceeded:
      return "deadline_exceeded";
    case Code::kDataLoss:
      return "data_loss";
    case Code::kTrap:
      return "trap";
    case Code::kActorError:
      return "actor_error";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  std::string out(code_name(code));
  out += ": ";
  out += message;
  return out;
}

}  // namespace wc
