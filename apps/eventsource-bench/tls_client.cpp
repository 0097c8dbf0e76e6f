// SPDX-License-Identifier: GPL-3.0-or-later
#include "tls_client.hpp"

#include <openssl/ssl.h>

#include <string_view>

namespace es::bench {

SSL_CTX* tls_client_context() {
  static SSL_CTX* context = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(c, http11, sizeof http11);
    return c;
  }();
  return context;
}

SSL* tls_client(int fd, const char* host) {
  SSL* ssl = SSL_new(tls_client_context());
  if (!ssl) return nullptr;
  SSL_set_fd(ssl, fd);
  // SNI for names only (RFC 6066: never an address literal).
  const std::string_view name(host);
  if (name.find_first_not_of("0123456789.:") != std::string_view::npos)
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host));
  SSL_set_connect_state(ssl);
  return ssl;
}

}  // namespace es::bench
