// `wasmcloud reg ping REGISTRY`: is this OCI registry usable? GET /v2/ (the Docker Registry HTTP
// API v2 base endpoint, claims-oci-par.md 4.6) and one of three answers: ok (HTTP 200, exit 0);
// needs authentication (401: no credentials given, or the ones given were refused; exit 1); or
// unreachable (no connection, TLS failure, timeout, or another status; exit 1). Plain HTTP with
// --insecure or an `http://` prefix, else HTTPS. Registered on the `reg` subcommand that
// register_reg creates (reg.cpp).
#include <curl/curl.h>

#include <cctype>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"

namespace wc::cli {
namespace {

struct PingArgs {
  std::string registry;
  bool insecure = false;
  std::string user, password, ca_file;
  std::string output = "text";
};

/// What GET /v2/ gave: the HTTP status (0 when there was no answer), curl's error text, and the
/// WWW-Authenticate challenge of a 401.
struct PingAnswer {
  long status = 0;
  std::string error;
  bool tls_error = false;
  std::string challenge;
};

std::size_t ignore_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

std::size_t header_line(char* data, std::size_t size, std::size_t n, void* user) {
  std::string line(data, size * n);
  static const std::string kName = "www-authenticate:";
  if (line.size() > kName.size()) {
    std::string head = line.substr(0, kName.size());
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) {
      std::string v = line.substr(kName.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      static_cast<PingAnswer*>(user)->challenge = v;
    }
  }
  return size * n;
}

PingAnswer get_v2(const std::string& url, const PingArgs& a) {
  PingAnswer r;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  char err[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ignore_body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  if (!a.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, a.ca_file.c_str());
  const std::string userpwd = a.user + ":" + a.password;
  if (!a.user.empty() || !a.password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    r.error = err[0] != '\0' ? err : curl_easy_strerror(rc);
    r.tls_error = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

/// `reg ping`: prints the outcome, or ends the command (exit 1) with it.
void reg_ping(PingArgs a) {
  const bool json = a.output == "json";
  std::string host = a.registry;
  if (host.starts_with("http://")) {
    a.insecure = true;
    host = host.substr(7);
  } else if (host.starts_with("https://")) {
    host = host.substr(8);
  }
  if (auto slash = host.find('/'); slash != std::string::npos) host = host.substr(0, slash);
  if (host.empty())
    die("Registry '" + a.registry + "' names no host (e.g. 127.0.0.1:5000 or ghcr.io)", json);
  const std::string url = std::string(a.insecure ? "http" : "https") + "://" + host + "/v2/";
  const PingAnswer r = get_v2(url, a);
  const bool with_credentials = !a.user.empty() || !a.password.empty();
  if (r.status == 0) {
    std::string text = "Registry " + host + " is unreachable (GET " + url + "): " + r.error;
    if (r.tls_error && !a.insecure)
      text += " (a registry serving plain HTTP? --insecure pings it over HTTP)";
    die(text, json);
  }
  if (r.status == 401)
    die(with_credentials
            ? "Registry " + host + " refused the credentials of user '" + a.user +
                  "' (HTTP 401 on GET " + url + ")"
            : "Registry " + host + " answers but needs authentication (HTTP 401 on GET " + url +
                  (r.challenge.empty() ? "" : "; " + r.challenge) + "): give --user and --password",
        json);
  if (r.status != 200)
    die("Registry " + host + " answered HTTP " + std::to_string(r.status) + " on GET " + url +
            " (not an OCI registry, or not the Docker Registry HTTP API v2)",
        json);
  if (json) {
    std::cout << nlohmann::ordered_json{{"success", true},
                                        {"registry", host},
                                        {"url", url},
                                        {"status", r.status},
                                        {"authenticated", with_credentials}}
                     .dump()
              << "\n";
  } else {
    std::cout << "Registry " << host << " is reachable: ok (GET " << url << " answered 200"
              << (with_credentials ? ", credentials accepted" : "") << ")\n";
  }
}

}  // namespace

void register_reg_ping(CLI::App& app) {
  CLI::App* reg = app.get_subcommand("reg");
  auto a = std::make_shared<PingArgs>();
  auto* ping = reg->add_subcommand("ping", "Check that an OCI registry answers (GET /v2/)");
  ping->add_option("registry", a->registry, "Registry host[:port], e.g. 127.0.0.1:5000")
      ->required();
  ping->add_flag("--insecure", a->insecure, "Use plain HTTP for this registry");
  ping->add_option("-u,--user", a->user, "Registry user name")->envname("WASH_REG_USER");
  ping->add_option("-p,--password", a->password, "Registry password")->envname("WASH_REG_PASSWORD");
  ping->add_option("--ca-file", a->ca_file, "PEM CA bundle for HTTPS registries");
  add_output_option(ping, a->output);
  ping->callback([a] { reg_ping(*a); });
}

}  // namespace wc::cli
