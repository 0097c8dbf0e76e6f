// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// TLS for the bench's connections (https URLs): one client context, no
// certificate check (a benchmark measures the server, not its PKI; the
// servers under test use throwaway certificates).

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace es::bench {

/// The process's client context (made on first use).
SSL_CTX* tls_client_context();
/// A client session on a connected socket `fd` (SNI and ALPN http/1.1 set).
SSL* tls_client(int fd, const char* host);

}  // namespace es::bench
