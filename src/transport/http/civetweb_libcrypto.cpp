// The library civetweb finds when it asks for "libcrypto.so": soname "libcrypto.so", linked to
// OpenSSL 3's libcrypto.so.3, and nothing of its own but the marker the agent references so that
// the linker keeps it. Why and how: civetweb_openssl3.cpp.
extern "C" __attribute__((visibility("default"))) int LlmExporterCivetwebLibcrypto() { return 1; }
