// JetStream object store over libnats' JetStream API (see objstore.h for the layout).
#include "lattice/objstore.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "lattice/cloudevent.h"
#include "lattice/topics.h"
#include "wascap/jwt.h"

namespace wc::lattice {
namespace {

/// JetStream API error codes we react to.
constexpr int kJsStreamNotFound = 10059;
constexpr int kJsStreamNameExists = 10058;
constexpr int kJsNoMessageFound = 10037;

struct JsCtxDeleter {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;

bool valid_bucket(std::string_view b) {
  return !b.empty() && std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string digest_of(std::span<const std::uint8_t> data) {
  std::string b64 = base64url_encode(sha256(data));
  while (b64.size() % 4 != 0) b64.push_back('=');
  return "SHA-256=" + b64;
}

Error js_error(natsStatus s, jsErrCode code, const std::string& what) {
  Error e = nats_error(s, what);
  if (code != 0) e.message += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  return e;
}

/// Object info as stored in the meta message.
struct Meta {
  std::string nuid;
  std::uint64_t size = 0;
  std::uint64_t chunks = 0;
  std::string digest;
  bool deleted = false;
};

}  // namespace

struct ObjectStore::Impl {
  Connection* nc = nullptr;
  std::string bucket;
  std::string stream;
  std::string domain;
  std::chrono::milliseconds timeout{5000};
  std::unique_ptr<jsCtx, JsCtxDeleter> js;

  jsOptions options() const {
    jsOptions o;
    jsOptions_Init(&o);
    o.Domain = domain.empty() ? nullptr : domain.c_str();
    o.Wait = timeout.count();
    return o;
  }

  /// The current meta of `name`; nullopt when there is none.
  Result<std::optional<Meta>> read_meta(std::string_view name) {
    std::string subject = topics::obj_meta_subject(bucket, name);
    jsOptions o = options();
    jsErrCode err = static_cast<jsErrCode>(0);
    natsMsg* raw = nullptr;
    natsStatus s = js_GetLastMsg(&raw, js.get(), stream.c_str(), subject.c_str(), &o, &err);
    MsgPtr msg(raw);
    if (s == NATS_NOT_FOUND || static_cast<int>(err) == kJsNoMessageFound) {
      return std::optional<Meta>();
    }
    if (s != NATS_OK) return fail(js_error(s, err, "object store: reading '" + subject + "'"));
    std::string_view text(natsMsg_GetData(msg.get()),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object())
      return fail(Code::kDataLoss, "object store: meta of '" + std::string(name) + "' is not JSON");
    Meta m;
    if (auto it = j.find("nuid"); it != j.end() && it->is_string()) m.nuid = it->get<std::string>();
    if (auto it = j.find("size"); it != j.end() && it->is_number_unsigned())
      m.size = it->get<std::uint64_t>();
    if (auto it = j.find("chunks"); it != j.end() && it->is_number_unsigned())
      m.chunks = it->get<std::uint64_t>();
    if (auto it = j.find("digest"); it != j.end() && it->is_string())
      m.digest = it->get<std::string>();
    if (auto it = j.find("deleted"); it != j.end() && it->is_boolean()) m.deleted = it->get<bool>();
    return std::optional<Meta>(std::move(m));
  }

  Status publish_meta(std::string_view name, const Meta& m) {
    nlohmann::ordered_json j;
    j["name"] = std::string(name);
    j["description"] = nullptr;
    j["link"] = nullptr;
    j["bucket"] = bucket;
    j["nuid"] = m.nuid;
    j["size"] = m.size;
    j["chunks"] = m.chunks;
    j["modified"] = rfc3339_micros(std::chrono::system_clock::now());
    j["digest"] = m.digest;
    j["deleted"] = m.deleted;
    std::string body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    std::string subject = topics::obj_meta_subject(bucket, name);
    natsMsg* raw = nullptr;
    natsStatus s =
        natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    if (s != NATS_OK) return fail(nats_error(s, "object store: meta message"));
    MsgPtr msg(raw);
    std::string rollup_name(topics::kHeaderNatsRollup);
    natsMsgHeader_Set(msg.get(), rollup_name.c_str(), "sub");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout.count();
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, js.get(), msg.get(), &po, &err);
    if (ack) jsPubAck_Destroy(ack);
    if (s != NATS_OK) return fail(js_error(s, err, "object store: publishing '" + subject + "'"));
    return ok();
  }

