// Kernel peer credentials of a connected Unix socket, for @wid/attestor-unix.
//
// Only node_api.h (ABI-stable Node-API, version 1 functions): one binary loads in every Node release from 20 on,
// and in worker threads (NAPI_MODULE_INIT makes the module context-aware; there is no global state).
// The napi_* symbols are left undefined and resolve from the node executable when the addon is loaded, so the
// build needs only a C compiler and the headers of the node-api-headers package, no Node download.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <node_api.h>

// Linux >= 6.5; older libc headers lack the constant.
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

// Bumped when the JS-facing contract of this file changes; the loader refuses a mismatch (a stale build/).
#define WID_PEERCRED_ABI 1

static napi_value make_int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static int32_t* int32_array_arg(napi_env env, napi_value value, size_t min_length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return NULL;
  if (type != napi_int32_array || length < min_length || data == NULL) return NULL;
  return (int32_t*)data;
}

// peercred(fd: number, out: Int32Array(4), wantPidfd: boolean): number
// Fills out = [pid, uid, gid, pidfd-or-negative-errno] and returns 0, or returns errno of SO_PEERCRED.
// uid/gid are uint32 stored in int32 slots (JS reads them back with `>>> 0`). The pidfd, when >= 0, is a new
// close-on-exec file descriptor the caller must close.
static napi_value Peercred(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "peercred(fd, out, wantPidfd) takes 3 arguments");
    return NULL;
  }
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "peercred: fd must be a number");
    return NULL;
  }
  int32_t* out = int32_array_arg(env, argv[1], 4);
  if (out == NULL) {
    napi_throw_type_error(env, NULL, "peercred: out must be an Int32Array of length >= 4");
    return NULL;
  }
  bool want_pidfd = false;
  napi_get_value_bool(env, argv[2], &want_pidfd);

  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return make_int(env, errno);
  out[0] = (int32_t)cred.pid;
  out[1] = (int32_t)cred.uid;
  out[2] = (int32_t)cred.gid;
  out[3] = -ENOPROTOOPT;
  if (want_pidfd) {
    int pidfd = -1;
    socklen_t pidfd_len = sizeof(pidfd);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &pidfd_len) == 0) {
      out[3] = pidfd;
    } else {
      out[3] = -errno;
    }
  }
  return make_int(env, 0);
}

// pidfdExited(pidfd: number): number — 0 while the process runs, 1 once it has exited (a pidfd polls readable
// at exit, zombie or reaped), or a negative errno.
static napi_value PidfdExited(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "pidfdExited(pidfd) takes a number");
    return NULL;
  }
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return make_int(env, -errno);
  if (n == 0) return make_int(env, 0);
  if (p.revents & POLLNVAL) return make_int(env, -EBADF);
  return make_int(env, (p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "peercred", NAPI_AUTO_LENGTH, Peercred, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peercred", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "pidfdExited", NAPI_AUTO_LENGTH, PidfdExited, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "pidfdExited", fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "abi", make_int(env, WID_PEERCRED_ABI)) != napi_ok) return NULL;
  return exports;
}
