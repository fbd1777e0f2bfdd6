# Standalone ceiling tools for the load test (bench/load/run.sh).
find_package(SQLite3 REQUIRED)
add_executable(useradmin-ceiling-server ceiling_server.cpp)
target_link_libraries(useradmin-ceiling-server PRIVATE Boost::headers Threads::Threads)
target_compile_features(useradmin-ceiling-server PRIVATE cxx_std_17)
add_executable(useradmin-sqlite-ceiling sqlite_ceiling.cpp)
target_link_libraries(useradmin-sqlite-ceiling PRIVATE SQLite::SQLite3)
target_compile_features(useradmin-sqlite-ceiling PRIVATE cxx_std_17)

if(TARGET useradmin::sqlite AND TARGET useradmin::jwt)
  add_executable(useradmin-load-setup load/load_setup.cpp)
  target_link_libraries(useradmin-load-setup PRIVATE useradmin::core useradmin::sqlite useradmin::jwt)
  useradmin_set_warnings(useradmin-load-setup)
  if(TARGET useradmin::postgres)  # --db postgresql://... (bench/load/run.sh --postgres)
    target_link_libraries(useradmin-load-setup PRIVATE useradmin::postgres)
    target_compile_definitions(useradmin-load-setup PRIVATE USERADMIN_LOAD_WITH_POSTGRES)
  endif()
endif()

# A few-second version of the load test keeps it from rotting: ctest runs it
# in the plain build (the sanitizer build does not build the benchmarks).
if(USERADMIN_BUILD_TESTS AND TARGET useradmin-server AND TARGET useradmin-load-setup)
  add_test(NAME load.smoke COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/load/run.sh" --smoke
    --build-dir "${PROJECT_BINARY_DIR}")
  set_tests_properties(load.smoke PROPERTIES TIMEOUT 120 RUN_SERIAL ON)
endif()

# The organization cascade at scale, with a concurrent single reactivation
# (docs/benchmarks.md, "Organization cascade").
if(TARGET useradmin::sqlite)
  add_executable(useradmin-cascade-bench cascade_bench.cpp)
  target_link_libraries(useradmin-cascade-bench PRIVATE useradmin::core useradmin::sqlite Threads::Threads)
  useradmin_set_warnings(useradmin-cascade-bench)
endif()