  Status purge_chunks(const std::string& nuid) {
    std::string subject = topics::obj_chunk_subject(bucket, nuid);
    jsOptions o = options();
    o.Stream.Purge.Subject = subject.c_str();
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_PurgeStream(js.get(), stream.c_str(), &o, &err);
    if (s != NATS_OK) return fail(js_error(s, err, "object store: purging '" + subject + "'"));
    return ok();
  }
};

Result<ObjectStore> ObjectStore::open(Connection& nc, std::string bucket, std::string js_domain,
                                      std::chrono::milliseconds timeout) {
  if (!valid_bucket(bucket)) {
    return fail(Code::kInvalidArgument, "object store: invalid bucket name '" + bucket + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->nc = &nc;
  impl->bucket = std::move(bucket);
  impl->stream = topics::obj_stream(impl->bucket);
  impl->domain = std::move(js_domain);
  impl->timeout = timeout;
  jsOptions o = impl->options();
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, nc.raw(), &o);
  if (s != NATS_OK) return fail(nats_error(s, "object store: JetStream context"));
  impl->js.reset(js);

  jsStreamInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&info, impl->js.get(), impl->stream.c_str(), &o, &err);
  if (info) jsStreamInfo_Destroy(info);
  if (s == NATS_OK) return ObjectStore(std::move(impl));
  if (s != NATS_NOT_FOUND && static_cast<int>(err) != kJsStreamNotFound) {
    return fail(js_error(s, err, "object store: stream info " + impl->stream));
  }
  std::string chunks = "$O." + impl->bucket + ".C.>";
  std::string metas = "$O." + impl->bucket + ".M.>";
  const char* subjects[] = {chunks.c_str(), metas.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = impl->stream.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 2;
  cfg.Discard = js_DiscardNew;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = 1;
  cfg.AllowRollup = true;
  err = static_cast<jsErrCode>(0);
  s = js_AddStream(&info, impl->js.get(), &cfg, &o, &err);
  if (info) jsStreamInfo_Destroy(info);
  if (s != NATS_OK && static_cast<int>(err) != kJsStreamNameExists) {
    return fail(js_error(s, err, "object store: creating stream " + impl->stream));
  }
  return ObjectStore(std::move(impl));
}

ObjectStore::ObjectStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ObjectStore::ObjectStore(ObjectStore&&) noexcept = default;
ObjectStore& ObjectStore::operator=(ObjectStore&&) noexcept = default;
ObjectStore::~ObjectStore() = default;

const std::string& ObjectStore::bucket() const { return impl_->bucket; }

Status ObjectStore::put(std::string_view name, std::span<const std::uint8_t> data) {
  if (name.empty()) return fail(Code::kInvalidArgument, "object store: empty object name");
  auto previous = impl_->read_meta(name);
  if (!previous) return fail(previous.error());

  Meta m;
  m.nuid = wascap::new_jti();  // 22 base62 characters, the NUID alphabet and length
  m.size = data.size();
  m.digest = digest_of(data);
  std::string subject = topics::obj_chunk_subject(impl_->bucket, m.nuid);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = impl_->timeout.count();
  for (std::size_t off = 0; off < data.size(); off += kObjectChunkSize) {
    std::size_t n = std::min(kObjectChunkSize, data.size() - off);
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, impl_->js.get(), subject.c_str(), data.data() + off,
                              static_cast<int>(n), &po, &err);
    if (ack) jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      (void)impl_->purge_chunks(m.nuid);
      return fail(
          js_error(s, err, "object store: publishing chunk of '" + std::string(name) + "'"));
    }
    ++m.chunks;
  }
  if (auto st = impl_->publish_meta(name, m); !st) {
    (void)impl_->purge_chunks(m.nuid);
    return st;
  }
  if (*previous && !(*previous)->nuid.empty() && (*previous)->nuid != m.nuid) {
    (void)impl_->purge_chunks((*previous)->nuid);
  }
  return ok();
}

Result<Bytes> ObjectStore::get(std::string_view name) {
  auto meta = impl_->read_meta(name);
  if (!meta) return fail(meta.error());
  if (!*meta || (*meta)->deleted) {
    return fail(Code::kNotFound,
                "object store: no object '" + std::string(name) + "' in bucket " + impl_->bucket);
  }
  const Meta& m = **meta;
  Bytes out;
  if (m.chunks > 0) {
    std::string subject = topics::obj_chunk_subject(impl_->bucket, m.nuid);
    jsOptions o = impl_->options();
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = impl_->stream.c_str();
    so.Ordered = true;
    natsSubscription* raw_sub = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_SubscribeSync(&raw_sub, impl_->js.get(), subject.c_str(), &o, &so, &err);
    if (s != NATS_OK)
      return fail(js_error(s, err, "object store: reading chunks of '" + std::string(name) + "'"));
    struct SubGuard {
      natsSubscription* sub;
      ~SubGuard() {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
      }
    } guard{raw_sub};
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(m.size, 1u << 30)));
    for (std::uint64_t i = 0; i < m.chunks; ++i) {
      natsMsg* raw = nullptr;
      s = natsSubscription_NextMsg(&raw, raw_sub, impl_->timeout.count());
      MsgPtr msg(raw);
      if (s != NATS_OK) {
        return fail(Code::kDataLoss, "object store: chunk " + std::to_string(i + 1) + " of " +
                                         std::to_string(m.chunks) + " of '" + std::string(name) +
                                         "' missing: " + natsStatus_GetText(s));
      }
      const auto* d = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg.get()));
      out.insert(out.end(), d, d + natsMsg_GetDataLength(msg.get()));
      if (out.size() > m.size) break;
    }
  }
  if (out.size() != m.size) {
    return fail(Code::kDataLoss, "object store: '" + std::string(name) + "' has " +
                                     std::to_string(out.size()) + " bytes, meta says " +
                                     std::to_string(m.size));
  }
  if (digest_of(out) != m.digest) {
    return fail(Code::kDataLoss, "object store: digest mismatch for '" + std::string(name) + "'");
  }
  return out;
}

