# Extra settings for useradmin_tests when the sqlite component is built.
# The SQLite tests open the database file directly (integrity_check, damage,
# locks), so the test binary links SQLite itself. With static libraries this
# is already implied by useradmin::sqlite; a shared build needs it spelled out.
if(TARGET useradmin::sqlite)
  find_package(SQLite3 REQUIRED)
  target_link_libraries(useradmin_tests PRIVATE SQLite::SQLite3)
endif()
