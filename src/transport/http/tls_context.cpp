#include "transport/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace llm_exporter::transport {
namespace {

// OpenSSL's queued errors, most recent last, joined by "; ".
std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!text.empty()) text += "; ";
    text += buffer.data();
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

int OpenSslVersion(config::TlsVersion version) {
  switch (version) {
    case config::TlsVersion::kTls10: return TLS1_VERSION;
    case config::TlsVersion::kTls11: return TLS1_1_VERSION;
    case config::TlsVersion::kTls12: return TLS1_2_VERSION;
    case config::TlsVersion::kTls13: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// RequestClientCert and RequireAnyClientCert take any certificate, as Go's crypto/tls does.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

}  // namespace

std::string ConfigureServerTls(void* ssl_ctx, const config::TlsServerConfig& tls) {
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return "tls_server_config.cert_file " + tls.cert_file + ": " + OpenSslErrors();
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "tls_server_config.key_file " + tls.key_file + ": " + OpenSslErrors();
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return "tls_server_config.key_file " + tls.key_file + " does not match cert_file " +
           tls.cert_file + ": " + OpenSslErrors();
  }
  // civetweb sets SSL_OP_NO_* from its ssl_protocol_version option; the versions are ours.
  SSL_CTX_clear_options(ctx, SSL_OP_NO_SSL_MASK);
  if (SSL_CTX_set_min_proto_version(ctx, OpenSslVersion(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, OpenSslVersion(tls.max_version)) != 1) {
    return std::string("cannot limit TLS to ") + config::TlsVersionName(tls.min_version) + ".." +
           config::TlsVersionName(tls.max_version) + ": " + OpenSslErrors();
  }

  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      return "tls_server_config.client_ca_file " + tls.client_ca_file + ": " + OpenSslErrors();
    }
    // The CA names sent in the CertificateRequest, so clients pick a matching certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr || sk_X509_NAME_num(names) == 0) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      ERR_clear_error();
      return "tls_server_config.client_ca_file " + tls.client_ca_file +
             ": no PEM certificate in it";
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  switch (tls.client_auth) {
    case config::ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case config::ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case config::ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case config::ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case config::ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Without a session id context, OpenSSL refuses to resume sessions once client certificates
  // are asked for.
  static constexpr unsigned char kSessionContext[] = "llm_exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return "";
}

}  // namespace llm_exporter::transport
