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
  kGuestGuard = 64 * 1024,   /* PROT_NONE region below a dedicated guest stack */
};

/* A dedicated guest stack (one per thread, kept until the thread exits). */
typedef struct guest_stack {
  char* map;
  size_t map_size;
  size_t usable;
} guest_stack;
static __thread guest_stack* tl_gstack;
static pthread_key_t gstack_key;

/* call_on_stack(top, fn, arg): switches the stack pointer to `top`, calls fn(arg), switches
   back. The frame pointer keeps the old stack, so unwinders walk through it (CFI below). */
#if defined(__x86_64__)
#define WC_HAVE_STACK_SWITCH 1
void wc_call_on_stack(void* top, void (*fn)(void*), void* arg);
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl wc_call_on_stack\n"
    ".hidden wc_call_on_stack\n"
    ".type wc_call_on_stack,@function\n"
    "wc_call_on_stack:\n"
    ".cfi_startproc\n"
    "  pushq %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "  movq %rsp, %rbp\n"
    ".cfi_def_cfa_register %rbp\n"
    "  andq $-16, %rdi\n"
    "  movq %rdi, %rsp\n"
    "  movq %rdx, %rdi\n"
    "  callq *%rsi\n"
    "  movq %rbp, %rsp\n"
    "  popq %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    "  ret\n"
    ".cfi_endproc\n"
    ".size wc_call_on_stack, .-wc_call_on_stack\n");
#elif defined(__aarch64__)
#define WC_HAVE_STACK_SWITCH 1
void wc_call_on_stack(void* top, void (*fn)(void*), void* arg);
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl wc_call_on_stack\n"
    ".hidden wc_call_on_stack\n"
    ".type wc_call_on_stack,%function\n"
    "wc_call_on_stack:\n"
    ".cfi_startproc\n"
    "  stp x29, x30, [sp, #-16]!\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset x29, -16\n"
    ".cfi_offset x30, -8\n"
    "  mov x29, sp\n"
    ".cfi_def_cfa_register x29\n"
    "  and x9, x0, #~15\n"
    "  mov sp, x9\n"
    "  mov x0, x2\n"
    "  blr x1\n"
    "  mov sp, x29\n"
    "  ldp x29, x30, [sp], #16\n"
    ".cfi_def_cfa sp, 0\n"
    "  ret\n"
    ".cfi_endproc\n"
    ".size wc_call_on_stack, .-wc_call_on_stack\n");
#else
#define WC_HAVE_STACK_SWITCH 0
#endif

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
    if (f->stack_lo != 0 && a < f->stack_lo + kGuardAbove && a + kGuardBelow >= f->stack_lo)
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

static void free_gstack(void* p) {
  guest_stack* g = (guest_stack*)p;
  munmap(g->map, g->map_size);
  free(g);
}

/* The calling thread's guest stack with at least `usable` bytes (NULL on failure). */
static guest_stack* thread_guest_stack(size_t usable) {
  usable = (usable + 65535) & ~(size_t)65535;
  guest_stack* g = tl_gstack;
  if (g != NULL && g->usable == usable) return g;
  if (g != NULL) {
    pthread_setspecific(gstack_key, NULL);
    free_gstack(g);
    tl_gstack = NULL;
  }
  g = (guest_stack*)malloc(sizeof *g);
  if (g == NULL) return NULL;
  g->map_size = usable + kGuestGuard;
  g->usable = usable;
  g->map = mmap(NULL, g->map_size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (g->map == MAP_FAILED) {
    free(g);
    return NULL;
  }
  mprotect(g->map, kGuestGuard, PROT_NONE);
  pthread_setspecific(gstack_key, g);
  tl_gstack = g;
  return g;
}

static void do_install(void) {
  if (pthread_key_create(&altstack_key, free_altstack) != 0) return;
  if (pthread_key_create(&gstack_key, free_gstack) != 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  /* The three handlers never nest: each may leave by siglongjmp. */
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGSEGV);
  sigaddset(&sa.sa_mask, SIGBUS);
  sigaddset(&sa.sa_mask, wc_guard_deadline_signal());
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

int wc_guard_run(wc_frame* frame, void (*fn)(void*), void* arg, size_t guest_stack_size) {
  sigjmp_buf jb;
  char* volatile top = NULL;
  frame->trap_code = 0;
  frame->in_host = 0;
  frame->prev = tl_frame;
  frame->stack_lo = tl_frame != NULL ? tl_frame->stack_lo : tl_stack_lo;
#if WC_HAVE_STACK_SWITCH
  if (tl_frame == NULL && guest_stack_size > 0) {
    guest_stack* g = thread_guest_stack(guest_stack_size);
    if (g != NULL) {
      frame->stack_lo = (uintptr_t)(g->map + kGuestGuard);
      top = g->map + g->map_size;
    }
  }
#else
  (void)guest_stack_size;
#endif
  if (sigsetjmp(jb, 0) == 0) {
    frame->jmp = &jb;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tl_frame = frame;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#if WC_HAVE_STACK_SWITCH
    if (top != NULL)
      wc_call_on_stack(top, fn, arg);
    else
      fn(arg);
#else
    fn(arg);
#endif
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
  uintptr_t lo = tl_frame != NULL ? tl_frame->stack_lo : tl_stack_lo;
  if (lo == 0 || here < lo) return 0;
  return here - lo;
}