Status ObjectStore::remove(std::string_view name) {
  auto meta = impl_->read_meta(name);
  if (!meta) return fail(meta.error());
  if (!*meta || (*meta)->deleted) {
    return fail(Code::kNotFound,
                "object store: no object '" + std::string(name) + "' in bucket " + impl_->bucket);
  }
  Meta m = **meta;
  std::string nuid = m.nuid;
  m.deleted = true;
  m.size = 0;
  m.chunks = 0;
  if (auto st = impl_->publish_meta(name, m); !st) return st;
  if (!nuid.empty()) return impl_->purge_chunks(nuid);
  return ok();
}

Result<Bytes> ObjectStore::take(std::string_view name) {
  auto data = get(name);
  if (!data) return data;
  (void)remove(name);  // a failed delete only leaves garbage behind (the reference logs it)
  return data;
}

LazyObjectStore::LazyObjectStore(Connection& nc, std::string bucket, std::string js_domain,
                                 std::chrono::milliseconds timeout)
    : nc_(&nc), bucket_(std::move(bucket)), domain_(std::move(js_domain)), timeout_(timeout) {}

Result<ObjectStore*> LazyObjectStore::store() {
  std::lock_guard lock(mu_);
  if (!store_) {
    auto opened = ObjectStore::open(*nc_, bucket_, domain_, timeout_);
    if (!opened) return fail(opened.error());
    store_ = std::make_unique<ObjectStore>(std::move(*opened));
  }
  return store_.get();
}

Status LazyObjectStore::put(std::string_view name, std::span<const std::uint8_t> data) {
  auto prefixed = [&](const Error& e) {
    return fail(e.code,
                std::string(kChunkWriteFailedPrefix) + std::string(name) + ": " + e.message);
  };
  auto s = store();
  if (!s) return prefixed(s.error());
  if (auto st = (*s)->put(name, data); !st) return prefixed(st.error());
  return ok();
}

Result<Bytes> LazyObjectStore::take(std::string_view name) {
  auto prefixed = [&](const Error& e) {
    return fail(e.code, std::string(kChunkReadFailedPrefix) + std::string(name) + ": " + e.message);
  };
  auto s = store();
  if (!s) return prefixed(s.error());
  auto data = (*s)->take(name);
  if (!data) return prefixed(data.error());
  return data;
}

}  // namespace wc::lattice
