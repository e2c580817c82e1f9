/* hello - the smallest useful actor: answers every HTTP request with
 *   200 "Hello from wasmcloud-cpp: <path>"
 * Capability claims: wasmcloud:httpserver. Link it to an httpserver provider and open the page.
 * Operation served: HttpServer.HandleRequest (spec actor-rpc-providers.md 7.2). */
#include "wasmbus_guest.h"

int wasmbus_handle(wb_slice op, wb_slice payload, wb_buf* reply) {
  if (!wb_slice_eq_cstr(op, "HttpServer.HandleRequest")) return wb_unknown_operation(op, reply);

  wb_http_request req;
  if (!wb_http_request_decode(payload, &req)) {
    wb_buf_put_cstr(reply, "hello: cannot decode HttpRequest");
    return 0;
  }

  wb_buf body = {0};
  wb_buf_put_cstr(&body, "Hello from wasmcloud-cpp: ");
  wb_buf_put_slice(&body, req.path);
  wb_http_response(reply, 200, wb_buf_slice(&body));
  wb_buf_free(&body);
  return 1;
}
