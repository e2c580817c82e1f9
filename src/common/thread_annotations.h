// Clang thread-safety annotations and the annotated mutex the host and the provider SDK use.
//
// What it is: attribute macros for clang's `-Wthread-safety` analysis (GUARDED_BY, REQUIRES,
// ACQUIRE, RELEASE, EXCLUDES, ...), `wc::Mutex` (a capability wrapping std::mutex) and
// `wc::MutexLock` (the scoped lock that holds it and waits on a std::condition_variable). With
// g++ (no such attributes) every macro expands to nothing and the types cost what std::mutex and
// std::unique_lock cost. `scripts/thread_safety.sh` runs clang over src/host and providers/sdk
// with `-Werror=thread-safety`.
//
// Thread-safety contract: `Mutex` is a plain non-recursive mutex, usable from any thread; a
// `MutexLock` belongs to the thread that made it (as std::unique_lock does). Waiting: call
// `lock.wait(cv)` / `wait_for` / `wait_until` in a `while (!condition)` loop written at the call
// site. There are no predicate overloads on purpose: the analysis checks a lambda's body as a
// function of its own, holding nothing, so a predicate reading guarded state would be reported;
// the loop keeps those reads where the checker sees the lock held. During the wait the mutex is
// released and re-taken before `wait*` returns, so to the analysis (and to the caller) it is held
// across the call.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define WC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define WC_THREAD_ANNOTATION(x)
#endif

/// The class is a capability (a lock) named `x` in diagnostics.
#define CAPABILITY(x) WC_THREAD_ANNOTATION(capability(x))
/// The class is an RAII holder of a capability.
#define SCOPED_CAPABILITY WC_THREAD_ANNOTATION(scoped_lockable)
/// The member may be read or written only while holding `x`.
#define GUARDED_BY(x) WC_THREAD_ANNOTATION(guarded_by(x))
/// The pointee of the member may be accessed only while holding `x`.
#define PT_GUARDED_BY(x) WC_THREAD_ANNOTATION(pt_guarded_by(x))
/// The caller must hold the capabilities (exclusively).
#define REQUIRES(...) WC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
/// The function takes the capabilities (none named: `this`) and returns holding them.
#define ACQUIRE(...) WC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
/// The function releases the capabilities (none named: `this`).
#define RELEASE(...) WC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
/// The function tries to take the capability; it holds it when it returns `ok`.
#define TRY_ACQUIRE(...) WC_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
/// The caller must not hold the capabilities (the function takes them itself).
#define EXCLUDES(...) WC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
/// Tells the analysis the capability is held from here on (checked nowhere else).
#define ASSERT_CAPABILITY(x) WC_THREAD_ANNOTATION(assert_capability(x))
/// The function returns a reference to the capability `x`.
#define RETURN_CAPABILITY(x) WC_THREAD_ANNOTATION(lock_returned(x))
/// Turns the analysis off for one function; each use says why in a comment.
#define NO_THREAD_SAFETY_ANALYSIS WC_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace wc {

class MutexLock;

/// A std::mutex the analysis knows as a capability. Not recursive, not movable.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// Blocks until held.
  void lock() ACQUIRE() { mu_.lock(); }
  /// Releases; the calling thread must hold it.
  void unlock() RELEASE() { mu_.unlock(); }
  /// Takes it if free; true when now held.
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

/// Holds a `Mutex` from construction to destruction (or to `unlock()`); `lock()` re-takes it.
/// Waits on a std::condition_variable with the mutex released meanwhile (see the file comment).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  /// Releases the mutex before the end of the scope.
  void unlock() RELEASE() { lock_.unlock(); }
  /// Re-takes the mutex after `unlock()`.
  void lock() ACQUIRE() { lock_.lock(); }

  /// Waits for a notification (or a spurious wake-up); the mutex is held again on return.
  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  /// As wait(), giving up after `timeout`.
  template <class Rep, class Period>
  std::cv_status wait_for(std::condition_variable& cv,
                          const std::chrono::duration<Rep, Period>& timeout) {
    return cv.wait_for(lock_, timeout);
  }
  /// As wait(), giving up at `deadline`.
  template <class Clock, class Duration>
  std::cv_status wait_until(std::condition_variable& cv,
                            const std::chrono::time_point<Clock, Duration>& deadline) {
    return cv.wait_until(lock_, deadline);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace wc
