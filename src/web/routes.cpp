// The dashboard's HTTP routes (see routes.h).
#include "web/routes.h"

#include <httplib.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "common/json.h"
#include "wascap/jwt.h"
#include "web/forms.h"
#include "web/messages.h"

namespace wc::web {
namespace {

using nlohmann::json;

constexpr std::string_view kVersion = "0.1.0";

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
  return s;
}

GuardHeaders guard_headers(const httplib::Request& req) {
  return GuardHeaders{req.get_header_value("Host"), req.get_header_value("Origin"),
                      req.get_header_value("Sec-Fetch-Site"), req.get_header_value("X-CSRF-Token")};
}

/// The named string fields of a multipart form as a JSON object (absent fields left out).
json multipart_fields(const httplib::Request& req, std::initializer_list<const char*> names) {
  json fields = json::object();
  for (const char* k : names)
    if (req.has_file(k)) fields[k] = req.get_file_value(k).content;
  return fields;
}

/// The multipart `file` part ({} when absent).
UploadedFile uploaded_file(const httplib::Request& req) {
  if (!req.has_file("file")) return {};
  const auto f = req.get_file_value("file");
  return {f.filename, f.content};
}

}  // namespace

std::string mime_type(std::string_view path) {
  auto dot = path.rfind('.');
  const std::string_view e = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (e == "html") return "text/html; charset=utf-8";
  if (e == "js" || e == "mjs") return "text/javascript; charset=utf-8";
  if (e == "css") return "text/css; charset=utf-8";
  if (e == "svg") return "image/svg+xml";
  if (e == "png") return "image/png";
  if (e == "ico") return "image/x-icon";
  return "";
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_index(std::string page, std::string_view token, std::string_view lattice) {
  std::string html = replace_all(std::move(page), "{{CSRF_TOKEN}}", token);
  return replace_all(std::move(html), "{{LATTICE}}", html_escape(lattice));
}

json Router::state_json() const {
  json s = d_.state.snapshot();
  s["watches"] = d_.watcher.to_json();
  s["applications"] = d_.apps.snapshot();
  return s;
}

void Router::send(httplib::Response& res, const Reply& r, const std::string& action) {
  res.status = r.status;
  res.set_content(r.body.dump(), "application/json");
  if (r.status != 200) {
    d_.log.record(action, "error", action + ": " + json_string(r.body, "error"),
                  json{{"status", r.status}});
  }
}

void Router::guarded_post(httplib::Server& server, const std::string& path, Handler handler) {
  server.Post(path, [this, path, handler](const httplib::Request& req, httplib::Response& res) {
    const std::string action = path.substr(5);  // without "/api/"
    if (auto st = d_.guard.check_write(guard_headers(req)); !st)
      return send(res, refused(403, st.error().message), action);
    send(res, handler(req), action);
  });
}

void Router::post(httplib::Server& server, const std::string& path,
                  std::function<Reply(const json&)> handler) {
  guarded_post(server, path, [handler](const httplib::Request& req) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return refused(400, std::string(messages::kBadJsonBody));
    return handler(body);
  });
}

void Router::post_multipart(httplib::Server& server, const std::string& path, Handler handler) {
  guarded_post(server, path, [handler](const httplib::Request& req) {
    if (!req.is_multipart_form_data())
      return refused(400, std::string(messages::kPleaseSelectFile));
    return handler(req);
  });
}

void Router::serve_static(const std::string& rel, httplib::Response& res) const {
  if (rel.find("..") != std::string::npos || mime_type(rel).empty()) {
    res.status = 404;
    return;
  }
  auto body = slurp(d_.ui_dir + "/" + rel);
  if (!body) {
    res.status = 404;
    return;
  }
  res.set_content(std::move(*body), mime_type(rel));
  res.set_header("Cache-Control", "no-cache");
}

// Server-sent events: one long chunked response per browser tab, each holding a worker thread;
// past DashboardConfig::max_streams (in total) or max_streams_per_client (per client address)
// the request is answered 503 and its connection closed.
void Router::serve_events(const httplib::Request& req, httplib::Response& res) {
  auto slot = d_.slots.take(req.remote_addr);
  if (!slot) {
    res.status = 503;
    res.set_header("Retry-After", "5");
    res.set_header("Cache-Control", "no-store");
    std::string body =
        json{{"accepted", false}, {"error", std::string(messages::kTooManyStreams)}}.dump();
    // httplib 0.11 keeps a connection open after a handler's response until the client sends
    // nothing for the keep-alive timeout, holding a worker meanwhile; a content provider that
    // ends the response and then reports failure makes it close the connection at once.
    res.set_chunked_content_provider("application/json",
                                     [body](std::size_t, httplib::DataSink& sink) {
                                       sink.write(body.data(), body.size());
                                       sink.done();
                                       return false;
                                     });
    return;
  }
  auto stream =
      std::make_shared<EventStream>(d_.log, d_.state, d_.metrics, [this] { return state_json(); });
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream",
                                   [stream, slot](std::size_t, httplib::DataSink& sink) {
                                     (void)slot;  // held while the stream lives
                                     auto out = stream->next();
                                     if (!out) return false;
                                     if (out->empty()) return true;
                                     return sink.write(out->data(), out->size());
                                   });
}

