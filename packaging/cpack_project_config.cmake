# Read by cpack when it packages (CPACK_PROJECT_CONFIG_FILE, set in packaging/package.cmake).
# Adds to the Debian package's Depends the shared libraries of the provider executables that the
# provider archives hold: the build's stripped copies build/providers/<stem> beside each
# <stem>.par.gz, as dpkg-shlibdeps computes them (it needs a debian/control, as CPack's own
# SHLIBDEPS step does; an empty one serves).
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT _WC_PROVIDER_DEPENDS_ADDED)
  set(_WC_PROVIDER_DEPENDS_ADDED ON)
  file(GLOB _wc_pars "${CPACK_WC_BINARY_DIR}/providers/*.par.gz")
  set(_wc_bins)
  foreach(par IN LISTS _wc_pars)
    string(REGEX REPLACE "\\.par\\.gz$" "" bin "${par}")
    if(EXISTS "${bin}" AND NOT IS_DIRECTORY "${bin}")
      list(APPEND _wc_bins "${bin}")
    endif()
  endforeach()
  if(_wc_bins)
    set(_wc_tmp "${CPACK_WC_BINARY_DIR}/package/provider-shlibdeps")
    file(MAKE_DIRECTORY "${_wc_tmp}/debian")
    file(WRITE "${_wc_tmp}/debian/control" "")
    execute_process(COMMAND dpkg-shlibdeps -O ${_wc_bins}
      WORKING_DIRECTORY "${_wc_tmp}" OUTPUT_VARIABLE _wc_out ERROR_VARIABLE _wc_err
      RESULT_VARIABLE _wc_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
    file(REMOVE_RECURSE "${_wc_tmp}")
    if(NOT _wc_rc EQUAL 0)
      message(FATAL_ERROR "dpkg-shlibdeps on the provider executables failed: ${_wc_err}")
    endif()
    string(REGEX REPLACE "^shlibs:Depends=" "" _wc_deps "${_wc_out}")
    if(_wc_deps)
      string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", ${_wc_deps}")
    endif()
  endif()
endif()
