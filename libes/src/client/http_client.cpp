// SPDX-License-Identifier: GPL-3.0-or-later
#include "client/http_client.hpp"

namespace es::client_detail {

void configure_client(httplib::Client& http, const HttpClientSettings& settings, SocketRegistry& sockets) {
  http.set_keep_alive(false);
  // The target is encoded already (parse_url, encode_path_segment); httplib's
  // encoder would turn a '+' of a query into %2B.
  http.set_url_encode(false);
  http.set_connection_timeout(settings.connect_timeout);
  http.set_write_timeout(settings.write_timeout);
  http.set_read_timeout(settings.read_timeout);
  if (!settings.username.empty()) http.set_basic_auth(settings.username, settings.password);
  http.enable_server_certificate_verification(settings.verify_tls);
  if (!settings.ca_file.empty()) http.set_ca_cert_path(settings.ca_file);
  http.set_socket_options([&sockets](int fd) { sockets.adopt(fd); });
}

}  // namespace es::client_detail
