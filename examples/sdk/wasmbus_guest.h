/* wasmbus_guest.h - a tiny C guest SDK for wasmCloud actors (core wasm modules, wasmbus ABI).
 *
 * What it gives an actor:
 *   - the `wasmbus` imports and the `__guest_call` export (spec actor-rpc-providers.md 1.2/1.3);
 *     the SDK fetches the pending request and hands it to the actor's wasmbus_handle();
 *   - wb_host_call(): a synchronous outbound call (capability, builtin or another actor, spec 2);
 *   - a growable byte buffer (wb_buf) and a minimal, bounds-checked MessagePack writer/reader,
 *     just enough for the HttpRequest/HttpResponse maps (spec 7.2) and the builtin payloads
 *     (spec 7.4/7.5);
 *   - `Actor.HealthRequest` is answered by the SDK with {"healthy": true} (spec 7.6).
 *
 * An actor is one .c file that includes this header and defines wasmbus_handle(). Build with
 * clang --target=wasm32-wasi (see examples/CMakeLists.txt), then sign it with
 * `wasmcloud claims sign`. Each invocation runs single-threaded inside one instance; nothing here
 * is thread-safe, nor needs to be.
 */
#ifndef WASMBUS_GUEST_H
#define WASMBUS_GUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- bytes ---------------------------------------------------------------------------------- */

/** A read-only view of bytes (not NUL-terminated). */
typedef struct {
  const uint8_t* data;
  size_t len;
} wb_slice;

/** A growable byte buffer. Zero-initialise it (`wb_buf b = {0};`), free it with wb_buf_free().
 *  After an allocation failure `failed` is set and further appends are ignored. */
typedef struct {
  uint8_t* data;
  size_t len;
  size_t cap;
  int failed;
} wb_buf;

/** A slice over a NUL-terminated C string (without the NUL). */
wb_slice wb_cstr(const char* s);
/** A slice over the current contents of a buffer. */
wb_slice wb_buf_slice(const wb_buf* b);
/** 1 when the two slices hold the same bytes, else 0. */
int wb_slice_eq(wb_slice a, wb_slice b);
/** 1 when `s` holds exactly the bytes of the C string `c`, else 0. */
int wb_slice_eq_cstr(wb_slice s, const char* c);

/** Appends `len` bytes. */
void wb_buf_put(wb_buf* b, const void* data, size_t len);
/** Appends a slice. */
void wb_buf_put_slice(wb_buf* b, wb_slice s);
/** Appends a C string (without its NUL). */
void wb_buf_put_cstr(wb_buf* b, const char* s);
/** Appends `v` as decimal ASCII digits. */
void wb_buf_put_u64(wb_buf* b, uint64_t v);
/** Empties the buffer (keeps its storage). */
void wb_buf_clear(wb_buf* b);
/** Releases the buffer's storage and zeroes it. */
void wb_buf_free(wb_buf* b);

/* ---- the actor's entry point ------------------------------------------------------------------
 */

/** Implemented by every actor: handles one invocation.
 *  `op` is the operation name (e.g. "HttpServer.HandleRequest"), `payload` its msgpack bytes.
 *  Return 1 after writing the response into `reply`, or 0 after writing an error text (UTF-8)
 *  into `reply`; the SDK passes it to `__guest_response` or `__guest_error` (spec 1.5). */
int wasmbus_handle(wb_slice op, wb_slice payload, wb_buf* reply);

/** Writes the conventional error text for an operation the actor does not serve:
 *  "unknown operation: <op>", and returns 0 (so `return wb_unknown_operation(op, reply);`). */
int wb_unknown_operation(wb_slice op, wb_buf* reply);

/* ---- host calls (spec 2) ----------------------------------------------------------------------
 */

/** Calls the host: `binding` is the link name ("" for actor-to-actor calls, spec 2.4),
 *  `ns` the namespace (capability contract id, builtin namespace, actor key or call alias),
 *  `op` the operation, `payload` its msgpack bytes (may be empty).
 *  Returns 1 with the response bytes in `out`, or 0 with the host's error text in `out`. */
int wb_host_call(wb_slice binding, wb_slice ns, wb_slice op, wb_slice payload, wb_buf* out);

/* ---- MessagePack writer (spec 0.2; shortest forms) --------------------------------------------
 */

/** Map header with `n` key/value pairs. */
void wb_mp_map(wb_buf* b, uint32_t n);
/** Array header with `n` items. */
void wb_mp_array(wb_buf* b, uint32_t n);
/** A str value. */
void wb_mp_str(wb_buf* b, wb_slice s);
/** A str value from a C string (handy for map keys). */
void wb_mp_cstr(wb_buf* b, const char* s);
/** A bin value (byte fields such as `body`). */
void wb_mp_bin(wb_buf* b, wb_slice s);
/** A non-negative integer. */
void wb_mp_uint(wb_buf* b, uint64_t v);
/** A boolean. */
void wb_mp_bool(wb_buf* b, int v);

/* ---- MessagePack reader -----------------------------------------------------------------------
 */

/** A cursor over msgpack bytes. Every read checks bounds; after the first failure `error` is set,
 *  later reads fail too and return zero values. */
typedef struct {
  const uint8_t* data;
  size_t len;
  size_t pos;
  int error;
} wb_mp_reader;

/** A reader positioned at the start of `s`. */
wb_mp_reader wb_mp_reader_of(wb_slice s);
/** Reads a map header; 1 with the pair count in `*n`, else 0. */
int wb_mp_read_map(wb_mp_reader* r, uint32_t* n);
/** Reads a str or bin value (both accepted for text and bytes, spec 0.2) as a view into the
 *  input; 1 on success, else 0. */
int wb_mp_read_bytes(wb_mp_reader* r, wb_slice* out);
/** Reads any non-negative integer that fits 64 bits; 1 on success, else 0. */
int wb_mp_read_uint(wb_mp_reader* r, uint64_t* out);
/** Skips one value of any type (nesting bounded to 32 levels); 1 on success, else 0. */
int wb_mp_skip(wb_mp_reader* r);

/* ---- wasmcloud:httpserver (spec 7.2) ----------------------------------------------------------
 */

/** The fields of an HttpRequest the examples use (views into the payload; headers skipped). */
typedef struct {
  wb_slice method;
  wb_slice path;
  wb_slice query;
  wb_slice body;
} wb_http_request;

/** Decodes an HttpRequest map (unknown keys ignored, missing ones empty). 1 on success, 0 when
 *  the payload is not a well-formed map. */
int wb_http_request_decode(wb_slice payload, wb_http_request* req);
/** Writes an HttpResponse map {statusCode, header: {}, body: bin}. */
void wb_http_response(wb_buf* b, uint16_t status, wb_slice body);
/** Finds `name` in a raw query string ("a=1&b=2"); 1 with the raw (undecoded) value in `*value`,
 *  else 0. */
int wb_query_param(wb_slice query, const char* name, wb_slice* value);

#ifdef __cplusplus
}
#endif

#endif /* WASMBUS_GUEST_H */
