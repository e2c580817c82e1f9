/* wasmbus_guest.c - implementation of the tiny C guest SDK (see wasmbus_guest.h).
 * ABI rules: spec actor-rpc-providers.md 1.2 (imports), 1.3 (exports), 1.5 (one invocation).
 * MessagePack rules: spec 0.2. */
#include "wasmbus_guest.h"

#include <stdlib.h>
#include <string.h>

/* ---- the wasmbus imports (spec 1.2) -----------------------------------------------------------
 */

#define WB_IMPORT(name) __attribute__((import_module("wasmbus"), import_name(name)))

WB_IMPORT("__guest_request") void wb_import_guest_request(uint8_t* op_ptr, uint8_t* payload_ptr);
WB_IMPORT("__guest_response") void wb_import_guest_response(const uint8_t* ptr, size_t len);
WB_IMPORT("__guest_error") void wb_import_guest_error(const uint8_t* ptr, size_t len);
WB_IMPORT("__host_call")
int wb_import_host_call(const uint8_t* bd_ptr, size_t bd_len, const uint8_t* ns_ptr, size_t ns_len,
                        const uint8_t* op_ptr, size_t op_len, const uint8_t* pld_ptr,
                        size_t pld_len);
WB_IMPORT("__host_response_len") size_t wb_import_host_response_len(void);
WB_IMPORT("__host_response") void wb_import_host_response(uint8_t* ptr);
WB_IMPORT("__host_error_len") size_t wb_import_host_error_len(void);
WB_IMPORT("__host_error") void wb_import_host_error(uint8_t* ptr);

/* ---- bytes ------------------------------------------------------------------------------------
 */

wb_slice wb_cstr(const char* s) {
  wb_slice out = {(const uint8_t*)s, s ? strlen(s) : 0};
  return out;
}

wb_slice wb_buf_slice(const wb_buf* b) {
  wb_slice out = {b->data, b->len};
  return out;
}

int wb_slice_eq(wb_slice a, wb_slice b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

int wb_slice_eq_cstr(wb_slice s, const char* c) { return wb_slice_eq(s, wb_cstr(c)); }

/* Makes room for `extra` more bytes; 0 (and `failed` set) when that is impossible. */
static int wb_buf_reserve(wb_buf* b, size_t extra) {
  if (b->failed) return 0;
  if (extra <= b->cap - b->len) return 1;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->failed = 1;
    return 0;
  }
  size_t cap = b->cap ? b->cap : 64;
  while (cap - b->len < extra) cap *= 2;
  uint8_t* grown = realloc(b->data, cap);
  if (!grown) {
    b->failed = 1;
    return 0;
  }
  b->data = grown;
  b->cap = cap;
  return 1;
}