void Router::install(httplib::Server& server) {
  // Every response: no framing by other sites, no sniffing, scripts only from here.
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                   "frame-ancestors 'none'");
    if (auto st = d_.guard.check_read(guard_headers(req)); !st) {
      res.status = 403;
      res.set_content(json{{"accepted", false}, {"error", st.error().message}}.dump(),
                      "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    auto page = slurp(d_.ui_dir + "/index.html");
    if (!page) {
      res.status = 404;
      return;
    }
    res.set_content(render_index(std::move(*page), d_.guard.token(), d_.lattice),
                    "text/html; charset=utf-8");
    res.set_header("Cache-Control", "no-store");
  });
  server.Get(R"(/static/([A-Za-z0-9_./-]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               serve_static(req.matches[1].str(), res);
             });
  // The tab icon: one SVG, also under the name browsers ask for unprompted.
  server.Get("/favicon.ico", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("favicon.svg", res);
  });
  server.Get("/favicon.svg", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("favicon.svg", res);
  });
  server.Get("/vendor/chart.umd.js", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("node_modules/chart.js/dist/chart.umd.js", res);
  });
  server.Get("/api/readyz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"ready":true})", "application/json");
  });
  server.Get("/api/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"live":true})", "application/json");
  });
  server.Get("/api/session", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"csrf_token", d_.guard.token()},
                         {"lattice", d_.lattice},
                         {"version", kVersion},
                         {"registry", d_.registry}}
                        .dump(),
                    "application/json");
    res.set_header("Cache-Control", "no-store");
  });
  server.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(state_json().dump(), "application/json");
  });
  server.Get("/api/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(d_.metrics.snapshot(wascap::now_seconds()).dump(), "application/json");
  });
  server.Get("/api/log", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(d_.log.to_json().dump(), "application/json");
  });
  server.Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) {
    serve_events(req, res);
  });

  Actions& a = d_.actions;
  post(server, "/api/actors/start", [&a](const json& b) {
    auto f = parse_start_actor(b);
    return f ? a.start_actor(*f) : refused(400, f.error().message);
  });
  post_multipart(server, "/api/actors/upload", [this](const httplib::Request& r) {
    return d_.uploads.upload_actor(multipart_fields(r, {"count", "host_id"}), uploaded_file(r));
  });
  post(server, "/api/actors/hotreload", [&a](const json& b) {
    auto f = parse_hot_reload(b);
    return f ? a.hot_reload(*f) : refused(400, f.error().message);
  });
  post(server, "/api/hotwatch/stop", [&a](const json& b) { return a.stop_watch(b); });
  post(server, "/api/actors/scale", [&a](const json& b) {
    auto f = parse_scale(b);
    return f ? a.scale(*f) : refused(400, f.error().message);
  });
  post(server, "/api/providers/start", [&a](const json& b) {
    auto f = parse_start_provider(b);
    return f ? a.start_provider(*f) : refused(400, f.error().message);
  });
  post_multipart(server, "/api/providers/upload", [this](const httplib::Request& r) {
    return d_.uploads.upload_provider(
        multipart_fields(r, {"link_name", "configuration", "host_id"}), uploaded_file(r));
  });
  post(server, "/api/providers/stop", [&a](const json& b) {
    auto f = parse_stop_provider(b);
    return f ? a.stop_provider(*f) : refused(400, f.error().message);
  });
  post(server, "/api/links/put", [&a](const json& b) {
    auto f = parse_link(b);
    return f ? a.put_link(*f) : refused(400, f.error().message);
  });
  post(server, "/api/links/delete", [&a](const json& b) {
    auto f = parse_delete_link(b);
    return f ? a.delete_link(*f) : refused(400, f.error().message);
  });
  Applications& apps = d_.apps;
  post(server, "/api/apps/deploy", [&apps](const json& b) { return apps.deploy(b); });
  post(server, "/api/apps/undeploy", [&apps](const json& b) { return apps.undeploy(b); });
}

}  // namespace wc::web
