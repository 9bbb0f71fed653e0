// Debian 12's civetweb 1.15 (libcivetweb1 1.15+dfsg-4) loads OpenSSL at run time: it calls
// dlopen("libssl.so") and dlsym()s a fixed list of functions, all mandatory. One of them,
// SSL_get_peer_certificate, is no longer exported by OpenSSL 3 (it became a macro for
// SSL_get1_peer_certificate), so civetweb refuses every HTTPS port with "load_tls_dll:
// libssl.so: cannot find SSL_get_peer_certificate".
//
// The fix, without building civetweb ourselves: the executable carries the soname "libssl.so"
// (an INTERFACE link option of llm_exporter::server, src/CMakeLists.txt). glibc's dlopen()
// matches a name without '/' against the sonames of objects already loaded before it searches
// the disk, so civetweb's dlopen("libssl.so") returns the executable itself. dlsym() on that
// handle searches the executable and then its libraries in load order: every OpenSSL function
// resolves to the real libssl.so.3 / libcrypto.so.3 the executable links, and the missing one to
// the function below, which the executable exports (--export-dynamic-symbol).
//
// SSL_get1_peer_certificate returns a new reference, exactly what OpenSSL 1.1's
// SSL_get_peer_certificate returned and what civetweb frees. <openssl/ssl.h> is deliberately
// not included: its macro would rename the definition below.
#include "transport/http/civetweb_openssl3.h"

extern "C" {
struct x509_st;
struct ssl_st;
x509_st* SSL_get1_peer_certificate(const ssl_st* ssl);

__attribute__((visibility("default"), used)) x509_st* SSL_get_peer_certificate(
    const ssl_st* ssl) {
  return SSL_get1_peer_certificate(ssl);
}
}

namespace llm_exporter::transport {

void* CivetwebOpenSsl3Shim() { return reinterpret_cast<void*>(&SSL_get_peer_certificate); }

}  // namespace llm_exporter::transport
