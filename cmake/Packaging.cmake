# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package: `scripts/dev package`, i.e. `cpack -G DEB` in the build
# tree, makes build/eventsource_VERSION_ARCH.deb.
#
# CPack's DEB generator, not a debian/ directory with debhelper: one build
# system; the package holds exactly what the install rules users run by hand
# (`cmake --install build`) install, plus the system integration below; and
# CI needs no debhelper toolchain, only dpkg-dev. The maintainer scripts that
# debhelper would generate are written out in packaging/debian/.
#
# Contents: the programs, libes.so.*, the headers and the CMake package files
# (the ordinary install rules, under the prefix /usr), and, in the install
# component "debian" that a plain `cmake --install` leaves out (it holds
# absolute paths), the conffile /etc/eventsource/eventsource-server.conf, the
# unit /lib/systemd/system/eventsource-server.service and the Debian copyright
# and changelog. `cmake --install build --component debian` installs those by
# hand. Tests: tests/package/.

set(ES_PACKAGE_MAINTAINER "eventsource maintainers <maintainers@users.noreply.h-seed-7f48de19.example>"
    CACHE STRING "Maintainer field of the Debian package: Name <address>")
set(ES_PACKAGE_HOMEPAGE "https://eventsource.example/"
    CACHE STRING "Homepage field of the Debian package (the project has no public home yet: set it)")
set(ES_PACKAGE_COPYRIGHT "2025 The eventsource authors"
    CACHE STRING "Copyright line of /usr/share/doc/eventsource/copyright")

set(es_packaging ${PROJECT_SOURCE_DIR}/packaging)
set(es_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc/eventsource)

# The copyright file (machine-readable format) and a changelog: Debian policy
# wants both in every package (lintian: no-copyright-file, no-changelog). The
# date honours SOURCE_DATE_EPOCH for reproducible builds.
string(TIMESTAMP ES_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${es_packaging}/debian/copyright ${CMAKE_BINARY_DIR}/packaging/copyright @ONLY)
configure_file(${es_packaging}/debian/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${ES_GZIP} -9nf ${CMAKE_BINARY_DIR}/packaging/changelog
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog
  COMMENT "Compressing the Debian changelog" VERBATIM)
add_custom_target(es_package_files ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.gz)

install(FILES ${CMAKE_BINARY_DIR}/packaging/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  DESTINATION ${es_docdir} COMPONENT debian EXCLUDE_FROM_ALL)
# lintian's overrides, each with its reason.
install(FILES ${es_packaging}/debian/lintian-overrides RENAME eventsource
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${es_packaging}/eventsource-server.conf
  DESTINATION /etc/eventsource COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${es_packaging}/systemd/eventsource-server.service
  DESTINATION /lib/systemd/system COMPONENT debian EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME eventsource)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The eventsource authors")
set(CPACK_PACKAGE_CONTACT "${ES_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "server-sent events push server, client tools and C++ library")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
# The ordinary install (every component but "debian") and then "debian".
set(CPACK_INSTALL_CMAKE_PROJECTS
  "${CMAKE_BINARY_DIR};${PROJECT_NAME};ALL;/"
  "${CMAKE_BINARY_DIR};${PROJECT_NAME};debian;/")
# RelWithDebInfo binaries carry debug info; a package ships them stripped
# (lintian: unstripped-binary-or-object).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # eventsource_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ES_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${ES_PACKAGE_HOMEPAGE}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The extended description; CPack puts the summary above it as the synopsis.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"eventsource-server holds HTML server-sent event streams (EventSource), keyed
by token, for tens of thousands of subscribers on one small machine, and fans
out what publishers POST to a token. It speaks the protocol of the Python
event-source-library. The package runs it as the systemd service
eventsource-server, configured in /etc/eventsource/eventsource-server.conf.

Also: eventsource-client (subscribe from a shell), eventsource-request (send
one event), eventsource-bench (load generator), and libes, the C++ library
under them, with its headers and CMake package (find_package(es)).")
# Library dependencies from dpkg-shlibdeps (package dpkg-dev); adduser for the
# postinst's system user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# A shlibs file for libes.so.0, so that packages built against it depend on
# this one.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Maintainer scripts, the conffile list and the ldconfig trigger (CPack adds
# an ldconfig call only when it writes postinst/postrm itself).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${es_packaging}/debian/postinst
  ${es_packaging}/debian/prerm
  ${es_packaging}/debian/postrm
  ${es_packaging}/debian/conffiles
  ${es_packaging}/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
