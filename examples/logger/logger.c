/* logger - uses the host's builtin capabilities (spec actor-rpc-providers.md 2.2, 7.4, 7.5).
 * On each HTTP request it
 *   1. logs "logger: <method> <path>" at level info   (wasmcloud:builtin:logging, Logging.WriteLog)
 *   2. asks for a number in [1, 100]                  (wasmcloud:builtin:numbergen,
 *                                                       NumberGen.RandomInRange {min, max})
 *   3. answers 200 "Your number: <n>", or 500 with the error text if a call failed.
 * Capability claims: wasmcloud:httpserver, wasmcloud:builtin:logging,
 * wasmcloud:builtin:numbergen. */
#include "wasmbus_guest.h"

/* Builtin calls use link name "default" (spec 7.4). */
static int call_builtin(const char* ns, const char* op, wb_slice payload, wb_buf* out) {
  return wb_host_call(wb_cstr("default"), wb_cstr(ns), wb_cstr(op), payload, out);
}

int wasmbus_handle(wb_slice op, wb_slice payload, wb_buf* reply) {
  if (!wb_slice_eq_cstr(op, "HttpServer.HandleRequest")) return wb_unknown_operation(op, reply);

  wb_http_request req;
  if (!wb_http_request_decode(payload, &req)) {
    wb_buf_put_cstr(reply, "logger: cannot decode HttpRequest");
    return 0;
  }

  wb_buf text = {0}, request = {0}, answer = {0}, body = {0};
  int ok = 0;

  /* 1. LogEntry {"level": "info", "text": ...} */
  wb_buf_put_cstr(&text, "logger: ");
  wb_buf_put_slice(&text, req.method);
  wb_buf_put_cstr(&text, " ");
  wb_buf_put_slice(&text, req.path);
  wb_mp_map(&request, 2);
  wb_mp_cstr(&request, "level");
  wb_mp_cstr(&request, "info");
  wb_mp_cstr(&request, "text");
  wb_mp_str(&request, wb_buf_slice(&text));
  if (!call_builtin("wasmcloud:builtin:logging", "Logging.WriteLog", wb_buf_slice(&request),
                    &answer))
    goto done;

  /* 2. RangeLimit {"min": 1, "max": 100} -> uint */
  wb_buf_clear(&request);
  wb_mp_map(&request, 2);
  wb_mp_cstr(&request, "min");
  wb_mp_uint(&request, 1);
  wb_mp_cstr(&request, "max");
  wb_mp_uint(&request, 100);
  if (!call_builtin("wasmcloud:builtin:numbergen", "NumberGen.RandomInRange",
                    wb_buf_slice(&request), &answer))
    goto done;
  uint64_t number;
  wb_mp_reader r = wb_mp_reader_of(wb_buf_slice(&answer));
  if (!wb_mp_read_uint(&r, &number)) {
    wb_buf_clear(&answer);
    wb_buf_put_cstr(&answer, "numbergen answered something that is not a number");
    goto done;
  }

  /* 3. the answer */
  wb_buf_put_cstr(&body, "Your number: ");
  wb_buf_put_u64(&body, number);
  ok = 1;

done:
  wb_http_response(reply, ok ? 200 : 500, ok ? wb_buf_slice(&body) : wb_buf_slice(&answer));
  wb_buf_free(&text);
  wb_buf_free(&request);
  wb_buf_free(&answer);
  wb_buf_free(&body);
  return 1;
}
