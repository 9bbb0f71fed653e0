// Debian 12's civetweb 1.15 (libcivetweb1 1.15+dfsg-4) loads OpenSSL at run time: it calls
// dlopen("libssl.so") and dlopen("libcrypto.so") and dlsym()s a fixed list of functions from
// each, all mandatory. Two things stand in its way on a machine with OpenSSL 3:
// - Those unversioned names exist on disk only as the development symlinks of libssl-dev; a
//   machine with the runtime libraries alone (libssl3) has only libssl.so.3 and libcrypto.so.3.
// - SSL_get_peer_certificate is no longer exported by OpenSSL 3 (it became a macro for
//   SSL_get1_peer_certificate), so civetweb refuses every HTTPS port with "load_tls_dll:
//   libssl.so: cannot find SSL_get_peer_certificate".
//
// The fix, without building civetweb ourselves or installing a -dev package: two tiny shared
// libraries of our own whose sonames are exactly those names (src/CMakeLists.txt):
// - "libssl.so" (civetweb_libssl.cpp), linked to libssl.so.3, defining the missing function;
// - "libcrypto.so" (civetweb_libcrypto.cpp), linked to libcrypto.so.3, defining nothing useful.
// The executable links both, so they are loaded at start-up, found through its RUNPATH: the build
// tree's lib/llm-exporter/, or $ORIGIN/../lib/llm-exporter (/usr/lib/llm-exporter) once
// installed. glibc's dlopen() matches a name without '/' against the sonames of objects already
// loaded before it searches the disk, so civetweb's two dlopen() calls return our libraries, and
// the disk is never searched. dlsym() on such a handle searches the library and then its
// dependencies: every OpenSSL function resolves to the real libssl.so.3 / libcrypto.so.3, and the
// missing one to civetweb_libssl.cpp's. Our "libssl.so" never collides with a real one: the
// runtime package has none, and the loader looks in the RUNPATH first.
#include "transport/http/civetweb_openssl3.h"

extern "C" {
struct x509_st;
struct ssl_st;
x509_st* SSL_get_peer_certificate(const ssl_st* ssl);  // civetweb_libssl.cpp
int LlmExporterCivetwebLibcrypto();                     // civetweb_libcrypto.cpp
}

namespace llm_exporter::transport {

bool CivetwebOpenSsl3Linked() {
  // Through volatile pointers, so that the compiler cannot fold either reference away.
  x509_st* (*volatile libssl)(const ssl_st*) = &SSL_get_peer_certificate;
  int (*volatile libcrypto)() = &LlmExporterCivetwebLibcrypto;
  return libssl != nullptr && libcrypto() == 1;
}

}  // namespace llm_exporter::transport
