# Helpers shared by every useradmin component target.

# Compiler warnings for our own targets only (never for consumers).
function(useradmin_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion)
  if(USERADMIN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Declares a component library `useradmin_<name>` with the alias
# `useradmin::<name>` (the same name find_package users see), public headers
# from `include_dir`, hidden visibility and the export macro.
function(useradmin_add_component name include_dir)
  set(target useradmin_${name})
  add_library(${target} ${ARGN})
  add_library(useradmin::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${name}
    OUTPUT_NAME useradmin_${name}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_include_directories(${target} PUBLIC
    "$<BUILD_INTERFACE:${include_dir}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  target_compile_definitions(${target} PRIVATE USERADMIN_COMPILE_LIBRARY)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    target_compile_definitions(${target} PUBLIC USERADMIN_SHARED_LIBRARY)
  endif()
  useradmin_set_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY USERADMIN_COMPONENTS ${name})
  set_property(GLOBAL PROPERTY USERADMIN_INCLUDE_DIR_${name} "${include_dir}")
endfunction()