void wb_buf_put(wb_buf* b, const void* data, size_t len) {
  if (len == 0 || !wb_buf_reserve(b, len)) return;
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

void wb_buf_put_slice(wb_buf* b, wb_slice s) { wb_buf_put(b, s.data, s.len); }

void wb_buf_put_cstr(wb_buf* b, const char* s) { wb_buf_put_slice(b, wb_cstr(s)); }

void wb_buf_put_u64(wb_buf* b, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  wb_buf_put(b, digits + sizeof digits - n, n);
}

void wb_buf_clear(wb_buf* b) { b->len = 0; }

void wb_buf_free(wb_buf* b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

/* ---- the __guest_call export (spec 1.3 / 1.5) ---------------------------------------------------
 */

static void wb_guest_error_cstr(const char* text) {
  wb_import_guest_error((const uint8_t*)text, strlen(text));
}

int wb_unknown_operation(wb_slice op, wb_buf* reply) {
  wb_buf_clear(reply);
  wb_buf_put_cstr(reply, "unknown operation: ");
  wb_buf_put_slice(reply, op);
  return 0;
}

__attribute__((export_name("__guest_call"))) int wb_guest_call(size_t op_len, size_t payload_len) {
  if (op_len > SIZE_MAX - payload_len - 1) {
    wb_guest_error_cstr("request too large");
    return 0;
  }
  /* One buffer for both: operation then payload (+1 so a zero-sized request still allocates). */
  uint8_t* request = malloc(op_len + payload_len + 1);
  if (!request) {
    wb_guest_error_cstr("out of memory");
    return 0;
  }
  wb_import_guest_request(request, request + op_len);
  wb_slice op = {request, op_len};
  wb_slice payload = {request + op_len, payload_len};

  wb_buf reply = {0};
  int ok;
  if (wb_slice_eq_cstr(op, "Actor.HealthRequest")) {
    /* spec 7.6: HealthCheckResponse {"healthy": true} */
    wb_mp_map(&reply, 1);
    wb_mp_cstr(&reply, "healthy");
    wb_mp_bool(&reply, 1);
    ok = 1;
  } else {
    ok = wasmbus_handle(op, payload, &reply);
  }
  free(request);

  if (reply.failed) {
    wb_buf_free(&reply);
    wb_guest_error_cstr("out of memory");
    return 0;
  }
  if (ok == 1) {
    wb_import_guest_response(reply.data, reply.len);
  } else {
    if (reply.len == 0) wb_buf_put_cstr(&reply, "actor failed");
    wb_import_guest_error(reply.data, reply.len);
  }
  wb_buf_free(&reply);
  return ok == 1 ? 1 : 0;
}

/* Optional export some hosts read (spec 1.3); the current SDK generation answers 1. */
__attribute__((export_name("__wasmbus_rpc_version"))) int wb_rpc_version(void) { return 1; }

/* ---- host calls (spec 1.2 guest-side contract, spec 2) -----------------------------------------
 */

int wb_host_call(wb_slice binding, wb_slice ns, wb_slice op, wb_slice payload, wb_buf* out) {
  wb_buf_clear(out);
  int rc = wb_import_host_call(binding.data, binding.len, ns.data, ns.len, op.data, op.len,
                               payload.data, payload.len);
  /* 1 = success; any other value (0, or -1 from 0.62/0.63 hosts) is a failure. */
  size_t len = rc == 1 ? wb_import_host_response_len() : wb_import_host_error_len();
  /* Always fetch, even 0 bytes: a host error left unconsumed fails the invocation (spec 1.5). */
  if (!wb_buf_reserve(out, len + 1)) return 0;
  if (rc == 1)
    wb_import_host_response(out->data);
  else
    wb_import_host_error(out->data);
  out->len = len;
  return rc == 1 ? 1 : 0;
}

/* ---- MessagePack writer ------------------------------------------------------------------------
 */

static void wb_put_be(wb_buf* b, uint8_t tag, uint64_t v, int bytes) {
  uint8_t tmp[9];
  tmp[0] = tag;
  for (int i = 0; i < bytes; ++i) tmp[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  wb_buf_put(b, tmp, (size_t)bytes + 1);
}

/* A header whose small form packs the count into the tag (fixmap/fixarray/fixstr). */
static void wb_header(wb_buf* b, uint64_t n, uint8_t fix, uint64_t fix_max, uint8_t tag8,
                      uint8_t tag16, uint8_t tag32) {
  if (n <= fix_max) {
    uint8_t t = (uint8_t)(fix | n);
    wb_buf_put(b, &t, 1);
  } else if (tag8 && n <= 0xff) {
    wb_put_be(b, tag8, n, 1);
  } else if (n <= 0xffff) {
    wb_put_be(b, tag16, n, 2);
  } else {
    wb_put_be(b, tag32, n, 4);
  }
}

void wb_mp_map(wb_buf* b, uint32_t n) { wb_header(b, n, 0x80, 15, 0, 0xde, 0xdf); }

void wb_mp_array(wb_buf* b, uint32_t n) { wb_header(b, n, 0x90, 15, 0, 0xdc, 0xdd); }

void wb_mp_str(wb_buf* b, wb_slice s) {
  if (s.len > 0xffffffffu) {
    b->failed = 1;
    return;
  }
  wb_header(b, s.len, 0xa0, 31, 0xd9, 0xda, 0xdb);
  wb_buf_put_slice(b, s);
}

void wb_mp_cstr(wb_buf* b, const char* s) { wb_mp_str(b, wb_cstr(s)); }

void wb_mp_bin(wb_buf* b, wb_slice s) {
  if (s.len > 0xffffffffu) {
    b->failed = 1;
    return;
  }
  /* bin has no "fix" form: max 0 with fix tag 0xc4 would be wrong, so start at bin8. */
  if (s.len <= 0xff)
    wb_put_be(b, 0xc4, s.len, 1);
  else if (s.len <= 0xffff)
    wb_put_be(b, 0xc5, s.len, 2);
  else
    wb_put_be(b, 0xc6, s.len, 4);
  wb_buf_put_slice(b, s);
}

void wb_mp_uint(wb_buf* b, uint64_t v) {
  if (v <= 0x7f) {
    uint8_t t = (uint8_t)v;
    wb_buf_put(b, &t, 1);
  } else if (v <= 0xff) {
    wb_put_be(b, 0xcc, v, 1);
  } else if (v <= 0xffff) {
    wb_put_be(b, 0xcd, v, 2);
  } else if (v <= 0xffffffffu) {
    wb_put_be(b, 0xce, v, 4);
  } else {
    wb_put_be(b, 0xcf, v, 8);
  }
}

void wb_mp_bool(wb_buf* b, int v) {
  uint8_t t = v ? 0xc3 : 0xc2;
  wb_buf_put(b, &t, 1);
}

/* ---- MessagePack reader ------------------------------------------------------------------------
 */

wb_mp_reader wb_mp_reader_of(wb_slice s) {
  wb_mp_reader r = {s.data, s.len, 0, 0};
  return r;
}

static int wb_fail(wb_mp_reader* r) {
  r->error = 1;
  return 0;
}

/* Reads `n` (<= 8) big-endian bytes. */
static int wb_read_be(wb_mp_reader* r, int n, uint64_t* out) {
  if (r->error || r->len - r->pos < (size_t)n) return wb_fail(r);
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | r->data[r->pos++];
  *out = v;
  return 1;
}

static int wb_read_tag(wb_mp_reader* r, uint8_t* tag) {
  if (r->error || r->pos >= r->len) return wb_fail(r);
  *tag = r->data[r->pos++];
  return 1;
}

/* Consumes `n` bytes and returns them as a view. */
static int wb_take(wb_mp_reader* r, uint64_t n, wb_slice* out) {
  if (r->error || n > r->len - r->pos) return wb_fail(r);
  out->data = r->data + r->pos;
  out->len = (size_t)n;
  r->pos += (size_t)n;
  return 1;
}

int wb_mp_read_map(wb_mp_reader* r, uint32_t* n) {
  uint8_t tag;
  uint64_t v = 0;
  if (!wb_read_tag(r, &tag)) return 0;
  if ((tag & 0xf0) == 0x80) {
    v = tag & 0x0f;
  } else if (tag == 0xde) {
    if (!wb_read_be(r, 2, &v)) return 0;
  } else if (tag == 0xdf) {
    if (!wb_read_be(r, 4, &v)) return 0;
  } else {
    return wb_fail(r);
  }
  *n = (uint32_t)v;
  return 1;
}

int wb_mp_read_bytes(wb_mp_reader* r, wb_slice* out) {
  uint8_t tag;
  uint64_t n = 0;
  if (!wb_read_tag(r, &tag)) return 0;
  if ((tag & 0xe0) == 0xa0) {
    n = tag & 0x1f;
  } else if (tag == 0xd9 || tag == 0xc4) {
    if (!wb_read_be(r, 1, &n)) return 0;
  } else if (tag == 0xda || tag == 0xc5) {
    if (!wb_read_be(r, 2, &n)) return 0;
  } else if (tag == 0xdb || tag == 0xc6) {
    if (!wb_read_be(r, 4, &n)) return 0;
  } else {
    return wb_fail(r);
  }
  return wb_take(r, n, out);
}

int wb_mp_read_uint(wb_mp_reader* r, uint64_t* out) {
  uint8_t tag;
  uint64_t v = 0;
  if (!wb_read_tag(r, &tag)) return 0;
  if (tag <= 0x7f) {
    v = tag;
  } else if (tag >= 0xcc && tag <= 0xcf) {
    if (!wb_read_be(r, 1 << (tag - 0xcc), &v)) return 0;
  } else if (tag >= 0xd0 && tag <= 0xd3) {
    int n = 1 << (tag - 0xd0);
    if (!wb_read_be(r, n, &v)) return 0;
    if (v >> (8 * n - 1)) return wb_fail(r); /* negative */
  } else {
    return wb_fail(r);
  }
  *out = v;
  return 1;
}

static int wb_skip_depth(wb_mp_reader* r, int depth) {
  uint8_t tag;
  uint64_t n = 0;
  wb_slice ignored;
  if (depth > 32) return wb_fail(r);
  if (!wb_read_tag(r, &tag)) return 0;
  if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) return 1;
  if ((tag & 0xe0) == 0xa0) return wb_take(r, tag & 0x1f, &ignored);
  uint64_t items = 0; /* container items to skip */
  if ((tag & 0xf0) == 0x80) {
    items = 2 * (uint64_t)(tag & 0x0f);
  } else if ((tag & 0xf0) == 0x90) {
    items = tag & 0x0f;
  } else {
    switch (tag) {
      case 0xc4:
      case 0xd9:
        return wb_read_be(r, 1, &n) && wb_take(r, n, &ignored);
      case 0xc5:
      case 0xda:
        return wb_read_be(r, 2, &n) && wb_take(r, n, &ignored);
      case 0xc6:
      case 0xdb:
        return wb_read_be(r, 4, &n) && wb_take(r, n, &ignored);
      case 0xc7:
        return wb_read_be(r, 1, &n) && wb_take(r, n + 1, &ignored); /* ext8 */
      case 0xc8:
        return wb_read_be(r, 2, &n) && wb_take(r, n + 1, &ignored); /* ext16 */
      case 0xc9:
        return wb_read_be(r, 4, &n) && wb_take(r, n + 1, &ignored); /* ext32 */
      case 0xca:
        return wb_take(r, 4, &ignored);
      case 0xcb:
        return wb_take(r, 8, &ignored);
      case 0xcc:
      case 0xd0:
        return wb_take(r, 1, &ignored);
      case 0xcd:
      case 0xd1:
        return wb_take(r, 2, &ignored);
      case 0xce:
      case 0xd2:
        return wb_take(r, 4, &ignored);
      case 0xcf:
      case 0xd3:
        return wb_take(r, 8, &ignored);
      case 0xd4:
        return wb_take(r, 2, &ignored); /* fixext1..16: type byte + data */
      case 0xd5:
        return wb_take(r, 3, &ignored);
      case 0xd6:
        return wb_take(r, 5, &ignored);
      case 0xd7:
        return wb_take(r, 9, &ignored);
      case 0xd8:
        return wb_take(r, 17, &ignored);
      case 0xdc:
        if (!wb_read_be(r, 2, &items)) return 0;
        break;
      case 0xdd:
        if (!wb_read_be(r, 4, &items)) return 0;
        break;
      case 0xde:
        if (!wb_read_be(r, 2, &items)) return 0;
        items *= 2;
        break;
      case 0xdf:
        if (!wb_read_be(r, 4, &items)) return 0;
        items *= 2;
        break;
      default:
        return wb_fail(r); /* 0xc1: never used */
    }
  }
  /* Every item takes at least one byte, so a count beyond the input fails fast. */
  if (items > r->len - r->pos) return wb_fail(r);
  for (uint64_t i = 0; i < items; ++i) {
    if (!wb_skip_depth(r, depth + 1)) return 0;
  }
  return 1;
}

int wb_mp_skip(wb_mp_reader* r) { return wb_skip_depth(r, 0); }

/* ---- wasmcloud:httpserver ----------------------------------------------------------------------
 */

int wb_http_request_decode(wb_slice payload, wb_http_request* req) {
  memset(req, 0, sizeof *req);
  wb_mp_reader r = wb_mp_reader_of(payload);
  uint32_t n;
  if (!wb_mp_read_map(&r, &n)) return 0;
  for (uint32_t i = 0; i < n; ++i) {
    wb_slice key;
    if (!wb_mp_read_bytes(&r, &key)) return 0;
    wb_slice* field = NULL;
    if (wb_slice_eq_cstr(key, "method"))
      field = &req->method;
    else if (wb_slice_eq_cstr(key, "path"))
      field = &req->path;
    else if (wb_slice_eq_cstr(key, "queryString"))
      field = &req->query;
    else if (wb_slice_eq_cstr(key, "body"))
      field = &req->body;
    /* nil is the same as a missing key (spec 0.2) */
    if (r.pos < r.len && r.data[r.pos] == 0xc0) {
      r.pos++;
      continue;
    }
    if (field ? !wb_mp_read_bytes(&r, field) : !wb_mp_skip(&r)) return 0;
  }
  return 1;
}

void wb_http_response(wb_buf* b, uint16_t status, wb_slice body) {
  wb_mp_map(b, 3);
  wb_mp_cstr(b, "statusCode");
  wb_mp_uint(b, status);
  wb_mp_cstr(b, "header");
  wb_mp_map(b, 0);
  wb_mp_cstr(b, "body");
  wb_mp_bin(b, body);
}

int wb_query_param(wb_slice query, const char* name, wb_slice* value) {
  wb_slice want = wb_cstr(name);
  size_t start = 0;
  while (start <= query.len) {
    size_t end = start;
    while (end < query.len && query.data[end] != '&') ++end;
    size_t eq = start;
    while (eq < end && query.data[eq] != '=') ++eq;
    wb_slice key = {query.data + start, eq - start};
    if (wb_slice_eq(key, want)) {
      value->data = query.data + (eq < end ? eq + 1 : end);
      value->len = eq < end ? end - eq - 1 : 0;
      return 1;
    }
    start = end + 1;
  }
  return 0;
}
