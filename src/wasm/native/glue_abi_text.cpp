// The text of glue_abi.h's declarations as one C string, written into every generated glue file
// so the host and the shared objects share a single definition (see glue_abi.h).
#define WC_GLUE_ABI(...)                    \
  extern "C" const char wc_glue_abi_text[]; \
  const char wc_glue_abi_text[] = #__VA_ARGS__;
#include "wasm/native/glue_abi.h"
