// The OCI client's HTTP side (src/oci/transport.h): registry answers mapped to the reference's
// error texts (claims-oci-par.md 4.7 step 1), transport failures, the insecure-registry scheme
// rule (4.4) and Location resolution (4.11 step 8). No registry needed.
#include <gtest/gtest.h>

#include "oci/errors.h"
#include "oci/reference.h"
#include "oci/transport.h"

namespace {

using namespace wc::oci;
using namespace wc::oci::detail;

HttpResponse answer(long status, std::string body = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

const std::string kUrl = "https://reg.io/v2/echo/manifests/1";

/// `a` followed by `b` (reserved first: g++ 12 warns falsely on `std::string(a) + "..."`).
std::string cat(std::string_view a, std::string_view b) {
  std::string s;
  s.reserve(a.size() + b.size());
  s.append(a);
  s.append(b);
  return s;
}

TEST(RegistryError, Unauthorized) {
  const auto e = registry_error(kUrl, answer(401));
  EXPECT_EQ(e.code, wc::Code::kPermissionDenied);
  EXPECT_EQ(e.message, std::string(errors::kNotAuthorizedPrefix) + kUrl);
}

TEST(RegistryError, NotFoundCarriesTheOciErrorEnvelope) {
  const auto e = registry_error(
      kUrl, answer(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"},)"
                        R"({"code":"X","message":"second"}]})"));
  EXPECT_EQ(e.code, wc::Code::kNotFound);
  EXPECT_EQ(e.message, std::string(errors::kRegistryErrorPrefix) + kUrl +
                           ", envelope: OCI API errors: [OCI API error: manifest unknown\n"
                           "OCI API error: second]");
}

TEST(RegistryError, ClientErrorCodes) {
  EXPECT_EQ(registry_error(kUrl, answer(403, "{}")).code, wc::Code::kPermissionDenied);
  EXPECT_EQ(registry_error(kUrl, answer(429, "{}")).code, wc::Code::kUnavailable);
  EXPECT_EQ(registry_error(kUrl, answer(400, "{}")).code, wc::Code::kInvalidArgument);
}

TEST(RegistryError, ClientErrorWithoutJsonBodyStillNamesTheUrl) {
  const auto e = registry_error(kUrl, answer(400, "<html>bad</html>"));
  EXPECT_EQ(e.code, wc::Code::kInvalidArgument);
  EXPECT_TRUE(
      e.message.starts_with(std::string(errors::kRegistryErrorPrefix) + kUrl + ", envelope: "))
      << e.message;
}

TEST(RegistryError, UnexpectedSuccessIsASpecViolation) {
  const auto e = registry_error(kUrl, answer(204));
  EXPECT_EQ(e.code, wc::Code::kUnavailable);
  EXPECT_EQ(e.message, cat(errors::kSpecViolationPrefix, "204 instead"));
}

TEST(RegistryError, ServerErrorKeepsTheFirst1024BytesOfTheBody) {
  const auto e = registry_error(kUrl, answer(503, std::string(2000, 'x')));
  EXPECT_EQ(e.code, wc::Code::kUnavailable);
  EXPECT_EQ(e.message, std::string(errors::kServerErrorPrefix) + kUrl +
                           ", code: 503, message: " + std::string(1024, 'x'));
}

TEST(Transport, UnreachableRegistryIsATransportFailure) {
  HttpRequest req;
  req.url = "http://127.0.0.1:1/v2/";
  auto r = send(wc::oci::ClientOptions{}, req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, wc::Code::kUnavailable);
  EXPECT_TRUE(r.error().message.starts_with("error sending request for url (" + req.url + "): "))
      << r.error().message;
  EXPECT_TRUE(is_transport(r.error()));
  // A registry's answer is not a transport failure, whatever its code.
  EXPECT_FALSE(is_transport(registry_error(kUrl, answer(503))));
}

TEST(Transport, OnlyHttpAndHttpsAreSpoken) {
  HttpRequest req;
  req.url = "file:///etc/passwd";
  auto r = send(wc::oci::ClientOptions{}, req);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(is_transport(r.error())) << r.error().message;
}

TEST(Transport, PrefixedKeepsTheCode) {
  const auto e = prefixed(errors::kFetchBytesPrefix, {wc::Code::kNotFound, "gone"});
  EXPECT_EQ(e.code, wc::Code::kNotFound);
  EXPECT_EQ(e.message, cat(errors::kFetchBytesPrefix, "gone"));
}

TEST(Transport, PlainHttpOnlyForListedRegistries) {
  auto ref = parse_reference("127.0.0.1:5000/echo:1");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(scheme_for(*ref, {"127.0.0.1:5000"}), "http://");
  EXPECT_EQ(scheme_for(*ref, {"127.0.0.1:5001", "localhost:5000"}), "https://");
  EXPECT_EQ(scheme_for(*ref, {}), "https://");
}

TEST(Session, ResolvesLocations) {
  const wc::oci::ClientOptions opts;
  Session s(opts, "http://reg.io:5000", "echo");
  EXPECT_EQ(s.resolve("/v2/echo/blobs/uploads/u1?x=1"),
            "http://reg.io:5000/v2/echo/blobs/uploads/u1?x=1");
  EXPECT_EQ(s.resolve("v2/echo/blobs/uploads/u1"), "http://reg.io:5000/v2/echo/blobs/uploads/u1");
  EXPECT_EQ(s.resolve("https://cdn.io/upload/1"), "https://cdn.io/upload/1");
  EXPECT_FALSE(s.has_token());
  EXPECT_EQ(s.repository(), "echo");
}

}  // namespace
