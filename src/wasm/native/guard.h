/* Trap frames and signal handling for native guest code (C, because sigsetjmp/siglongjmp are
 * only well-defined around plain C frames).
 *
 * A guest call runs inside wc_guard_run(): it pushes a wc_frame on the calling thread's
 * thread-local frame stack, sigsetjmp()s, calls the guest, pops. wc_guard_trap() (reached from
 * wasm_rt_trap, a failed import, or a signal handler) siglongjmps back with a trap code.
 *
 * Signals (installed once per process by wc_guard_install):
 *   SIGSEGV/SIGBUS: a trap only when the thread has an active frame that is not inside a host
 *     function and the fault address lies in that frame's linear-memory reservation (-> OOB) or
 *     in the guard zone below the thread's stack (-> call stack exhausted). Anything else is
 *     passed to the previous handler, or the default action re-raises it (a real host crash).
 *   WC_GUARD_DEADLINE_SIGNAL (SIGRTMIN+5): sent by the watchdog after setting the frame's
 *     deadline flag; the handler traps only when the frame is executing guest code; inside a
 *     host function the flag is checked when it returns (wc_guard_host_leave).
 * Every thread that runs guest code calls wc_guard_thread_init() first: it installs a 64 KiB
 * alternate signal stack (so stack exhaustion can be handled) and records the stack bounds.
 *
 * Thread-safety: all state is thread-local except the installed handlers.
 */
#ifndef WC_WASM_NATIVE_GUARD_H_
#define WC_WASM_NATIVE_GUARD_H_

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One active guest call on this thread. Lives on the caller's stack. */
typedef struct wc_frame {
  sigjmp_buf* jmp;            /* set by wc_guard_run */
  volatile int32_t in_host;   /* >0 while a host import / runtime function runs */
  volatile int32_t trap_code; /* why the frame was left by a trap */
  uintptr_t mem_lo, mem_hi;   /* linear-memory reservation of the running instance */
  uintptr_t stack_lo;         /* lowest usable address of the stack the guest runs on */
  /* Deadline: the frame's deadline passed when *fired_gen == gen (both written by the
     watchdog / the arming code with __atomic builtins). fired_gen NULL = no deadline. */
  uint64_t gen;
  const uint64_t* fired_gen;
  struct wc_frame* prev;
} wc_frame;

/** Installs the signal handlers once (idempotent, thread-safe). Returns 0 or -1. */
int wc_guard_install(void);

/** Prepares the calling thread (alternate signal stack, stack bounds). Idempotent; 0 or -1. */
int wc_guard_thread_init(void);

/** Runs fn(arg) under `frame`. Returns 0 when fn returned, else the trap code (>0).
 * `guest_stack` > 0: the outermost guest call on a thread runs on a dedicated guest stack of
 * that many usable bytes (one per thread, reused, 64 KiB guard page region below it; x86-64 and
 * aarch64), so the guest's depth does not depend on the caller's thread stack. Nested guest
 * calls (a host function that runs another guest) stay on the stack they are called on. */
int wc_guard_run(wc_frame* frame, void (*fn)(void*), void* arg, size_t guest_stack);

/** Leaves the innermost frame with `code`. Never returns; aborts when no frame is active. */
__attribute__((noreturn)) void wc_guard_trap(int32_t code);

/** The innermost frame of this thread, or NULL. */
wc_frame* wc_guard_current(void);

/** Marks the start of a host function inside guest code (deadline signals are deferred). */
void wc_guard_host_enter(void);
/** Ends it. Returns 1 when the frame's deadline passed meanwhile (the caller must then end the
 * guest call with WC_TRAP_DEADLINE once no C++ object is live on its frame), else 0. */
int wc_guard_host_leave(void);

/** Bytes of stack left below the caller on the innermost frame's stack (0 when unknown). */
uintptr_t wc_guard_stack_left(void);

/** The deadline signal number (SIGRTMIN+5). */
int wc_guard_deadline_signal(void);

#ifdef __cplusplus
}
#endif

#endif /* WC_WASM_NATIVE_GUARD_H_ */
