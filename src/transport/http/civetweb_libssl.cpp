// The library civetweb finds when it asks for "libssl.so": soname "libssl.so", linked to OpenSSL
// 3's libssl.so.3, plus the one function civetweb 1.15 needs that OpenSSL 3 no longer exports.
// Why and how: civetweb_openssl3.cpp.
//
// SSL_get1_peer_certificate returns a new reference, exactly what OpenSSL 1.1's
// SSL_get_peer_certificate returned and what civetweb frees. <openssl/ssl.h> is deliberately
// not included: its macro would rename the definition below.
extern "C" {
struct x509_st;
struct ssl_st;
x509_st* SSL_get1_peer_certificate(const ssl_st* ssl);

__attribute__((visibility("default"))) x509_st* SSL_get_peer_certificate(const ssl_st* ssl) {
  return SSL_get1_peer_certificate(ssl);
}
}
