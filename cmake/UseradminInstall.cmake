# Install rules and package config, so `find_package(useradmin)` users link the
# same `useradmin::<component>` targets as `add_subdirectory` users.
include(CMakePackageConfigHelpers)

get_property(components GLOBAL PROPERTY USERADMIN_COMPONENTS)
set(install_targets "")
foreach(component IN LISTS components)
  list(APPEND install_targets useradmin_${component})
  get_property(include_dir GLOBAL PROPERTY USERADMIN_INCLUDE_DIR_${component})
  install(DIRECTORY "${include_dir}/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    COMPONENT development FILES_MATCHING PATTERN "*.hpp")
endforeach()

# A static and a shared build may be installed into the same prefix: each
# writes its own export file (useradmin-static-targets.cmake or
# useradmin-shared-targets.cmake) and useradminConfig.cmake picks one.
if(BUILD_SHARED_LIBS)
  set(USERADMIN_LIBRARY_KIND shared)
else()
  set(USERADMIN_LIBRARY_KIND static)
endif()
# The shared objects belong to the server's package too (component runtime);
# headers, archives and the CMake files only to development.
install(TARGETS ${install_targets} EXPORT useradminTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT development
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime NAMELINK_COMPONENT development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)

set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/useradmin")
install(EXPORT useradminTargets NAMESPACE useradmin:: DESTINATION "${config_dir}"
  FILE "useradmin-${USERADMIN_LIBRARY_KIND}-targets.cmake" COMPONENT development)
export(EXPORT useradminTargets NAMESPACE useradmin::
  FILE "${PROJECT_BINARY_DIR}/useradmin-${USERADMIN_LIBRARY_KIND}-targets.cmake")

set(USERADMIN_INSTALLED_COMPONENTS ${components})
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/useradminConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/useradminConfig.cmake" INSTALL_DESTINATION "${config_dir}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/useradminConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/useradminConfig.cmake"
  "${PROJECT_BINARY_DIR}/useradminConfigVersion.cmake" DESTINATION "${config_dir}" COMPONENT development)

include(UseradminPkgConfig)
