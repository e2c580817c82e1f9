/* Trap frames and signal handling for native guest code. See guard.h. */
#define _GNU_SOURCE
#include "wasm/native/guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <wasm-rt.h>

#include "wasm/native/glue_abi.h"

enum {
  kAltStackSize = 64 * 1024,
  kGuardBelow = 1024 * 1024, /* fault addresses this far below the stack count as exhaustion */
  kGuardAbove = 64 * 1024,   /* ... and this far into its lowest usable part */
};

static __thread wc_frame* tl_frame;
static __thread uintptr_t tl_stack_lo;
static __thread int tl_ready;

static struct sigaction old_segv, old_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result = -1;
static pthread_key_t altstack_key;

static void unblock_and_jump(wc_frame* f, int32_t code) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSEGV);
  sigaddset(&set, SIGBUS);
  sigaddset(&set, wc_guard_deadline_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  f->trap_code = code;
  siglongjmp(*f->jmp, 1);
}

static void chain(int sig, siginfo_t* info, void* uc) {
  struct sigaction* old = sig == SIGSEGV ? &old_segv : &old_bus;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
    old->sa_sigaction(sig, info, uc);
    return;
  }
  if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
    return;
  }
  /* Not a guest fault: restore the default action and let the fault happen again (or re-raise
     a signal that was sent, not caused). */
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);
}

static void on_fault(int sig, siginfo_t* info, void* uc) {
  wc_frame* f = tl_frame;
  if (f != NULL && f->in_host == 0) {
    uintptr_t a = (uintptr_t)info->si_addr;
    if (a >= f->mem_lo && a < f->mem_hi) unblock_and_jump(f, WASM_RT_TRAP_OOB);
    if (tl_stack_lo != 0 && a < tl_stack_lo + kGuardAbove && a + kGuardBelow >= tl_stack_lo)
      unblock_and_jump(f, WASM_RT_TRAP_EXHAUSTION);
  }
  chain(sig, info, uc);
}

static void on_deadline(int sig, siginfo_t* info, void* uc) {
  (void)sig;
  (void)info;
  (void)uc;
  wc_frame* f = tl_frame;
  if (f != NULL && f->in_host == 0 && f->fired_gen != NULL &&
      __atomic_load_n(f->fired_gen, __ATOMIC_ACQUIRE) == f->gen)
    unblock_and_jump(f, WC_TRAP_DEADLINE);
}

static void free_altstack(void* p) {
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  munmap(p, kAltStackSize + 4096);
}

static void do_install(void) {
  if (pthread_key_create(&altstack_key, free_altstack) != 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &old_segv) != 0) return;
  if (sigaction(SIGBUS, &sa, &old_bus) != 0) return;
  sa.sa_sigaction = on_deadline;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  if (sigaction(wc_guard_deadline_signal(), &sa, NULL) != 0) return;
  install_result = 0;
}

int wc_guard_install(void) {
  pthread_once(&install_once, do_install);
  return install_result;
}

int wc_guard_deadline_signal(void) { return SIGRTMIN + 5; }

int wc_guard_thread_init(void) {
  if (tl_ready) return 0;
  if (wc_guard_install() != 0) return -1;
  stack_t cur;
  if (sigaltstack(NULL, &cur) != 0) return -1;
  if ((cur.ss_flags & SS_DISABLE) || cur.ss_size < (size_t)kAltStackSize / 2) {
    /* One guard page below the alternate stack. */
    char* p = mmap(NULL, kAltStackSize + 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return -1;
    mprotect(p, 4096, PROT_NONE);
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = p + 4096;
    ss.ss_size = kAltStackSize;
    if (sigaltstack(&ss, NULL) != 0) {
      munmap(p, kAltStackSize + 4096);
      return -1;
    }
    pthread_setspecific(altstack_key, p);
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = NULL;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) tl_stack_lo = (uintptr_t)addr;
    pthread_attr_destroy(&attr);
  }
  tl_ready = 1;
  return 0;
}

int wc_guard_run(wc_frame* frame, void (*fn)(void*), void* arg) {
  sigjmp_buf jb;
  frame->trap_code = 0;
  frame->in_host = 0;
  frame->prev = tl_frame;
  if (sigsetjmp(jb, 0) == 0) {
    frame->jmp = &jb;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tl_frame = frame;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    fn(arg);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tl_frame = frame->prev;
    return 0;
  }
  tl_frame = frame->prev;
  return frame->trap_code > 0 ? frame->trap_code : WASM_RT_TRAP_UNREACHABLE;
}

void wc_guard_trap(int32_t code) {
  wc_frame* f = tl_frame;
  if (f == NULL) abort();
  f->trap_code = code;
  siglongjmp(*f->jmp, 1);
}

wc_frame* wc_guard_current(void) { return tl_frame; }

void wc_guard_host_enter(void) {
  wc_frame* f = tl_frame;
  if (f != NULL) ++f->in_host;
}

int wc_guard_host_leave(void) {
  wc_frame* f = tl_frame;
  if (f == NULL) return 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  --f->in_host;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (f->in_host == 0 && f->fired_gen != NULL &&
      __atomic_load_n(f->fired_gen, __ATOMIC_ACQUIRE) == f->gen)
    return 1;
  return 0;
}

uintptr_t wc_guard_stack_left(void) {
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  if (tl_stack_lo == 0 || here < tl_stack_lo) return 0;
  return here - tl_stack_lo;
}
