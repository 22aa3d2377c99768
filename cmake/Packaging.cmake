# Install rules and the Debian package (CPack, DEB generator):
#   cmake --build build --target package   ->  build/pollbridge_<version>-<rev>_<arch>.deb
# What goes where, and why, is in docs/install.md. The package test
# (tests/package/test-package.sh, ctest label "package") checks the result.

# A package holds a binary for production: a sanitizer build would depend on
# libasan/libtsan and abort on its first report. No package target there.
if(PB_SANITIZE)
  return()
endif()

# Where the package puts things. CPack installs with this prefix; the files
# outside /usr (the conffiles, the unit) have absolute destinations, so a
# plain `cmake --install` writes them there too (use DESTDIR to stage).
set(PB_PACKAGE_PREFIX /usr)
set(PB_INSTALL_BINARY ${PB_PACKAGE_PREFIX}/bin/pollbridge)
set(PB_SYSCONF_DIR /etc/pollbridge)
set(PB_INSTALL_CONFIG ${PB_SYSCONF_DIR}/pollbridge.yaml)
set(PB_INSTALL_ENV ${PB_SYSCONF_DIR}/pollbridge.env)
# Debian 12 ships system units in /lib/systemd/system (what systemd.pc's
# systemdsystemunitdir says there, and where deb-systemd-helper looks first).
set(PB_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "Directory of the systemd unit in the package")
set(PB_PACKAGE_MAINTAINER "pollbridge maintainers <maintainers@pollbridge.invalid>"
    CACHE STRING "Maintainer field of the Debian package (Name <email>)")
set(PB_PACKAGE_HOMEPAGE "https://pollbridge.invalid/" CACHE STRING "Homepage field of the Debian package")
set(PB_PACKAGE_RELEASE 1 CACHE STRING "Debian revision of the package (the part after the version's -)")

set(PB_PACKAGING_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(PB_PACKAGING_OUT ${CMAKE_BINARY_DIR}/packaging)
configure_file(${PB_PACKAGING_DIR}/pollbridge.service.in ${PB_PACKAGING_OUT}/pollbridge.service @ONLY)
file(WRITE ${PB_PACKAGING_OUT}/conffiles "${PB_INSTALL_CONFIG}\n${PB_INSTALL_ENV}\n")

install(TARGETS pollbridge RUNTIME DESTINATION bin)
install(FILES ${PB_PACKAGING_DIR}/pollbridge.yaml DESTINATION ${PB_SYSCONF_DIR})
# Secrets: readable by root only (systemd reads it before dropping to the
# service's user).
install(FILES ${PB_PACKAGING_DIR}/pollbridge.env DESTINATION ${PB_SYSCONF_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES ${PB_PACKAGING_OUT}/pollbridge.service DESTINATION ${PB_SYSTEMD_UNIT_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/install.md
              ${CMAKE_SOURCE_DIR}/docs/configuration.md ${CMAKE_SOURCE_DIR}/docs/operations.md
              ${CMAKE_SOURCE_DIR}/docs/protocol.md
        DESTINATION share/doc/pollbridge)
install(FILES ${CMAKE_SOURCE_DIR}/config/pollbridge.yaml DESTINATION share/doc/pollbridge/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pollbridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pollbridge")
set(CPACK_PACKAGE_CONTACT "${PB_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "polling-to-SSE bridging proxy")
set(CPACK_PACKAGE_DESCRIPTION
    "pollbridge polls legacy HTTP endpoints named in a YAML file, diffs successive
responses and pushes the changes to browsers and other clients as Server-Sent
Events with stable ids (JSON Patch, merge patch, keyed items or snapshots).
Browsers drop their setInterval polling; the backend sees one conditional
request per interval instead of one per open tab.

This package runs it as the systemd service pollbridge.service, configured
by /etc/pollbridge/pollbridge.yaml, with its state in /var/lib/pollbridge.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${PB_PACKAGE_PREFIX})
# Absolute destinations (/etc, /lib) go into the package's tree, not the
# build machine's.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX ${PB_PACKAGE_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PB_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PB_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PB_PACKAGE_HOMEPAGE}")
# Depends: computed by dpkg-shlibdeps (dpkg-dev) from the libraries the
# binary links, so it follows whatever the build adds.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Plus procps for /bin/kill, which the unit's ExecReload runs.
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
# https:// upstreams are verified against the system's CAs.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PB_PACKAGING_DIR}/debian/postinst ${PB_PACKAGING_DIR}/debian/prerm
    ${PB_PACKAGING_DIR}/debian/postrm ${PB_PACKAGING_OUT}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)

if(PB_BUILD_TESTS)
  # Builds the package, checks it, installs it into a scratch root and runs
  # what it installed. Its own stage in scripts/test.sh ("package").
  add_test(NAME package
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/package/test-package.sh ${CMAKE_BINARY_DIR}
                   ${PROJECT_VERSION}-${PB_PACKAGE_RELEASE})
  set_tests_properties(package PROPERTIES LABELS package TIMEOUT 900 RUN_SERIAL TRUE)
endif()
