# pkg-config files for non-CMake users: useradmin-<component>.pc per built
# component, and useradmin.pc requiring all of them. Private dependencies
# appear under *.private, which `pkg-config --static` adds for the archives.
set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
# Relocatable: the prefix is found from where the .pc file lies.
file(RELATIVE_PATH pc_to_prefix "/prefix/${pc_dir}" "/prefix")
string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
set(pc_requires_private_core "")
set(pc_libs_private_core "-lboost_json")
set(pc_requires_private_sqlite "sqlite3")
set(pc_libs_private_sqlite "-pthread")
set(pc_requires_private_postgres "libpq")
set(pc_libs_private_postgres "-pthread")
set(pc_requires_private_jwt "libcrypto")
set(pc_libs_private_jwt "-lboost_json -pthread")
set(pc_requires_private_beast "libssl libcrypto")
set(pc_libs_private_beast "-lboost_json -pthread")

get_property(pc_components GLOBAL PROPERTY USERADMIN_COMPONENTS)
set(pc_all "")
foreach(component IN LISTS pc_components)
  set(requires "")
  if(NOT component STREQUAL "core")
    set(requires "useradmin-core = ${PROJECT_VERSION}")
  endif()
  file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/pkgconfig/useradmin-${component}.pc" CONTENT
"prefix=\${pcfiledir}/${pc_to_prefix}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}

Name: useradmin-${component}
Description: ${PROJECT_DESCRIPTION} (component ${component})
Version: ${PROJECT_VERSION}
Requires: ${requires}
Requires.private: ${pc_requires_private_${component}}
Cflags: -I\${includedir}
Libs: -L\${libdir} -luseradmin_${component}
Libs.private: ${pc_libs_private_${component}}
")
  install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/useradmin-${component}.pc" DESTINATION "${pc_dir}"
    COMPONENT development)
  list(APPEND pc_all "useradmin-${component} = ${PROJECT_VERSION}")
endforeach()
list(JOIN pc_all ", " pc_all)
file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/pkgconfig/useradmin.pc" CONTENT
"Name: useradmin
Description: ${PROJECT_DESCRIPTION} (every installed component)
Version: ${PROJECT_VERSION}
Requires: ${pc_all}
")
install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/useradmin.pc" DESTINATION "${pc_dir}" COMPONENT development)
