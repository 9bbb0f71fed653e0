// Lets Debian 12's civetweb 1.15 load OpenSSL 3 for HTTPS (see civetweb_openssl3.cpp for why and
// how).
#pragma once

namespace llm_exporter::transport {

// The compatibility function civetweb looks up. Referencing it keeps its object file, which a
// static library would otherwise leave out of the executable.
void* CivetwebOpenSsl3Shim();

}  // namespace llm_exporter::transport
