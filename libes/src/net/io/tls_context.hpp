// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server's TLS settings (OpenSSL): a key and a certificate chain from PEM
// files, TLS 1.2 or newer with OpenSSL's default (modern) ciphers, ALPN
// "http/1.1". reload() reads the files again (SIGHUP): new connections get
// the new pair, open ones keep theirs; a pair that does not load is refused
// and the old one kept.

#include <memory>
#include <mutex>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace es {

class TlsContext {
 public:
  /// Throws std::runtime_error naming the file and OpenSSL's reason.
  TlsContext(std::string key_file, std::string cert_file);

  /// Loads the files again; on failure keeps the current pair and throws
  /// std::runtime_error with the reason.
  void reload();
  /// The context for a new connection (any thread).
  std::shared_ptr<SSL_CTX> current() const;

  const std::string& cert_file() const noexcept { return cert_file_; }

 private:
  std::shared_ptr<SSL_CTX> load() const;

  std::string key_file_;
  std::string cert_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<SSL_CTX> current_;
};

}  // namespace es
