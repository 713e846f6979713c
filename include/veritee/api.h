/* Declaration markers of the public API. Every public header wraps its declarations in
 * VT_BEGIN_DECLS / VT_END_DECLS: they are the library's exported symbols (default
 * visibility; the library is built with -fvisibility=hidden, so every function not declared in
 * a public header stays inside the library), with C linkage for C++ callers. */
#ifndef VERITEE_API_H
#define VERITEE_API_H

#ifdef __cplusplus
#define VT_BEGIN_DECLS _Pragma("GCC visibility push(default)") extern "C" {
#define VT_END_DECLS } _Pragma("GCC visibility pop")
#else
#define VT_BEGIN_DECLS _Pragma("GCC visibility push(default)")
#define VT_END_DECLS _Pragma("GCC visibility pop")
#endif

/* A result the caller must look at (fallible functions returning vt_err). */
#define VT_MUST_USE __attribute__((warn_unused_result))

#endif
