// Lets Debian 12's civetweb 1.15 load OpenSSL 3 for HTTPS, with no -dev package installed (see
// civetweb_openssl3.cpp for why and how).
#pragma once

namespace llm_exporter::transport {

// True. It references a symbol of each of the two libraries civetweb finds by name ("libssl.so",
// "libcrypto.so"), so that the linker keeps both as dependencies of every executable that serves
// HTTPS.
bool CivetwebOpenSsl3Linked();

}  // namespace llm_exporter::transport
