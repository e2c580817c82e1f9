/* pinger - calls another actor (ponger) and shows its answer over HTTP.
 *
 *   GET /               calls ponger by its call alias (PONGER_ALIAS, set at build time)
 *   GET /?key=M...      calls ponger by its public key (56 characters, 'M' first)
 *
 * Either way the call is __host_call("", <alias or key>, "Pingpong.Ping", <empty>) (spec
 * actor-rpc-providers.md 2.4: binding "" and the target actor in the namespace), and the reply
 * is 200 "Ping <answer>" ("Ping pong"), or 500 with the host's error text when the call failed.
 * Capability claims: wasmcloud:httpserver (actor-to-actor calls need no claim). */
#include "wasmbus_guest.h"

#ifndef PONGER_ALIAS
#define PONGER_ALIAS "examples/ponger"
#endif

/* An actor public key: 56 characters of base32 (A-Z, 2-7) starting with 'M' (spec 0.1). */
static int is_actor_key(wb_slice s) {
  if (s.len != 56 || s.data[0] != 'M') return 0;
  for (size_t i = 0; i < s.len; ++i) {
    uint8_t c = s.data[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return 0;
  }
  return 1;
}

int wasmbus_handle(wb_slice op, wb_slice payload, wb_buf* reply) {
  if (!wb_slice_eq_cstr(op, "HttpServer.HandleRequest")) return wb_unknown_operation(op, reply);

  wb_http_request req;
  if (!wb_http_request_decode(payload, &req)) {
    wb_buf_put_cstr(reply, "pinger: cannot decode HttpRequest");
    return 0;
  }

  wb_slice target = wb_cstr(PONGER_ALIAS);
  wb_slice key;
  if (wb_query_param(req.query, "key", &key)) {
    if (!is_actor_key(key)) {
      wb_http_response(reply, 400, wb_cstr("key must be an actor public key (M...)"));
      return 1;
    }
    target = key;
  }

  wb_buf answer = {0};
  wb_buf body = {0};
  wb_slice empty = {0, 0};
  if (wb_host_call(wb_cstr(""), target, wb_cstr("Pingpong.Ping"), empty, &answer)) {
    wb_mp_reader r = wb_mp_reader_of(wb_buf_slice(&answer));
    wb_slice text;
    if (!wb_mp_read_bytes(&r, &text)) text = wb_buf_slice(&answer); /* not msgpack: raw bytes */
    wb_buf_put_cstr(&body, "Ping ");
    wb_buf_put_slice(&body, text);
    wb_http_response(reply, 200, wb_buf_slice(&body));
  } else {
    wb_http_response(reply, 500, wb_buf_slice(&answer)); /* the host's error text */
  }
  wb_buf_free(&body);
  wb_buf_free(&answer);
  return 1;
}
