// Sets up the OpenSSL context civetweb serves HTTPS with, from the web config's
// tls_server_config: certificate chain, key, protocol versions and client certificates.
#pragma once

#include <string>

#include "config/web_config.h"

namespace llm_exporter::transport {

// Configures `ssl_ctx` (an SSL_CTX*, as civetweb's init_ssl callback passes it) completely, so
// civetweb need load nothing itself. Returns "" on success, else what went wrong, naming the file
// and OpenSSL's reason. Call it before the context serves any connection.
std::string ConfigureServerTls(void* ssl_ctx, const config::TlsServerConfig& tls);

}  // namespace llm_exporter::transport
