/* ponger - the callee of the actor-to-actor example (see pinger.c).
 * Answers `Pingpong.Ping` with the msgpack string "pong" (a String output is a msgpack str,
 * spec actor-rpc-providers.md 7.1). Signed with no capability claims and a call alias
 * (e.g. examples/ponger), so other actors can reach it by that alias or by its public key
 * (spec 2.4). */
#include "wasmbus_guest.h"

int wasmbus_handle(wb_slice op, wb_slice payload, wb_buf* reply) {
  (void)payload; /* Ping takes no input */
  if (!wb_slice_eq_cstr(op, "Pingpong.Ping")) return wb_unknown_operation(op, reply);
  wb_mp_cstr(reply, "pong");
  return 1;
}
