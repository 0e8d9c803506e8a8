/* The C ABI between the generic `bootstrap` and a handler in a shared library.
 *
 * With _HANDLER=libhello.so:handle the bootstrap dlopen()s LAMBDA_TASK_ROOT/libhello.so (or a
 * path relative to it, or an absolute path) and calls `handle` once per invocation. The library
 * needs only this header: it links nothing of lamella, so it can be rebuilt and swapped without
 * relinking the bootstrap.
 *
 * Optional: a library may export `int lamella_init(lamella_response* error)`, called once before
 * the first invocation; a non-zero return reports the error set on `error` (or
 * "Runtime.InitError") to /runtime/init/error and the bootstrap exits non-zero.
 *
 * Thread-safety: the bootstrap calls the handler from one thread at a time. */
#ifndef LAMELLA_C_HANDLER_H_
#define LAMELLA_C_HANDLER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A C header: typedefs, not using-declarations. */
/* NOLINTBEGIN(modernize-use-using) */

/** The ABI version this header describes; a library may export
 *  `const int lamella_abi_version = LAMELLA_C_ABI_VERSION;` and the bootstrap refuses a mismatch.
 */
#define LAMELLA_C_ABI_VERSION 1

/** One invocation. Every pointer is valid, and NUL-terminated, only during the call. */
typedef struct lamella_invocation {
  const char* payload;          /**< event bytes (also NUL-terminated) */
  size_t payload_size;          /**< number of event bytes */
  const char* request_id;       /**< request id */
  int64_t deadline_ms;          /**< deadline, Unix epoch milliseconds */
  const char* function_arn;     /**< invoked function ARN */
  const char* trace_id;         /**< X-Ray trace header or "" */
  const char* client_context;   /**< JSON or "" */
  const char* cognito_identity; /**< JSON or "" */
  const char* tenant_id;        /**< tenant id or "" */
  const char* content_type;     /**< content type of the event */
} lamella_invocation;

/** Where a handler puts its result. Call exactly one of the two functions; each copies its
 *  arguments. If neither is called the invocation fails with "Runtime.NoResult". */
typedef struct lamella_response {
  void* impl; /**< owned by the bootstrap; pass back unchanged */
  /** Sets a successful result; `content_type` may be NULL for "application/json". */
  void (*set_success)(struct lamella_response* self, const char* data, size_t size,
                      const char* content_type);
  /** Sets a function error with an AWS-style type such as "InvalidInput". */
  void (*set_failure)(struct lamella_response* self, const char* error_type,
                      const char* error_message);
} lamella_response;

/** The handler signature: return 0 when `response` was filled in; a non-zero return without a
 *  failure set reports "Runtime.HandlerError". */
typedef int (*lamella_handler_fn)(const lamella_invocation* invocation, lamella_response* response);

/** The optional initialiser signature (exported as `lamella_init`). */
typedef int (*lamella_init_fn)(lamella_response* error);

/* NOLINTEND(modernize-use-using) */

#ifdef __cplusplus
}
#endif

#endif /* LAMELLA_C_HANDLER_H_ */
