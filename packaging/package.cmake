# Install rules and the Debian package (CPack, DEB generator) of wasmcloud-cpp (issue #18).
# Included by the top-level CMakeLists.txt. Build the package with scripts/package.sh (it builds
# only `wasmcloud` and `provider_archives` first), or by hand from the build directory:
#   ninja wasmcloud provider_archives && cpack -G DEB
# Layout (prefix /usr):
#   bin/wasmcloud                              the program (stripped)
#   share/wasmcloud/providers/*.par.gz         the provider archives the build signs
#   share/wasmcloud/ui/                        the dashboard's files (find_ui_dir finds them from
#                                              bin/, src/web/dashboard.h) with chart.js's UMD file
#   lib/systemd/system/wasmcloud-host.service  the unit (Type=notify)
#   /etc/wasmcloud/host.env                    its WASMCLOUD_* settings (conffile, mode 0600)
# Maintainer scripts (packaging/deb): the `wasmcloud` system user; purge removes it with the
# state and cache directories.

# `install` and `cpack` do not build every target first (the tests and benchmarks are not part
# of the package); scripts/package.sh builds the two targets the package holds.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(WC_DATA_DIR share/wasmcloud)
install(TARGETS wasmcloud RUNTIME DESTINATION bin COMPONENT wasmcloud)

# The archives are outputs of provider_archives' custom commands; taken at install time.
install(CODE "
  file(GLOB _wc_pars \"${CMAKE_BINARY_DIR}/providers/*.par.gz\")
  if(NOT _wc_pars)
    message(FATAL_ERROR \"No provider archives in ${CMAKE_BINARY_DIR}/providers: build the provider_archives target first\")
  endif()
  file(INSTALL \${_wc_pars} DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${WC_DATA_DIR}/providers\")
" COMPONENT wasmcloud)

# The dashboard: what index.html loads (/static/*, /favicon.svg, /vendor/chart.umd.js, routes.cpp).
set(_wc_ui ${CMAKE_SOURCE_DIR}/src/web/ui)
install(FILES ${_wc_ui}/index.html ${_wc_ui}/app.js ${_wc_ui}/style.css ${_wc_ui}/favicon.svg
  DESTINATION ${WC_DATA_DIR}/ui COMPONENT wasmcloud)
install(FILES ${_wc_ui}/node_modules/chart.js/dist/chart.umd.js
  DESTINATION ${WC_DATA_DIR}/ui/node_modules/chart.js/dist COMPONENT wasmcloud)
install(FILES ${_wc_ui}/node_modules/chart.js/LICENSE.md ${_wc_ui}/node_modules/chart.js/package.json
  DESTINATION ${WC_DATA_DIR}/ui/node_modules/chart.js COMPONENT wasmcloud)

install(FILES ${CMAKE_SOURCE_DIR}/packaging/wasmcloud-host.service DESTINATION lib/systemd/system
  COMPONENT wasmcloud)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/host.env DESTINATION /etc/wasmcloud
  PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT wasmcloud)

set(CPACK_GENERATOR DEB)
# Only the rules above (component "wasmcloud"): the example actors' rule (examples/) is not packaged.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};wasmcloud;/")
set(CPACK_PACKAGE_NAME wasmcloud)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "wasmCloud lattice host (wasmcloud-cpp)")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "A wasmCloud lattice host written in C++, wire compatible with the wasmCloud host (OTP 0.63):\n"
  "it joins a lattice over NATS, runs signed WebAssembly actors (interpreted, and compiled to\n"
  "native code with wasm2c and the system C compiler) and provider archives, and serves the\n"
  "control interface. With the `wasmcloud` command line (ctl, up, dashboard), the httpserver and\n"
  "keyvalue provider archives, the dashboard's files and the wasmcloud-host systemd service.")
set(CPACK_PACKAGE_CONTACT "wasmcloud-cpp maintainers <wasmcloud-cpp@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared libraries of the program (dpkg-shlibdeps), plus what it runs: the native tier's wasm2c
# (and wasm-rt.h, both in wabt), a C compiler with the C library's headers, adduser (postinst).
# cpack_project_config.cmake adds, at packaging time, the shared libraries of the provider
# executables inside the archives (dpkg-shlibdeps cannot see into a .par.gz).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "gcc | c-compiler, libc6-dev, wabt, adduser")
set(CPACK_WC_BINARY_DIR ${CMAKE_BINARY_DIR})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/packaging/cpack_project_config.cmake)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS nats-server)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
  ${CMAKE_SOURCE_DIR}/packaging/deb/postinst ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
  ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
include(CPack)
