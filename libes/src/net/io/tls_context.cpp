// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/io/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <stdexcept>

namespace es {
namespace {

std::string openssl_reason() {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    if (!reason.empty()) reason += "; ";
    reason += text;
  }
  return reason.empty() ? "unknown OpenSSL error" : reason;
}

// ALPN (RFC 7301): only HTTP/1.1 is spoken here.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                  unsigned int in_length, void*) {
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, http11, sizeof http11, in, in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK; // a client without http/1.1 in its list: no ALPN, not a failure
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TlsContext::TlsContext(std::string key_file, std::string cert_file)
    : key_file_(std::move(key_file)), cert_file_(std::move(cert_file)), current_(load()) {}

std::shared_ptr<SSL_CTX> TlsContext::load() const {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) throw std::runtime_error("TLS: " + openssl_reason());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // No renegotiation (TLS 1.2), no compression; server's cipher order.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Writes may complete partly and be retried from a queue that moved; idle
  // connections give their buffers back (memory per idle stream).
  SSL_CTX_set_mode(ctx.get(),
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
  // No server-side session cache: it keeps every connection's session in
  // memory for minutes; session tickets (stateless) still allow resumption.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file_.c_str()) != 1)
    throw std::runtime_error("cannot load the TLS certificate " + cert_file_ + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file_.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load the TLS key " + key_file_ + ": " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    throw std::runtime_error("the TLS key " + key_file_ + " does not match the certificate " + cert_file_);
  return ctx;
}

void TlsContext::reload() {
  std::shared_ptr<SSL_CTX> fresh = load();
  std::lock_guard lock(mutex_);
  current_ = std::move(fresh);
}

std::shared_ptr<SSL_CTX> TlsContext::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace es
