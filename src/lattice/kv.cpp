// JetStream key-value bucket over libnats' kvStore (see kv.h).
#include "lattice/kv.h"

#include <algorithm>
#include <cstring>

namespace wc::lattice {
namespace {

struct JsCtxDeleter {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
struct KvDeleter {
  void operator()(kvStore* kv) const { kvStore_Destroy(kv); }
};
struct EntryDeleter {
  void operator()(kvEntry* e) const { kvEntry_Destroy(e); }
};

bool valid_bucket(std::string_view b) {
  return !b.empty() && std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

/// True when the last libnats error on this thread is JetStream's refusal of a compare-and-set
/// write (the server's "wrong last sequence" error, JSStreamWrongLastSequenceErr 10071).
bool wrong_last_sequence() {
  natsStatus s = NATS_OK;
  const char* text = nats_GetLastError(&s);
  return text != nullptr && std::strstr(text, "wrong last sequence") != nullptr;
}

Error kv_error(natsStatus s, const std::string& what) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  Error e = nats_error(s, what);
  if (text != nullptr && *text != '\0' && e.message.find(text) == std::string::npos)
    e.message += std::string(": ") + text;
  return e;
}

}  // namespace

struct KvStore::Impl {
  std::string bucket;
  std::unique_ptr<jsCtx, JsCtxDeleter> js;
  std::unique_ptr<kvStore, KvDeleter> kv;
  std::chrono::milliseconds timeout{5000};
};

KvStore::KvStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvStore::KvStore(KvStore&&) noexcept = default;
KvStore& KvStore::operator=(KvStore&&) noexcept = default;
KvStore::~KvStore() = default;

const std::string& KvStore::bucket() const { return impl_->bucket; }

Result<KvStore> KvStore::open(Connection& nc, std::string bucket, bool create,
                              const KvBucketOptions& options, std::string js_domain,
                              std::chrono::milliseconds timeout) {
  if (!valid_bucket(bucket))
    return fail(Code::kInvalidArgument, "key-value store: invalid bucket name '" + bucket + "'");
  auto impl = std::make_unique<Impl>();
  impl->bucket = std::move(bucket);
  impl->timeout = timeout;
  jsOptions o;
  jsOptions_Init(&o);
  o.Domain = js_domain.empty() ? nullptr : js_domain.c_str();
  o.Wait = timeout.count();
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, nc.raw(), &o);
  if (s != NATS_OK) return fail(kv_error(s, "key-value store: JetStream context"));
  impl->js.reset(js);

  kvStore* kv = nullptr;
  s = js_KeyValue(&kv, impl->js.get(), impl->bucket.c_str());
  if (s == NATS_OK) {
    impl->kv.reset(kv);
    return KvStore(std::move(impl));
  }
  if (s != NATS_NOT_FOUND)
    return fail(kv_error(s, "key-value store: opening bucket " + impl->bucket));
  if (!create) return fail(Code::kNotFound, "key-value store: no bucket named " + impl->bucket);
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = impl->bucket.c_str();
  cfg.History = std::clamp<std::uint8_t>(options.history, 1, 64);
  cfg.StorageType = options.file_storage ? js_FileStorage : js_MemoryStorage;
  cfg.Replicas = std::max(1, options.replicas);
  s = js_CreateKeyValue(&kv, impl->js.get(), &cfg);
  if (s != NATS_OK) {
    // Another client may have created it at the same time (with other settings).
    kv = nullptr;
    natsStatus again = js_KeyValue(&kv, impl->js.get(), impl->bucket.c_str());
    if (again != NATS_OK)
      return fail(kv_error(s, "key-value store: creating bucket " + impl->bucket));
  }
  impl->kv.reset(kv);
  return KvStore(std::move(impl));
}

Result<std::optional<KvValue>> KvStore::get(std::string_view key) {
  const std::string k(key);
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, impl_->kv.get(), k.c_str());
  std::unique_ptr<kvEntry, EntryDeleter> e(raw);
  if (s == NATS_NOT_FOUND) return std::optional<KvValue>{};
  if (s != NATS_OK) return fail(kv_error(s, "key-value store: reading " + impl_->bucket + "/" + k));
  KvValue v;
  const void* data = kvEntry_Value(e.get());
  int len = kvEntry_ValueLen(e.get());
  if (data != nullptr && len > 0) v.value.assign(static_cast<const char*>(data), len);
  v.revision = kvEntry_Revision(e.get());
  return std::optional<KvValue>(std::move(v));
}

