# Install rules and package config, so `find_package(useradmin)` users link the
# same `useradmin::<component>` targets as `add_subdirectory` users.
include(CMakePackageConfigHelpers)

get_property(components GLOBAL PROPERTY USERADMIN_COMPONENTS)
set(install_targets "")
foreach(component IN LISTS components)
  list(APPEND install_targets useradmin_${component})
  get_property(include_dir GLOBAL PROPERTY USERADMIN_INCLUDE_DIR_${component})
  install(DIRECTORY "${include_dir}/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    FILES_MATCHING PATTERN "*.hpp")
endforeach()

install(TARGETS ${install_targets} EXPORT useradminTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/useradmin")
install(EXPORT useradminTargets NAMESPACE useradmin:: DESTINATION "${config_dir}")
export(EXPORT useradminTargets NAMESPACE useradmin::
  FILE "${PROJECT_BINARY_DIR}/useradminTargets.cmake")

set(USERADMIN_INSTALLED_COMPONENTS ${components})
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/useradminConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/useradminConfig.cmake" INSTALL_DESTINATION "${config_dir}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/useradminConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/useradminConfig.cmake"
  "${PROJECT_BINARY_DIR}/useradminConfigVersion.cmake" DESTINATION "${config_dir}")
