# CPack: `cpack -G DEB` in the build directory makes the server's package,
# useradmin-server_<version>_<arch>.deb: the binary in /usr/bin, the systemd
# unit (examples/systemd) in /usr/lib/systemd/system, an example environment
# file and the README under /usr/share/doc/useradmin-server. A shared build
# (BUILD_SHARED_LIBS=ON) also puts the libraries it needs into the package.
set(doc_dir "${CMAKE_INSTALL_DATAROOTDIR}/doc/useradmin-server")
install(FILES "${PROJECT_SOURCE_DIR}/examples/systemd/useradmin.service"
  DESTINATION lib/systemd/system COMPONENT server)
install(FILES "${PROJECT_SOURCE_DIR}/examples/systemd/useradmin.env" "${PROJECT_SOURCE_DIR}/README.md"
  "${PROJECT_SOURCE_DIR}/docs/http-api.md" DESTINATION "${doc_dir}" COMPONENT server)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME useradmin-server)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}: the example HTTP server")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL server)
if(BUILD_SHARED_LIBS)
  list(APPEND CPACK_COMPONENTS_ALL runtime)
endif()
set(CPACK_DEBIAN_PACKAGE_NAME useradmin-server)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the binary's libraries
set(USERADMIN_DEB_MAINTAINER "useradmin maintainers <maintainers@useradmin.invalid>"
  CACHE STRING "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${USERADMIN_DEB_MAINTAINER}")
set(CPACK_PACKAGE_FILE_NAME useradmin-server)  # only for generators other than DEB
include(CPack)