Result<std::uint64_t> KvStore::put(std::string_view key, std::string_view value) {
  const std::string k(key);
  std::uint64_t rev = 0;
  natsStatus s =
      kvStore_Put(&rev, impl_->kv.get(), k.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) return fail(kv_error(s, "key-value store: writing " + impl_->bucket + "/" + k));
  return rev;
}

Result<std::uint64_t> KvStore::create(std::string_view key, std::string_view value) {
  const std::string k(key);
  std::uint64_t rev = 0;
  natsStatus s = kvStore_Create(&rev, impl_->kv.get(), k.c_str(), value.data(),
                                static_cast<int>(value.size()));
  if (s == NATS_OK) return rev;
  if (s == NATS_ERR && wrong_last_sequence())
    return fail(Code::kAlreadyExists,
                "key-value store: " + impl_->bucket + "/" + k + " exists (wrong last sequence)");
  return fail(kv_error(s, "key-value store: creating " + impl_->bucket + "/" + k));
}

Result<std::uint64_t> KvStore::update(std::string_view key, std::string_view value,
                                      std::uint64_t last_revision) {
  const std::string k(key);
  std::uint64_t rev = 0;
  natsStatus s = kvStore_Update(&rev, impl_->kv.get(), k.c_str(), value.data(),
                                static_cast<int>(value.size()), last_revision);
  if (s == NATS_OK) return rev;
  if (s == NATS_ERR && wrong_last_sequence())
    return fail(Code::kAlreadyExists, "key-value store: " + impl_->bucket + "/" + k +
                                          " changed since revision " +
                                          std::to_string(last_revision) + " (wrong last sequence)");
  return fail(kv_error(s, "key-value store: updating " + impl_->bucket + "/" + k));
}

Status KvStore::remove(std::string_view key) {
  const std::string k(key);
  natsStatus s = kvStore_Delete(impl_->kv.get(), k.c_str());
  if (s != NATS_OK)
    return fail(kv_error(s, "key-value store: deleting " + impl_->bucket + "/" + k));
  return {};
}

Result<std::vector<std::string>> KvStore::keys() {
  kvWatchOptions o;
  kvWatchOptions_Init(&o);
  o.Timeout = impl_->timeout.count();
  kvKeysList list;
  std::memset(&list, 0, sizeof(list));
  natsStatus s = kvStore_Keys(&list, impl_->kv.get(), &o);
  std::vector<std::string> out;
  if (s == NATS_OK) {
    out.reserve(static_cast<std::size_t>(list.Count));
    for (int i = 0; i < list.Count; ++i) out.emplace_back(list.Keys[i]);
  }
  kvKeysList_Destroy(&list);
  if (s == NATS_NOT_FOUND) return std::vector<std::string>{};
  if (s != NATS_OK) return fail(kv_error(s, "key-value store: listing keys of " + impl_->bucket));
  return out;
}

Status KvStore::modify(
    std::string_view key,
    const std::function<std::optional<std::string>(const std::optional<std::string>&)>& change,
    int attempts) {
  for (int i = 0; i < std::max(1, attempts); ++i) {
    auto current = get(key);
    if (!current) return fail(current.error());
    std::optional<std::string> before;
    if (current->has_value()) before = (*current)->value;
    std::optional<std::string> after = change(before);
    if (after == before) return {};
    if (!after) {
      // Deleting: only when nobody wrote since we read (a delete marker via compare-and-set is
      // not offered by libnats 3.4.1; an empty value would break readers, so delete plainly
      // after re-checking the revision).
      auto again = get(key);
      if (!again) return fail(again.error());
      if (!again->has_value() || (*again)->revision != (*current)->revision) continue;
      return remove(key);
    }
    Result<std::uint64_t> w =
        current->has_value() ? update(key, *after, (*current)->revision) : create(key, *after);
    if (w) return {};
    if (w.error().code != Code::kAlreadyExists) return fail(w.error());
  }
  return fail(Code::kAlreadyExists, "key-value store: " + impl_->bucket + "/" + std::string(key) +
                                        " kept changing; gave up after " +
                                        std::to_string(attempts) + " attempts");
}

}  // namespace wc::lattice
